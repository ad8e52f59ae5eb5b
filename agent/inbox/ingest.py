"""Fetch new messages from the order inbox and store each exactly once.

New mail is found by UID. Each message is stored with the mailbox's last UID in one transaction,
so a crash never skips or repeats one; a message already stored (same Message-ID, or the same
mailbox/UIDVALIDITY/UID) is a duplicate. Unusable messages (too large, unparseable, no sender)
are stored as failed, audited and moved to the failed folder: never lost, never retried."""

from __future__ import annotations

import asyncio
import logging
from typing import Literal

from mailorder.agent.crashpoints import crash_point
from mailorder.agent.inbox.report import PollReport
from mailorder.agent.workflow.context import Services
from mailorder.agent.workflow.loading import remember_parsed
from mailorder.mail.imap import FAILED_FOLDER, FetchedMessage, ImapInbox
from mailorder.mail.parse import is_parseable, parse_email
from mailorder.store import repo
from mailorder.store.models import EmailRecord, EmailStatus

log = logging.getLogger(__name__)

FETCH_BATCH = 200  # messages fetched per IMAP round trip

Stored = Literal["stored", "duplicates", "failed"]


async def ingest_batch(services: Services, inbox: ImapInbox, report: PollReport) -> int:
    """Fetch and store one batch of new messages; returns how many were fetched."""
    settings, mailbox = services.settings, services.settings.imap_folder
    with services.sessions() as session:
        state = repo.mailbox_state(session, mailbox)
        last_uid, uidvalidity = (state.last_uid, state.uidvalidity) if state else (0, None)
    result = await asyncio.to_thread(
        inbox.fetch_new, last_uid, uidvalidity, max_bytes=settings.max_message_bytes, batch=FETCH_BATCH
    )
    if uidvalidity is not None and result.uidvalidity != uidvalidity:
        with services.sessions.begin() as session:
            repo.audit(
                session,
                services.clock(),
                "agent",
                "uidvalidity_changed",
                old=uidvalidity,
                new=result.uidvalidity,
            )
    report.fetched += len(result.messages)
    seen: list[int] = []
    failed: list[int] = []
    for message in result.messages:
        outcome = store_message(services, message, mailbox, result.uidvalidity)
        setattr(report, outcome, getattr(report, outcome) + 1)
        (failed if outcome == "failed" else seen).append(message.uid)
    if result.messages:
        await asyncio.to_thread(inbox.mark_seen, seen)
        await asyncio.to_thread(inbox.move, failed, FAILED_FOLDER)
    return len(result.messages)


def store_message(services: Services, message: FetchedMessage, mailbox: str, uidvalidity: int) -> Stored:
    """Store one fetched message and advance the mailbox's last UID in the same transaction."""
    now = services.clock()
    error = None
    if message.truncated:
        error = f"message too large ({message.size} bytes > {services.settings.max_message_bytes})"
    email = parse_email(message.raw)
    if error is None and not is_parseable(message.raw, email):
        error = "not a parseable email message"
    if error is None and not email.sender:
        error = "no sender address (not a usable email message)"
    with services.sessions.begin() as session:
        repo.save_mailbox_state(session, mailbox, uidvalidity, message.uid)
        duplicate = repo.find_email(
            session, message_id=email.message_id, mailbox=mailbox, uidvalidity=uidvalidity, uid=message.uid
        )
        if duplicate is not None:
            repo.audit(
                session,
                now,
                "agent",
                "duplicate_ignored",
                email_id=duplicate.id,
                message_id=email.message_id,
                uid=message.uid,
            )
            return "duplicates"
        record = EmailRecord(
            message_id=email.message_id,
            mailbox=mailbox,
            uidvalidity=uidvalidity,
            uid=message.uid,
            sender=email.sender,
            subject=email.subject[:2000],
            received_at=now,
            size=message.size,
            raw=message.raw,
            status=EmailStatus.FAILED if error else EmailStatus.RECEIVED,
            error=error,
        )
        if repo.insert_email(session, record) is None:
            return "duplicates"
        repo.audit(
            session,
            now,
            "agent",
            "ingested",
            email_id=record.id,
            message_id=email.message_id,
            sender=email.sender,
            subject=email.subject,
            size=message.size,
            uid=message.uid,
        )
        if error:
            repo.audit(
                session, now, "agent", "failed", email_id=record.id, error=error, moved_to=FAILED_FOLDER
            )
            return "failed"
    remember_parsed(services, record.id, email)  # committed: the id is this email's for good
    crash_point("after_ingest")
    return "stored"
