"""What every request of one console process shares: settings, the store, signers, the label sets,
the templates, and the workflow (opened on the first decision, so reading the queue needs
neither the ERP nor the mail servers). Nothing here must be shared between console processes:
sign-ins, throttling, tokens and decisions all live in the store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.orm import Session, sessionmaker

from mailorder.agent.config import Settings
from mailorder.agent.console.auth import Signer, TokenCache
from mailorder.agent.console.classification import LabelSets
from mailorder.agent.inbox.runner import Runner

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

RunnerOpener = Callable[[Settings], AbstractAsyncContextManager[Runner]]


class Workflow:
    """The graph and its services (agent.service.open_runner, what `serve` runs), opened once per
    process on first use and closed with the app."""

    def __init__(self, settings: Settings, opener: RunnerOpener | None = None) -> None:
        self.settings = settings
        self._opener = opener
        self._stack = AsyncExitStack()
        self._runner: Runner | None = None
        self._lock = asyncio.Lock()

    async def runner(self) -> Runner:
        async with self._lock:
            if self._runner is None:
                if self._opener is None:
                    from mailorder.agent.service import open_runner

                    self._runner = await self._stack.enter_async_context(open_runner(self.settings))
                else:
                    self._runner = await self._stack.enter_async_context(self._opener(self.settings))
            return self._runner

    async def aclose(self) -> None:
        await self._stack.aclose()
        self._runner = None


def existing_runner(runner: Runner) -> RunnerOpener:
    """An opener handing out a runner that is open already (tests, an embedding process)."""

    @asynccontextmanager
    async def opener(_settings: Settings) -> AsyncIterator[Runner]:
        yield runner

    return opener


@dataclass
class ConsoleState:
    settings: Settings
    sessions: sessionmaker[Session]
    clock: Callable[[], datetime]
    session_signer: Signer
    login_signer: Signer
    flash_signer: Signer
    label_sets: LabelSets
    workflow: Workflow
    templates: Environment
    token_cache: TokenCache = field(default_factory=TokenCache)


def template_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env
