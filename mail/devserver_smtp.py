"""SMTP side of the dev mail server: aiosmtpd handler that delivers into local INBOXes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session

from .devserver_accounts import is_plausible_address, mailbox_owner

log = logging.getLogger(__name__)

DATA_SIZE_LIMIT = 50 * 1024 * 1024

# deliver(owner_address, original_recipient, raw_bytes); account checks are the caller's job
Deliver = Callable[[str, str, bytes], Awaitable[None]]
AcceptsRecipient = Callable[[str], Awaitable[bool]]


def with_delivery_headers(raw: bytes, recipient: str, mail_from: str | None = "") -> bytes:
    """Prepend what a real final-delivery agent adds: Return-Path with the envelope sender (empty
    for a bounce: `<>`), then Delivered-To / X-Original-To with the original (plus) recipient; the
    rest of the message is left byte-for-byte as it arrived. A Return-Path the message itself
    carried stays below ours, so readers taking the first one see the envelope's."""
    newline = b"\r\n" if b"\r\n" in raw[: raw.find(b"\n") + 1 or len(raw)] else b"\n"
    address = recipient.strip().strip("<>").encode("utf-8")
    sender = (mail_from or "").strip().strip("<>").encode("utf-8")
    return (
        b"Return-Path: <"
        + sender
        + b">"
        + newline
        + b"Delivered-To: "
        + address
        + newline
        + b"X-Original-To: "
        + address
        + newline
        + raw
    )


class DeliveryHandler:
    """aiosmtpd handler: RCPT checks the account, DATA delivers one copy per recipient."""

    def __init__(
        self,
        deliver: Deliver,
        accepts_recipient: AcceptsRecipient,
        refuses_data: Callable[[list[str]], bool] = lambda _rcpts: False,
    ) -> None:
        self._deliver = deliver
        self._accepts_recipient = accepts_recipient
        self._refuses_data = refuses_data  # fault injection: 552 after DATA (a message "too large")

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if not is_plausible_address(address):
            return f"553 5.1.3 <{address}>: bad recipient address syntax"
        if not await self._accepts_recipient(mailbox_owner(address)):
            return f"550 5.1.1 <{address}>: no such user here"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self._refuses_data(list(envelope.rcpt_tos)):
            return "552 5.3.4 Message size exceeds fixed maximum message size"
        raw = envelope.original_content
        if raw is None:
            raw = envelope.content if isinstance(envelope.content, bytes) else b""
        for recipient in dict.fromkeys(envelope.rcpt_tos):  # same address twice: one copy
            stamped = with_delivery_headers(raw, recipient, envelope.mail_from)
            await self._deliver(mailbox_owner(recipient), recipient, stamped)
        log.info(
            "delivered %d bytes from %s to %s", len(raw), envelope.mail_from, ", ".join(envelope.rcpt_tos)
        )
        return "250 2.0.0 Message accepted for delivery"


def accept_any_auth(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    """Dev SMTP needs no auth; a client that insists (Thunderbird) is let in whatever it sends."""
    return AuthResult(success=True, auth_data=auth_data)


async def start_smtp_server(
    stack: AsyncExitStack, handler: DeliveryHandler, host: str, port: int, *, hostname: str = "mailorder-dev"
) -> int:
    """Listen for SMTP on host:port (0 = any free port) until `stack` closes; returns the port."""
    loop = asyncio.get_running_loop()
    sessions: set[SMTP] = set()

    def new_session() -> SMTP:
        smtp = _TrackedSMTP(
            sessions,
            handler,
            data_size_limit=DATA_SIZE_LIMIT,
            enable_SMTPUTF8=True,
            decode_data=False,
            hostname=hostname,
            auth_require_tls=False,
            authenticator=accept_any_auth,
            loop=loop,
        )
        return smtp

    server = await loop.create_server(new_session, host=host, port=port)
    stack.push_async_callback(_close, server, sessions)
    return server.sockets[0].getsockname()[1]


class _TrackedSMTP(SMTP):
    """SMTP session that registers itself so stop() can close open client connections."""

    # GreenMail accepts long lines; generated HTML mail often has them (RFC limit: 1000)
    line_length_limit = 1024 * 1024

    def __init__(self, registry: set[SMTP], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._registry = registry
        registry.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._registry.discard(self)
        super().connection_lost(exc)


async def _close(server: asyncio.AbstractServer, sessions: set[SMTP]) -> None:
    server.close()
    for smtp in list(sessions):
        if smtp.transport is not None:
            smtp.transport.close()
    await server.wait_closed()
