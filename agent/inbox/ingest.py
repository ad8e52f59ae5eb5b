"""Fetch new messages from the order inbox and store each exactly once.

New mail is found by UID. Each message is stored with the mailbox's last UID in one transaction,
so a crash never skips or repeats one. A message already stored is a duplicate: the same
mailbox/UIDVALIDITY/UID, or the same Message-ID with the same content (one message delivered
twice by two routes; only trace headers differ). A Message-ID reused for other content is a new
email, stored under a derived id and audited `message_id_reused`. Unusable messages (too large,
unparseable, no sender) are stored as failed, audited and moved to the failed folder: never lost,
never retried.

A message the server will not return (its FETCH fails) never stops the inbox: the rest of the
batch is stored, its UID is retried on the next polls (the last UID stays below it meanwhile),
and after MAX_FETCH_ATTEMPTS it is recorded as failed without its bytes, moved to the failed
folder when the server allows, and passed for good."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import Literal

from sqlalchemy.orm import Session

from mailorder.agent.crashpoints import crash_point
from mailorder.agent.inbox.report import PollReport
from mailorder.agent.workflow.context import Services
from mailorder.agent.workflow.loading import remember_parsed
from mailorder.domain import ParsedEmail
from mailorder.mail.imap import FAILED_FOLDER, FetchedMessage, FetchFailure, ImapInbox
from mailorder.mail.parse import SYNTHETIC_DOMAIN, content_fingerprint, is_parseable, parse_email
from mailorder.store import repo
from mailorder.store.models import EmailRecord, EmailStatus

log = logging.getLogger(__name__)

FETCH_BATCH = 200  # messages fetched per IMAP round trip
MAX_FETCH_ATTEMPTS = 3  # failed FETCHes of one UID (one per poll) before it is recorded as failed
MESSAGE_ID_LENGTH = 998  # emails.message_id (RFC 5322's line limit)

Stored = Literal["stored", "duplicates", "failed"]


async def ingest_batch(services: Services, inbox: ImapInbox, report: PollReport) -> int:
    """Fetch and store one batch of new messages; returns how many UIDs it dealt with."""
    settings, mailbox = services.settings, services.settings.imap_folder
    skip = set(report.fetch_failures)  # this poll's failures wait for the next poll
    with services.sessions() as session:
        state = repo.mailbox_state(session, mailbox)
        last_uid, uidvalidity = (state.last_uid, state.uidvalidity) if state else (0, None)
        if state is not None:  # stored while an earlier UID could not be fetched
            skip |= repo.stored_uids_above(session, mailbox, state.uidvalidity, state.last_uid)
    result = await asyncio.to_thread(
        inbox.fetch_new,
        last_uid,
        uidvalidity,
        max_bytes=settings.max_message_bytes,
        batch=FETCH_BATCH,
        skip=skip,
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
    given_up, ceiling = _fetch_failures(services, result.failures, mailbox, result.uidvalidity, report)
    seen: list[int] = []
    failed: list[int] = []
    for message in result.messages:
        email = await asyncio.to_thread(parse_email, message.raw)  # a big HTML email takes seconds
        outcome = store_message(services, message, mailbox, result.uidvalidity, ceiling=ceiling, email=email)
        setattr(report, outcome, getattr(report, outcome) + 1)
        (failed if outcome == "failed" else seen).append(message.uid)
    if result.messages:
        await asyncio.to_thread(inbox.mark_seen, seen)
    await _move_to_failed_folder(inbox, failed + given_up)
    if result.interrupted:
        report.errors.append(f"ingest: {result.interrupted}")
    return result.listed


def _fetch_failures(
    services: Services, failures: list[FetchFailure], mailbox: str, uidvalidity: int, report: PollReport
) -> tuple[list[int], int | None]:
    """Count each failed FETCH; record the UIDs that failed MAX_FETCH_ATTEMPTS times. Returns those
    UIDs and the highest last UID the batch may advance to (below the first UID still retried)."""
    now = services.clock()
    attempts: dict[int, int] = {}
    for failure in failures:
        report.fetch_failures[failure.uid] = failure.error
        with services.sessions.begin() as session:
            attempts[failure.uid] = repo.record_fetch_failure(
                session, now, mailbox=mailbox, uidvalidity=uidvalidity, uid=failure.uid, error=failure.error
            )
    retried = [f.uid for f in failures if attempts[f.uid] < MAX_FETCH_ATTEMPTS]
    ceiling = min(retried) - 1 if retried else None
    given_up = []
    for failure in failures:
        if failure.uid in retried:
            log.warning(
                "UID %s not fetched (attempt %s), retried next poll", failure.uid, attempts[failure.uid]
            )
            continue
        record_unfetchable(services, failure, mailbox, uidvalidity, attempts[failure.uid], ceiling=ceiling)
        given_up.append(failure.uid)
        report.unfetchable.append(failure.uid)
        report.failed += 1
    return given_up, ceiling


def record_unfetchable(
    services: Services,
    failure: FetchFailure,
    mailbox: str,
    uidvalidity: int,
    attempts: int,
    *,
    ceiling: int | None = None,
) -> EmailRecord | None:
    """A failed EmailRecord without bytes for a UID the server never returned; the mailbox's last
    UID passes it (unless an earlier UID is still retried). None when it is recorded already."""
    now = services.clock()
    error = f"UID {failure.uid} could not be fetched ({attempts} attempts): {failure.error}"
    with services.sessions.begin() as session:
        repo.save_mailbox_state(session, mailbox, uidvalidity, _advance(failure.uid, ceiling))
        if repo.find_email(session, mailbox=mailbox, uidvalidity=uidvalidity, uid=failure.uid) is not None:
            return None
        record = EmailRecord(
            message_id=unfetchable_message_id(mailbox, uidvalidity, failure.uid),
            mailbox=mailbox,
            uidvalidity=uidvalidity,
            uid=failure.uid,
            sender="",
            subject="",
            received_at=now,
            size=0,
            raw=None,
            status=EmailStatus.FAILED,
            error=error,
        )
        if repo.insert_email(session, record) is None:
            return None
        repo.audit(
            session,
            now,
            "agent",
            "failed",
            email_id=record.id,
            uid=failure.uid,
            error=error,
            attempts=attempts,
            moved_to=FAILED_FOLDER,
        )
    log.error("gave up fetching UID %s of %s: %s", failure.uid, mailbox, error)
    return record


def unfetchable_message_id(mailbox: str, uidvalidity: int, uid: int) -> str:
    """The store's id for a message whose bytes never came: one per mailbox/UIDVALIDITY/UID."""
    box = hashlib.sha256(mailbox.encode("utf-8")).hexdigest()[:12]
    return f"<unfetchable.{uidvalidity}.{uid}.{box}@{SYNTHETIC_DOMAIN}>"


async def _move_to_failed_folder(inbox: ImapInbox, uids: list[int]) -> None:
    """Move failed messages out of the inbox when the server allows; one that will not move stays
    where it is (its UID is passed already, so it is never fetched again)."""
    if not uids:
        return
    try:
        await asyncio.to_thread(inbox.move, uids, FAILED_FOLDER)
        return
    except Exception as exc:  # noqa: BLE001 - a server refusing a move must not stop the inbox
        log.warning("moving %d messages to %s failed (%s); one by one now", len(uids), FAILED_FOLDER, exc)
    for uid in uids:
        try:
            await asyncio.to_thread(inbox.move, [uid], FAILED_FOLDER)
        except Exception:
            log.warning("UID %s stays in the inbox (the server would not move it)", uid, exc_info=True)


def _advance(uid: int, ceiling: int | None) -> int:
    return uid if ceiling is None else min(uid, ceiling)


def store_message(
    services: Services,
    message: FetchedMessage,
    mailbox: str,
    uidvalidity: int,
    *,
    ceiling: int | None = None,
    email: ParsedEmail | None = None,
) -> Stored:
    """Store one fetched message (`email`: its parse, when done already) and advance the mailbox's
    last UID (to at most `ceiling`) in the same transaction."""
    now = services.clock()
    error = None
    if message.truncated:
        error = f"message too large ({message.size} bytes > {services.settings.max_message_bytes})"
    if email is None:
        email = parse_email(message.raw)
    fingerprint = content_fingerprint(message.raw)
    if error is None and not is_parseable(message.raw, email):
        error = "not a parseable email message"
    if error is None and not email.sender:
        error = "no sender address (not a usable email message)"
    with services.sessions.begin() as session:
        repo.save_mailbox_state(session, mailbox, uidvalidity, _advance(message.uid, ceiling))
        same_uid = repo.find_email(session, mailbox=mailbox, uidvalidity=uidvalidity, uid=message.uid)
        message_id, earlier = _identity(session, email.message_id, fingerprint)
        duplicate = same_uid or (earlier if message_id is None else None)
        if duplicate is not None or message_id is None:
            repo.audit(
                session,
                now,
                "agent",
                "duplicate_ignored",
                email_id=duplicate.id if duplicate else None,
                message_id=email.message_id,
                uid=message.uid,
            )
            return "duplicates"
        record = EmailRecord(
            message_id=message_id,
            fingerprint=fingerprint,
            mailbox=mailbox,
            uidvalidity=uidvalidity,
            uid=message.uid,
            sender=email.sender[:320],
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
        if earlier is not None:
            repo.audit(
                session,
                now,
                "agent",
                "message_id_reused",
                email_id=record.id,
                message_id=email.message_id,
                stored_as=message_id,
                first_email_id=earlier.id,
                first_message_id=earlier.message_id,
            )
        if error:
            repo.audit(
                session, now, "agent", "failed", email_id=record.id, error=error, moved_to=FAILED_FOLDER
            )
            return "failed"
    remember_parsed(services, record.id, email)  # committed: the id is this email's for good
    crash_point("after_ingest")
    return "stored"


# ---- one Message-ID, one content ----------------------------------------------------------------


def _identity(session: Session, message_id: str, fingerprint: str) -> tuple[str | None, EmailRecord | None]:
    """(the id to store the message under, the stored email it shares its Message-ID with).
    The id is None when the message is stored already (the second element is that email)."""
    message_id = _storable(message_id)
    earlier = repo.find_email(session, message_id=message_id)
    if earlier is None:
        return message_id, None
    if _same_content(session, earlier, fingerprint):
        return None, earlier
    for tag in (fingerprint[:16], fingerprint):  # the long tag only if the short one is taken
        derived = reused_message_id(message_id, tag)
        again = repo.find_email(session, message_id=derived)
        if again is None:
            return derived, earlier
        if _same_content(session, again, fingerprint):
            return None, again
    return None, earlier  # (a sha256 collision)


def _same_content(session: Session, record: EmailRecord, fingerprint: str) -> bool:
    known = record.fingerprint
    if known is None and record.raw:  # stored before fingerprints existed: read it from its bytes
        known = content_fingerprint(record.raw)
        repo.set_fingerprint(session, record, known)
    return known == fingerprint


def reused_message_id(message_id: str, tag: str) -> str:
    """The store's id for a message reusing another message's Message-ID: unique per content,
    the original still readable in it: <reused-TAG.original-id>."""
    return _storable(f"<reused-{tag}.{message_id.strip('<>')}>")


def _storable(message_id: str) -> str:
    """A Message-ID that fits emails.message_id (longer ones: a prefix plus a hash of the whole)."""
    if len(message_id) <= MESSAGE_ID_LENGTH:
        return message_id
    digest = hashlib.sha256(message_id.encode("utf-8", "surrogateescape")).hexdigest()[:32]
    return f"<long-{digest}.{message_id.strip('<>')[: MESSAGE_ID_LENGTH - 48]}>"
