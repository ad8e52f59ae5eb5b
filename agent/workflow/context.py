"""What graph nodes and the runner get handed: clients, sessions, settings and the clock."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from mailorder.agent.config import Settings
from mailorder.mail.smtp import SmtpSender
from mailorder.tools.erp_client import ErpClient
from mailorder.tools.toolbox import Toolbox


@dataclass
class Services:
    """The graph's context object: passed to every node as runtime.context."""

    settings: Settings
    sessions: sessionmaker[Session]
    erp: ErpClient
    toolbox: Toolbox
    smtp: SmtpSender
    clock: Callable[[], datetime]
    llm_extractor: Callable[..., Awaitable[Any]] | None = None
    edit_proposer: Callable[[str, str], Awaitable[list[Any]]] | None = None  # free-text edits (model)
    parsed: dict[int, Any] = field(default_factory=dict)  # email id -> ParsedEmail (stored raw never changes)

    @property
    def agent_address(self) -> str:
        return self.settings.from_address

    @property
    def mail_domain(self) -> str:
        return self.settings.from_address.rpartition("@")[2] or "mailorder.local"
