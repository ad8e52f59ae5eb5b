"""The console's tables and repository functions: console users (argon2 hashes), their sign-ins
(server-side sessions, so several console processes share them and a sign-out or a removed user
ends them everywhere), failed sign-ins (throttling in the store, shared by every console process),
API tokens for /api/classify (stored hashed), decisions taken in the console (recorded as reply
rows, see `record_console_decision`), and the read queries of the console's pages.

Times are naive UTC, like the rest of the store."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Integer, String, delete, func, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from mailorder.store import repo
from mailorder.store.models import (
    Base,
    DraftRecord,
    DraftStatus,
    DraftVersion,
    EmailRecord,
    EmailStatus,
    ReplyRecord,
)

ROLES = ("admin", "rep", "viewer")
CONSOLE_MAILBOX = "console"  # the mailbox of the stored record of a console decision


def utc(moment: datetime) -> datetime:
    """A moment as the store keeps it: naive UTC."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo is not None else moment


class ConsoleUser(Base):
    __tablename__ = "console_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # admin | rep | viewer
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id, PHC string
    created_at: Mapped[datetime] = mapped_column(DateTime)
    password_changed_at: Mapped[datetime] = mapped_column(DateTime)


class ConsoleSession(Base):
    """One sign-in. The cookie carries a random id (signed); only its sha256 is stored."""

    __tablename__ = "console_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("console_users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)


class LoginFailure(Base):
    """A failed sign-in: throttling counts these per account and per address."""

    __tablename__ = "console_login_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    account: Mapped[str] = mapped_column(String(320), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)


class ApiToken(Base):
    """A bearer token for /api/classify: only its sha256 is stored (tokens are 256-bit random)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # the first characters, to recognise it in a list
    created_at: Mapped[datetime] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


# --- users -----------------------------------------------------------------------------------------
def add_user(
    session: Session, now: datetime, email: str, role: str, password_hash: str
) -> ConsoleUser | None:
    """A new user; None when the address has an account already."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    user = ConsoleUser(
        email=email.strip().lower(),
        role=role,
        password_hash=password_hash,
        created_at=utc(now),
        password_changed_at=utc(now),
    )
    return user if repo.insert_once(session, user) else None


def user_by_email(session: Session, email: str) -> ConsoleUser | None:
    return session.scalar(select(ConsoleUser).where(ConsoleUser.email == email.strip().lower()))


def list_users(session: Session) -> list[ConsoleUser]:
    return list(session.scalars(select(ConsoleUser).order_by(ConsoleUser.email)))


def remove_user(session: Session, email: str) -> ConsoleUser | None:
    """Delete a user and end their sign-ins; None when there is no such user."""
    user = user_by_email(session, email)
    if user is None:
        return None
    session.execute(delete(ConsoleSession).where(ConsoleSession.user_id == user.id))
    session.delete(user)
    return user


def set_password(session: Session, now: datetime, email: str, password_hash: str) -> ConsoleUser | None:
    """A new password; every sign-in of the user ends. None when there is no such user."""
    user = user_by_email(session, email)
    if user is None:
        return None
    user.password_hash, user.password_changed_at = password_hash, utc(now)
    session.execute(delete(ConsoleSession).where(ConsoleSession.user_id == user.id))
    return user


def rehash_password(session: Session, user_id: int, password_hash: str) -> None:
    """Store a stronger hash of the same password (argon2 parameters were raised)."""
    session.execute(update(ConsoleUser).where(ConsoleUser.id == user_id).values(password_hash=password_hash))


# --- sign-ins --------------------------------------------------------------------------------------
def create_session(
    session: Session,
    now: datetime,
    *,
    user_id: int,
    token_hash: str,
    csrf_token: str,
    expires_at: datetime,
    address: str,
) -> ConsoleSession:
    row = ConsoleSession(
        token_hash=token_hash,
        user_id=user_id,
        csrf_token=csrf_token,
        address=address[:64],
        created_at=utc(now),
        expires_at=utc(expires_at),
    )
    session.add(row)
    # sign-ins that expired are of no use to anyone: dropped as new ones are made
    session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at < utc(now)))
    return row


def signed_in(session: Session, token_hash: str, now: datetime) -> tuple[ConsoleSession, ConsoleUser] | None:
    """The live sign-in of a session id's hash and its user (None: unknown or expired)."""
    row = session.execute(
        select(ConsoleSession, ConsoleUser)
        .join(ConsoleUser, ConsoleUser.id == ConsoleSession.user_id)
        .where(ConsoleSession.token_hash == token_hash, ConsoleSession.expires_at > utc(now))
    ).first()
    return (row[0], row[1]) if row is not None else None


def end_session(session: Session, token_hash: str) -> None:
    session.execute(delete(ConsoleSession).where(ConsoleSession.token_hash == token_hash))


# --- throttling ------------------------------------------------------------------------------------
def recent_failures(session: Session, *, account: str, address: str, since: datetime) -> tuple[int, int]:
    """Failed sign-ins since a moment: (for this account, from this address)."""
    rows = session.execute(
        select(LoginFailure.account, LoginFailure.address).where(
            LoginFailure.at >= utc(since),
            or_(LoginFailure.account == account, LoginFailure.address == address),
        )
    )
    by_account = by_address = 0
    for row_account, row_address in rows:
        by_account += row_account == account
        by_address += row_address == address
    return by_account, by_address


def record_failure(
    session: Session, now: datetime, *, account: str, address: str, keep_after: datetime
) -> None:
    """Count one failed sign-in; failures older than keep_after are forgotten."""
    session.add(LoginFailure(at=utc(now), account=account[:320], address=address[:64]))
    session.execute(delete(LoginFailure).where(LoginFailure.at < utc(keep_after)))


# --- API tokens ------------------------------------------------------------------------------------
def add_api_token(
    session: Session, now: datetime, *, name: str, token_hash: str, prefix: str
) -> ApiToken | None:
    """A new token; None when the name is taken."""
    row = ApiToken(name=name, token_hash=token_hash, prefix=prefix, created_at=utc(now))
    return row if repo.insert_once(session, row) else None


def live_api_token(session: Session, token_hash: str) -> ApiToken | None:
    return session.scalar(
        select(ApiToken).where(ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None))
    )


def list_api_tokens(session: Session) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).order_by(ApiToken.id)))


def revoke_api_token(session: Session, now: datetime, name: str) -> ApiToken | None:
    """Revoke a live token by name; None when there is no live token of that name."""
    row = session.scalar(select(ApiToken).where(ApiToken.name == name, ApiToken.revoked_at.is_(None)))
    if row is not None:
        row.revoked_at = utc(now)
    return row


# --- console decisions -----------------------------------------------------------------------------
def accepted_decisions(session: Session, draft_id: int, version: int) -> int:
    """Decisions (replies by email or console actions) accepted for one version of a draft so far."""
    return (
        session.scalar(
            select(func.count())
            .select_from(ReplyRecord)
            .where(
                ReplyRecord.draft_id == draft_id,
                ReplyRecord.version == version,
                ReplyRecord.outcome == "accepted",
            )
        )
        or 0
    )


def record_console_decision(
    session: Session, now: datetime, *, message_id: str, user: str, subject: str
) -> EmailRecord:
    """The stored message a console decision travels as: like a reply by email it gets an email row
    (status reply, mailbox `console`, no raw bytes) that the reply row and ReviewDecision point to."""
    record = EmailRecord(
        message_id=message_id,
        mailbox=CONSOLE_MAILBOX,
        sender=user,
        subject=subject,
        received_at=utc(now),
        size=0,
        raw=None,
        status=EmailStatus.REPLY,
    )
    if repo.insert_email(session, record) is None:
        raise LookupError(f"console decision {message_id} is stored already")
    return record


# --- the queue -------------------------------------------------------------------------------------
OPEN_STATES = tuple(s.value for s in DraftStatus if s.is_open)


@dataclass
class QueueRow:
    draft: DraftRecord
    subject: str
    sender: str
    received_at: datetime
    issues: list[dict[str, Any]] = field(default_factory=list)
    lines: int = 0


def queue(
    session: Session,
    *,
    states: tuple[str, ...] = OPEN_STATES,
    customer: str | None = None,
    rep: str | None = None,
    text: str | None = None,
    limit: int = 200,
) -> list[QueueRow]:
    """Drafts in the given states, oldest waiting first, with their email's subject and the issues
    of their current version."""
    query = (
        select(
            DraftRecord,
            EmailRecord.subject,
            EmailRecord.sender,
            EmailRecord.received_at,
            DraftVersion.payload,
        )
        .join(EmailRecord, EmailRecord.id == DraftRecord.email_id)
        .join(
            DraftVersion,
            (DraftVersion.draft_id == DraftRecord.id) & (DraftVersion.version == DraftRecord.version),
        )
        .order_by(DraftRecord.created_at, DraftRecord.id)
        .limit(limit)
    )
    if states:
        query = query.where(DraftRecord.status.in_(states))
    if customer:
        like = f"%{_escape_like(customer.lower())}%"
        query = query.where(
            or_(
                func.lower(DraftRecord.customer_id).like(like, escape="\\"),
                func.lower(DraftRecord.customer_name).like(like, escape="\\"),
            )
        )
    if rep:
        query = query.where(DraftRecord.rep == rep.strip().lower())
    if text:
        like = f"%{_escape_like(text.lower())}%"
        query = query.where(
            or_(
                func.lower(EmailRecord.subject).like(like, escape="\\"),
                func.lower(EmailRecord.sender).like(like, escape="\\"),
            )
        )
    rows = []
    for draft, subject, sender, received_at, payload in session.execute(query):
        rows.append(
            QueueRow(
                draft=draft,
                subject=subject or "",
                sender=sender or "",
                received_at=received_at,
                issues=list((payload or {}).get("issues") or []),
                lines=len((payload or {}).get("lines") or []),
            )
        )
    return rows


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def reps_with_drafts(session: Session) -> list[str]:
    return list(session.scalars(select(DraftRecord.rep).distinct().order_by(DraftRecord.rep)))


def draft_versions(session: Session, draft_id: int) -> list[DraftVersion]:
    return list(
        session.scalars(
            select(DraftVersion).where(DraftVersion.draft_id == draft_id).order_by(DraftVersion.version)
        )
    )
