"""SMTP sender (aiosmtplib). Retries and bookkeeping live in the agent's outbox, not here."""
from __future__ import annotations

import logging

import aiosmtplib

log = logging.getLogger(__name__)


class SmtpSender:
    def __init__(self, host: str, port: int, *, user: str | None = None, password: str | None = None,
                 use_tls: bool = False, start_tls: bool = False, timeout: float = 30.0) -> None:
        self.host, self.port, self.user, self.password = host, port, user, password
        self.use_tls, self.start_tls, self.timeout = use_tls, start_tls, timeout

    async def send(self, raw: bytes, sender: str, recipients: list[str]) -> None:
        """Send one message; raises aiosmtplib.SMTPException/OSError on failure."""
        await aiosmtplib.send(
            raw, sender=sender, recipients=recipients, hostname=self.host, port=self.port,
            username=self.user, password=self.password, use_tls=self.use_tls,
            start_tls=self.start_tls and not self.use_tls,
            timeout=self.timeout,
        )
        log.debug("sent %d bytes to %s", len(raw), recipients)
