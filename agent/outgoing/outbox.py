"""Outbox for every email the agent sends: the intent is stored before the SMTP send and the
outcome after it. Message-IDs are deterministic, so a message re-sent after a crash between
the send and its bookkeeping is recognisable as the same message (at-least-once delivery).

A message the SMTP server refuses for good is handed to the caller's `on_returned` (mailing hands
its purpose to a person) before the row is marked failed, so a crash in between repeats the hand-over
instead of losing it."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import getaddresses

import aiosmtplib
from tenacity import (
    AsyncRetrying,
    RetryError,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from mailorder.agent.crashpoints import crash_point
from mailorder.agent.workflow.context import Services
from mailorder.mail import tokens
from mailorder.mail.compose import AGENT_HEADER
from mailorder.store import repo
from mailorder.store.models import OutboxMessage, OutboxStatus

log = logging.getLogger(__name__)

SEND_ATTEMPTS = 3  # per delivery round; pending messages are retried on every poll
MAX_TOTAL_ATTEMPTS = 12  # then the message is marked failed and audited


@dataclass(frozen=True)
class Returned:
    """One of our messages that did not reach its recipients."""

    kind: str
    draft_id: int | None
    version: int | None
    recipients: list[str]
    message_id: str


# called with the returned message, the server's words and the outbox row id
OnReturned = Callable[[Returned, str, int], Awaitable[None]]


def _recipients(message: EmailMessage) -> list[str]:
    fields = message.get_all("To", []) + message.get_all("Cc", []) + message.get_all("Bcc", [])
    return [addr.lower() for _, addr in getaddresses([str(f) for f in fields]) if addr]


async def send(
    services: Services,
    message: EmailMessage,
    *,
    kind: str,
    draft_id: int | None = None,
    version: int | None = None,
    email_id: int | None = None,
    on_returned: OnReturned | None = None,
) -> bool:
    """Record and send one message; True when sent (else PENDING for a later retry, or FAILED)."""
    recipients = _recipients(message)
    del message["Bcc"]  # never transmitted
    del message[AGENT_HEADER]  # our mark, signed: a header anyone could add proves nothing
    message[AGENT_HEADER] = tokens.agent_mark(
        services.settings.secret.get_secret_value(), str(message["Message-ID"])
    )
    now = services.clock()
    with services.sessions.begin() as session:
        row = repo.enqueue_outbox(
            session,
            OutboxMessage(
                message_id=str(message["Message-ID"]),
                kind=kind,
                draft_id=draft_id,
                version=version,
                sender=services.agent_address,
                recipients=recipients,
                raw=message.as_bytes(policy=SMTP),
                created_at=now,
                sent_at=None,
            ),
        )
        outbox_id, already_sent = row.id, row.status == OutboxStatus.SENT
    if already_sent:
        return True
    return await deliver(services, outbox_id, email_id=email_id, on_returned=on_returned)


def refusal(exc: BaseException) -> str | None:
    """The status codes when the server refused the message for good: 5xx at RCPT for every
    recipient (no such user, relaying denied...) or 5xx after DATA (too large, rejected);
    retrying cannot help then. None for anything else (pure). The server's free text is not
    kept: it ends up in notices to reps."""
    if (
        isinstance(exc, aiosmtplib.SMTPRecipientsRefused)
        and exc.recipients
        and all(500 <= r.code < 600 for r in exc.recipients)
    ):
        return "; ".join(f"status {r.code} for {r.recipient}" for r in exc.recipients)[:300]
    if isinstance(exc, aiosmtplib.SMTPDataError) and 500 <= exc.code < 600:
        return f"status {exc.code}: the server refused the message"
    return None


async def deliver(
    services: Services, outbox_id: int, *, email_id: int | None = None, on_returned: OnReturned | None = None
) -> bool:
    with services.sessions() as session:
        row = repo.get_outbox(session, outbox_id)
        if row is None or row.status != OutboxStatus.PENDING:
            return row is not None and row.status == OutboxStatus.SENT
        raw, sender, recipients, kind = row.raw, row.sender, list(row.recipients), row.kind
        draft_id, version, message_id = row.draft_id, row.version, row.message_id
    crash_point(f"before_send:{kind}")
    error: str | None = None
    refused: str | None = None
    attempts = 0
    try:
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(SEND_ATTEMPTS),
            reraise=False,
            retry=retry_if_exception(lambda exc: refusal(exc) is None),
            wait=wait_exponential(multiplier=0.2, max=2.0) + wait_random(0, 0.2),
        ):
            with attempt:
                attempts += 1
                await services.smtp.send(raw, sender, recipients)
        crash_point(f"after_send:{kind}")
    except RetryError as exc:
        error = repr(exc.last_attempt.exception())
    except (aiosmtplib.SMTPRecipientsRefused, aiosmtplib.SMTPDataError) as exc:  # refused for good
        error, refused = repr(exc), refusal(exc)
    if refused is not None and on_returned is not None:  # hand its purpose to a person before giving up
        await on_returned(Returned(kind, draft_id, version, recipients, message_id), refused, outbox_id)
    now = services.clock()
    with services.sessions.begin() as session:
        row = repo.outbox_row(session, outbox_id)
        row.attempts += attempts
        if error is None:
            row.status, row.sent_at, row.last_error = OutboxStatus.SENT, now, None
            repo.audit(
                session,
                now,
                "agent",
                f"{row.kind}_sent",
                email_id=email_id,
                draft_id=row.draft_id,
                message_id=row.message_id,
                to=recipients,
                version=row.version,
            )
            return True
        row.last_error = error
        if row.attempts >= MAX_TOTAL_ATTEMPTS or refused is not None:
            row.status = OutboxStatus.FAILED
        repo.audit(
            session,
            now,
            "agent",
            f"{row.kind}_send_failed",
            email_id=email_id,
            draft_id=row.draft_id,
            message_id=row.message_id,
            error=error,
            attempts=row.attempts,
            final=row.status == OutboxStatus.FAILED,
            refused=refused is not None,
        )
    log.warning("sending %s failed after %d attempts: %s", outbox_id, attempts, error)
    return False
