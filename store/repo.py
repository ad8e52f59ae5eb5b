"""Repository functions: every read and write of the store goes through here.

Each function takes a Session (and the time where it writes one); callers own the transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Text, case, cast, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mailorder.store.models import (
    AuditEvent,
    DraftRecord,
    DraftStatus,
    DraftVersion,
    EmailRecord,
    EmailStatus,
    ErpSubmission,
    MailboxState,
    OutboxMessage,
    OutboxStatus,
    ReplyRecord,
)

# --- audit -------------------------------------------------------------------------------------


def audit(
    session: Session,
    now: datetime,
    actor: str,
    action: str,
    *,
    email_id: int | None = None,
    draft_id: int | None = None,
    **details: Any,
) -> AuditEvent:
    event = AuditEvent(
        at=now, actor=actor, action=action, email_id=email_id, draft_id=draft_id, details=_jsonable(details)
    )
    session.add(event)
    return event


def audit_trail(
    session: Session, *, email_id: int | None = None, draft_id: int | None = None
) -> list[AuditEvent]:
    query = select(AuditEvent).order_by(AuditEvent.id)
    if email_id is not None and draft_id is not None:
        query = query.where((AuditEvent.email_id == email_id) | (AuditEvent.draft_id == draft_id))
    elif email_id is not None:
        query = query.where(AuditEvent.email_id == email_id)
    elif draft_id is not None:
        query = query.where(AuditEvent.draft_id == draft_id)
    return list(session.scalars(query))


def audit_after(session: Session, after_id: int) -> list[AuditEvent]:
    """Audit events newer than an event id, oldest first (a live view of what happens)."""
    return list(session.scalars(select(AuditEvent).where(AuditEvent.id > after_id).order_by(AuditEvent.id)))


def count_audit(session: Session, *, email_id: int, action: str) -> int:
    """How many audit events of one action an email has (e.g. processing errors)."""
    return (
        session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.email_id == email_id, AuditEvent.action == action)
        )
        or 0
    )


def _rowcount(result: Any) -> int:
    """Rows an UPDATE matched (CursorResult.rowcount; Session.execute is typed as a plain Result)."""
    return int(result.rowcount)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


# --- emails ------------------------------------------------------------------------------------


def failed_emails(session: Session, *, since: datetime, limit: int = 200) -> list[EmailRecord]:
    """Emails that ended failed, received since a moment, oldest first."""
    return list(
        session.scalars(
            select(EmailRecord)
            .where(EmailRecord.status == EmailStatus.FAILED, EmailRecord.received_at >= since)
            .order_by(EmailRecord.id)
            .limit(limit)
        )
    )


def get_email(session: Session, email_id: int) -> EmailRecord | None:
    return session.get(EmailRecord, email_id)


def set_email_status(session: Session, email_id: int, status: EmailStatus, **fields: Any) -> EmailRecord:
    """Set a stored email's status (and e.g. error, triage_label); LookupError when not stored."""
    record = session.get(EmailRecord, email_id)
    if record is None:
        raise LookupError(f"email {email_id} is not stored")
    record.status = status
    for name, value in fields.items():
        setattr(record, name, value)
    return record


def email_raw(session: Session, email_id: int) -> bytes:
    """The stored bytes of one email; LookupError when there is no such email."""
    row = session.execute(select(EmailRecord.raw).where(EmailRecord.id == email_id)).first()
    if row is None:
        raise LookupError(f"email {email_id} is not stored")
    return row[0] or b""


def find_email(
    session: Session,
    *,
    message_id: str | None = None,
    mailbox: str | None = None,
    uidvalidity: int | None = None,
    uid: int | None = None,
) -> EmailRecord | None:
    if message_id is not None:
        found = session.scalar(select(EmailRecord).where(EmailRecord.message_id == message_id))
        if found is not None:
            return found
    if uid is not None:
        return session.scalar(
            select(EmailRecord).where(
                EmailRecord.mailbox == mailbox, EmailRecord.uidvalidity == uidvalidity, EmailRecord.uid == uid
            )
        )
    return None


def insert_once(session: Session, row: object) -> bool:
    """Insert a row; False (and nothing written) when a unique constraint says it exists."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return False
    return True


def insert_email(session: Session, record: EmailRecord) -> EmailRecord | None:
    """Insert unless the Message-ID or (mailbox, UIDVALIDITY, UID) is already stored."""
    return record if insert_once(session, record) else None


def count_emails(
    session: Session, *, status: EmailStatus | None = None, not_status: EmailStatus | None = None
) -> int:
    query = select(func.count()).select_from(EmailRecord)
    if status is not None:
        query = query.where(EmailRecord.status == status)
    if not_status is not None:
        query = query.where(EmailRecord.status != not_status)
    return session.scalar(query) or 0


def emails_by_label(session: Session) -> dict[str, int]:
    """Stored emails per triage label (or status, where no label was given)."""
    rows = session.execute(
        select(func.coalesce(EmailRecord.triage_label, EmailRecord.status), func.count()).group_by(
            func.coalesce(EmailRecord.triage_label, EmailRecord.status)
        )
    )
    return {str(label): count for label, count in rows}


def mailbox_state(session: Session, mailbox: str) -> MailboxState | None:
    return session.get(MailboxState, mailbox)


def save_mailbox_state(session: Session, mailbox: str, uidvalidity: int, last_uid: int) -> None:
    """Upsert in one statement: last_uid only moves forward (two workers storing the same batch
    must not move it back), and a new UIDVALIDITY starts over from the given UID."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    insert = dialect.insert(MailboxState).values(mailbox=mailbox, uidvalidity=uidvalidity, last_uid=last_uid)
    same_validity = MailboxState.uidvalidity == insert.excluded.uidvalidity
    kept = case(
        (same_validity & (MailboxState.last_uid > insert.excluded.last_uid), MailboxState.last_uid),
        else_=insert.excluded.last_uid,
    )
    session.execute(
        insert.on_conflict_do_update(
            index_elements=[MailboxState.mailbox],
            set_={"uidvalidity": insert.excluded.uidvalidity, "last_uid": kept},
        )
    )
    for loaded in list(session.identity_map.values()):  # an ORM copy loaded earlier is now stale
        if isinstance(loaded, MailboxState) and loaded.mailbox == mailbox:
            session.expire(loaded)


def claim_email(
    session: Session,
    email_id: int,
    worker: str,
    now: datetime,
    *,
    stale_before: datetime,
    take_over: str | None = None,
    pending_only: bool = True,
) -> bool:
    """Atomically claim an email for one worker; True when this worker holds it now.

    Succeeds when the email is unclaimed, already ours, claimed before stale_before (a crashed
    worker's claim) or held by take_over (a worker known dead). With pending_only, only an email
    still waiting to be processed can be claimed. The rowcount of the single UPDATE decides."""
    free = or_(
        EmailRecord.claimed_by.is_(None),
        EmailRecord.claimed_by == worker,
        EmailRecord.claimed_at < stale_before,
    )
    if take_over is not None:
        free = or_(free, EmailRecord.claimed_by == take_over)
    statement = update(EmailRecord).where(EmailRecord.id == email_id, free)
    if pending_only:
        statement = statement.where(EmailRecord.status == EmailStatus.RECEIVED)
    result = session.execute(
        statement.values(claimed_by=worker, claimed_at=now).execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


def renew_claims(session: Session, email_ids: list[int], worker: str, now: datetime) -> int:
    """Refresh this worker's claims (a heartbeat); returns how many it still holds."""
    if not email_ids:
        return 0
    result = session.execute(
        update(EmailRecord)
        .where(EmailRecord.id.in_(email_ids), EmailRecord.claimed_by == worker)
        .values(claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result)


def release_email(session: Session, email_id: int, worker: str) -> None:
    """Give up this worker's claim (done, failed for now, or shutting down)."""
    session.execute(
        update(EmailRecord)
        .where(EmailRecord.id == email_id, EmailRecord.claimed_by == worker)
        .values(claimed_by=None, claimed_at=None)
        .execution_options(synchronize_session=False)
    )


def pending_email_ids(session: Session) -> list[int]:
    """Emails stored and not yet processed, oldest first."""
    return list(
        session.scalars(
            select(EmailRecord.id).where(EmailRecord.status == EmailStatus.RECEIVED).order_by(EmailRecord.id)
        )
    )


def threads_with_unapplied_replies(session: Session) -> list[int]:
    """Email ids of the threads that have an accepted reply not yet applied (a crash between)."""
    return sorted(
        set(
            session.scalars(
                select(DraftRecord.email_id)
                .join(ReplyRecord, ReplyRecord.draft_id == DraftRecord.id)
                .where(ReplyRecord.outcome == "accepted", ReplyRecord.applied.is_(False))
            )
        )
    )


def email_claim(session: Session, email_id: int) -> str | None:
    """Who holds the claim on an email (None when nobody)."""
    return session.scalar(select(EmailRecord.claimed_by).where(EmailRecord.id == email_id))


# --- drafts ------------------------------------------------------------------------------------


def get_draft(session: Session, draft_id: int | None) -> DraftRecord | None:
    return session.get(DraftRecord, draft_id) if draft_id is not None else None


def draft_record(session: Session, draft_id: int) -> DraftRecord:
    """A draft that must exist (its id came from the store); LookupError otherwise."""
    record = session.get(DraftRecord, draft_id)
    if record is None:
        raise LookupError(f"draft {draft_id} is not stored")
    return record


def open_thread_email_ids(session: Session) -> list[int]:
    """Email ids of the threads whose draft is still open or on its way to the ERP (recovery)."""
    closed = (DraftStatus.CONFIRMED, DraftStatus.REJECTED)
    return list(
        session.scalars(
            select(DraftRecord.email_id).where(DraftRecord.status.not_in(closed)).order_by(DraftRecord.id)
        )
    )


def draft_for_email(session: Session, email_id: int) -> DraftRecord | None:
    return session.scalar(select(DraftRecord).where(DraftRecord.email_id == email_id))


def create_draft(
    session: Session,
    now: datetime,
    *,
    email_id: int,
    rep: str,
    payload: dict[str, Any],
    customer_id: str | None,
    customer_name: str | None,
) -> DraftRecord:
    draft = DraftRecord(
        email_id=email_id,
        version=1,
        status=DraftStatus.AWAITING_REVIEW,
        rep=rep,
        customer_id=customer_id,
        customer_name=customer_name,
        created_at=now,
        updated_at=now,
    )
    session.add(draft)
    session.flush()
    session.add(DraftVersion(draft_id=draft.id, version=1, payload=payload, changes=[], created_at=now))
    return draft


def add_version(
    session: Session,
    now: datetime,
    draft: DraftRecord,
    payload: dict[str, Any],
    changes: list[str],
    created_by: str,
) -> DraftVersion:
    draft.version += 1
    draft.updated_at = now
    version = DraftVersion(
        draft_id=draft.id,
        version=draft.version,
        payload=payload,
        changes=changes,
        created_by=created_by,
        created_at=now,
    )
    session.add(version)
    return version


def version_row(session: Session, draft_id: int, version: int) -> DraftVersion:
    """A stored version that must exist; LookupError otherwise."""
    row = draft_version(session, draft_id, version)
    if row is None:
        raise LookupError(f"draft {draft_id} has no version {version}")
    return row


def draft_version(session: Session, draft_id: int, version: int) -> DraftVersion | None:
    return session.scalar(
        select(DraftVersion).where(DraftVersion.draft_id == draft_id, DraftVersion.version == version)
    )


def set_draft_status(
    session: Session, now: datetime, draft: DraftRecord, status: DraftStatus, **fields: Any
) -> None:
    draft.status = status
    draft.updated_at = now
    for name, value in fields.items():
        setattr(draft, name, value)


def list_drafts(
    session: Session, status: str | None = None, limit: int | None = 100, *, oldest_first: bool = False
) -> list[DraftRecord]:
    query = (
        select(DraftRecord).order_by(DraftRecord.id if oldest_first else DraftRecord.id.desc()).limit(limit)
    )
    if status:
        query = query.where(DraftRecord.status == status)
    return list(session.scalars(query))


def count_drafts(session: Session, statuses: list[DraftStatus]) -> int:
    return (
        session.scalar(select(func.count()).select_from(DraftRecord).where(DraftRecord.status.in_(statuses)))
        or 0
    )


def version_by_author(session: Session, draft_id: int, author: str) -> DraftVersion | None:
    """The version a given author (e.g. one reply) made, if any: makes applying edits idempotent."""
    return session.scalar(
        select(DraftVersion).where(DraftVersion.draft_id == draft_id, DraftVersion.created_by == author)
    )


def recent_draft_payloads(session: Session, customer_id: str, since: datetime, limit: int = 50) -> list[str]:
    """Current-version payloads (JSON text, for pydantic's fast JSON validation) of a customer's
    drafts since a moment, newest first, not rejected."""
    return list(
        session.scalars(
            select(cast(DraftVersion.payload, Text))
            .join(
                DraftRecord,
                (DraftRecord.id == DraftVersion.draft_id) & (DraftRecord.version == DraftVersion.version),
            )
            .where(
                DraftRecord.customer_id == customer_id,
                DraftRecord.created_at >= since,
                DraftRecord.status != DraftStatus.REJECTED,
            )
            .order_by(DraftRecord.id.desc())
            .limit(limit)
        )
    )


# --- replies -----------------------------------------------------------------------------------


def reply_for_email(session: Session, email_id: int) -> ReplyRecord | None:
    return session.scalar(select(ReplyRecord).where(ReplyRecord.email_id == email_id))


def unapplied_replies(session: Session) -> list[ReplyRecord]:
    """Accepted replies whose decision has not been handed to the graph yet (crash in between)."""
    return list(
        session.scalars(
            select(ReplyRecord).where(ReplyRecord.outcome == "accepted", ReplyRecord.applied.is_(False))
        )
    )


def mark_reply_applied(session: Session, email_id: int) -> None:
    """The reply's decision has been handed to its draft's thread."""
    session.execute(
        update(ReplyRecord)
        .where(ReplyRecord.email_id == email_id)
        .values(applied=True)
        .execution_options(synchronize_session=False)
    )


def claim_reply(session: Session, reply: ReplyRecord) -> bool:
    """Record a reply; False when this email or this (single-use) token was already claimed."""
    return insert_once(session, reply)


# --- outbox ------------------------------------------------------------------------------------


def enqueue_outbox(session: Session, message: OutboxMessage) -> OutboxMessage:
    """Record the intent to send; a message with the same Message-ID is only recorded once."""
    existing = session.scalar(select(OutboxMessage).where(OutboxMessage.message_id == message.message_id))
    if existing is not None:
        return existing
    session.add(message)
    session.flush()
    return message


def outbox_row(session: Session, outbox_id: int) -> OutboxMessage:
    """An outbox row that must exist; LookupError otherwise."""
    row = session.get(OutboxMessage, outbox_id)
    if row is None:
        raise LookupError(f"outbox message {outbox_id} is not stored")
    return row


def recent_notices(session: Session, draft_id: int, recipient: str, *, since: datetime) -> int:
    """Notices about a draft sent (or queued) to one address since a moment."""
    rows = session.scalars(
        select(OutboxMessage.recipients).where(
            OutboxMessage.draft_id == draft_id,
            OutboxMessage.kind.like("notice_%"),
            OutboxMessage.created_at >= since,
        )
    )
    return sum(recipient in (recipients or []) for recipients in rows)


def pending_outbox(session: Session, limit: int = 100) -> list[OutboxMessage]:
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.PENDING)
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
    )


def get_outbox(session: Session, outbox_id: int) -> OutboxMessage | None:
    return session.get(OutboxMessage, outbox_id)


def pending_outbox_threads(session: Session, limit: int = 100) -> list[tuple[int, int | None]]:
    """(outbox id, email id of the draft's thread or None) of pending messages, oldest first."""
    rows = session.execute(
        select(OutboxMessage.id, DraftRecord.email_id)
        .outerjoin(DraftRecord, DraftRecord.id == OutboxMessage.draft_id)
        .where(OutboxMessage.status == OutboxStatus.PENDING)
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    return [(outbox_id, email_id) for outbox_id, email_id in rows]


def outbox_by_message_ids(session: Session, message_ids: list[str]) -> list[OutboxMessage]:
    if not message_ids:
        return []
    return list(session.scalars(select(OutboxMessage).where(OutboxMessage.message_id.in_(message_ids))))


def outbox_for_draft(
    session: Session, draft_id: int, *, kind: str, version: int | None = None
) -> list[OutboxMessage]:
    query = select(OutboxMessage).where(OutboxMessage.draft_id == draft_id, OutboxMessage.kind == kind)
    if version is not None:
        query = query.where(OutboxMessage.version == version)
    return list(session.scalars(query.order_by(OutboxMessage.id)))


def bounced_recipients(session: Session, draft_id: int, *, kind: str) -> set[str]:
    """Addresses whose copy of this draft's `kind` mail came back (from the audit trail)."""
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.draft_id == draft_id, AuditEvent.action == f"{kind}_bounced")
    )
    return {address for event in events for address in (event.details or {}).get("to", [])}


# --- ERP submissions ---------------------------------------------------------------------------


def start_erp_submission(
    session: Session, now: datetime, *, draft_id: int, version: int, key: str, request: dict[str, Any]
) -> ErpSubmission:
    """The submission row for an idempotency key, created on the first attempt."""
    existing = erp_submission(session, key)
    if existing is not None:
        return existing
    row = ErpSubmission(
        draft_id=draft_id,
        version=version,
        idempotency_key=key,
        request=request,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    return row


def submission(session: Session, key: str) -> ErpSubmission:
    """The submission of an idempotency key, which must have been started; LookupError otherwise."""
    row = erp_submission(session, key)
    if row is None:
        raise LookupError(f"no ERP submission {key}")
    return row


def erp_submission(session: Session, key: str) -> ErpSubmission | None:
    return session.scalar(select(ErpSubmission).where(ErpSubmission.idempotency_key == key))


# --- ingest (hostile mail) ---------------------------------------------------------------------


def stored_uids_above(session: Session, mailbox: str, uidvalidity: int, uid: int) -> set[int]:
    """UIDs stored above a mailbox's last UID (stored while an earlier UID could not be fetched)."""
    return set(
        session.scalars(
            select(EmailRecord.uid).where(
                EmailRecord.mailbox == mailbox, EmailRecord.uidvalidity == uidvalidity, EmailRecord.uid > uid
            )
        )
    )


def record_fetch_failure(
    session: Session, now: datetime, *, mailbox: str, uidvalidity: int, uid: int, error: str
) -> int:
    """Audit one failed FETCH of a UID; how many times it has failed, this one included."""
    audit(
        session, now, "agent", "fetch_failed", mailbox=mailbox, uidvalidity=uidvalidity, uid=uid, error=error
    )
    session.flush()
    return fetch_failures(session, mailbox=mailbox, uidvalidity=uidvalidity, uid=uid)


def fetch_failures(session: Session, *, mailbox: str, uidvalidity: int, uid: int) -> int:
    """Failed FETCHes of one UID so far (audited, so they count across polls and restarts)."""
    rows = session.scalars(
        select(AuditEvent.details).where(AuditEvent.action == "fetch_failed", AuditEvent.email_id.is_(None))
    )
    return sum(
        1
        for details in rows
        if details.get("mailbox") == mailbox
        and details.get("uidvalidity") == uidvalidity
        and details.get("uid") == uid
    )


def set_fingerprint(session: Session, record: EmailRecord, fingerprint: str) -> None:
    """Remember the content fingerprint of a row stored before fingerprints existed."""
    record.fingerprint = fingerprint


# --- operations ---
# Figures for monitoring (agent/monitoring) and housekeeping (`mailorder db prune`).

CLOSED_DRAFT_STATES = (DraftStatus.CONFIRMED, DraftStatus.REJECTED)
FINISHED_EMAIL_STATES = (EmailStatus.NOT_ORDER, EmailStatus.FAILED, EmailStatus.IGNORED)
LATENCY_ACTIONS = ("ingested", "summary_sent", "approved", "rejected")


def processed_emails_by_class(session: Session) -> dict[str, int]:
    """Emails past processing (status other than received) by triage label, else status."""
    label = func.coalesce(EmailRecord.triage_label, EmailRecord.status)
    rows = session.execute(
        select(label, func.count()).where(EmailRecord.status != EmailStatus.RECEIVED).group_by(label)
    )
    return {str(name): count for name, count in rows}


def count_by_status(session: Session) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    """(emails, drafts, outbox rows) by status: three GROUP BY queries on indexed columns."""
    emails = session.execute(select(EmailRecord.status, func.count()).group_by(EmailRecord.status))
    drafts = session.execute(select(DraftRecord.status, func.count()).group_by(DraftRecord.status))
    outbox = session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
    return (
        {str(s): n for s, n in emails},
        {str(s): n for s, n in drafts},
        {str(s): n for s, n in outbox},
    )


def count_claimed_emails(session: Session) -> int:
    """Emails some worker holds a claim on now (all workers)."""
    return (
        session.scalar(
            select(func.count()).select_from(EmailRecord).where(EmailRecord.claimed_by.is_not(None))
        )
        or 0
    )


def latency_events_after(
    session: Session, after_id: int, limit: int = 5000
) -> list[tuple[int, str, int | None, int | None, datetime]]:
    """(id, action, email_id, draft_id, at) of the audit events latencies are measured between,
    after `after_id`, oldest first."""
    rows = session.execute(
        select(AuditEvent.id, AuditEvent.action, AuditEvent.email_id, AuditEvent.draft_id, AuditEvent.at)
        .where(AuditEvent.id > after_id, AuditEvent.action.in_(LATENCY_ACTIONS))
        .order_by(AuditEvent.id)
        .limit(limit)
    )
    return [(i, a, e, d, at) for i, a, e, d, at in rows]


def first_events(session: Session, action: str, draft_ids: list[int]) -> dict[int, tuple[int, datetime]]:
    """Per draft, the (id, time) of its first audit event `action`."""
    if not draft_ids:
        return {}
    first = (
        select(AuditEvent.draft_id, func.min(AuditEvent.id).label("first_id"))
        .where(AuditEvent.action == action, AuditEvent.draft_id.in_(draft_ids))
        .group_by(AuditEvent.draft_id)
        .subquery()
    )
    rows = session.execute(
        select(first.c.draft_id, AuditEvent.id, AuditEvent.at).join(
            AuditEvent, AuditEvent.id == first.c.first_id
        )
    )
    return {draft_id: (event_id, at) for draft_id, event_id, at in rows}


def ingested_at_of_drafts(session: Session, draft_ids: list[int]) -> dict[int, datetime]:
    """Per draft, when its email was ingested (first `ingested` event of the draft's email)."""
    if not draft_ids:
        return {}
    rows = session.execute(
        select(DraftRecord.id, func.min(AuditEvent.at))
        .join(AuditEvent, AuditEvent.email_id == DraftRecord.email_id)
        .where(DraftRecord.id.in_(draft_ids), AuditEvent.action == "ingested")
        .group_by(DraftRecord.id)
    )
    return {draft_id: at for draft_id, at in rows}


def finished_thread_email_ids(session: Session, before: datetime) -> list[int]:
    """Emails whose LangGraph threads are finished for good, last touched before `before`: drafts
    closed (confirmed, rejected) and emails that never became a draft (not_order, failed, ignored)."""
    closed = select(DraftRecord.email_id).where(
        DraftRecord.status.in_(CLOSED_DRAFT_STATES), DraftRecord.updated_at < before
    )
    finished = select(EmailRecord.id).where(
        EmailRecord.status.in_(FINISHED_EMAIL_STATES), EmailRecord.received_at < before
    )
    return sorted(set(session.scalars(closed)) | set(session.scalars(finished)))
