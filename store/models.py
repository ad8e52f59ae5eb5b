"""SQLAlchemy 2 models: the single source of truth for emails, drafts, decisions and audit."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    type_annotation_map: ClassVar = {dict[str, Any]: JSON, list[Any]: JSON}


class EmailStatus(StrEnum):
    RECEIVED = "received"  # stored, not yet through the graph
    NOT_ORDER = "not_order"  # triaged as something other than an order
    DRAFTED = "drafted"  # an order draft exists
    REPLY = "reply"  # a rep's reply to a summary
    IGNORED = "ignored"  # auto-reply, bounce, our own mail: never answered
    FAILED = "failed"  # unparseable or too large; moved to the failed folder


class DraftStatus(StrEnum):
    AWAITING_REVIEW = "awaiting_review"
    APPROVED = "approved"  # approved, ERP post in progress
    POSTED = "posted"  # ERP accepted, confirmation pending
    CONFIRMED = "confirmed"  # customer confirmation sent: done
    REJECTED = "rejected"
    ERP_REJECTED = "erp_rejected"  # ERP said 4xx; rep informed; open for a new decision
    ERP_UNAVAILABLE = "erp_unavailable"  # retries exhausted; rep informed; open

    @property
    def is_open(self) -> bool:
        return self in (DraftStatus.AWAITING_REVIEW, DraftStatus.ERP_REJECTED, DraftStatus.ERP_UNAVAILABLE)


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class EmailRecord(Base):
    __tablename__ = "emails"
    __table_args__ = (UniqueConstraint("mailbox", "uidvalidity", "uid", name="uq_email_uid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(998), unique=True)
    mailbox: Mapped[str] = mapped_column(String(200), default="INBOX")
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)  # IMAP numbers are unsigned 32-bit
    uid: Mapped[int | None] = mapped_column(BigInteger)
    sender: Mapped[str] = mapped_column(String(320), default="")
    subject: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime]
    size: Mapped[int] = mapped_column(default=0)
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(32), default=EmailStatus.RECEIVED, index=True)
    triage_label: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[str | None] = mapped_column(String(200))  # the worker processing it now
    claimed_at: Mapped[datetime | None]
    # sha256 of the content (mail.parse.content_fingerprint): one message delivered twice has the
    # same; a reused Message-ID with other content does not. None on rows stored before it existed.
    fingerprint: Mapped[str | None] = mapped_column(String(64))


class DraftRecord(Base):
    __tablename__ = "drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    email_id: Mapped[int] = mapped_column(ForeignKey("emails.id"), unique=True)
    version: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(32), default=DraftStatus.AWAITING_REVIEW, index=True)
    customer_id: Mapped[str | None] = mapped_column(String(64))
    customer_name: Mapped[str | None] = mapped_column(String(300))
    rep: Mapped[str] = mapped_column(String(320))
    erp_order_id: Mapped[str | None] = mapped_column(String(100))
    decided_by: Mapped[str | None] = mapped_column(String(320))
    decision_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class DraftVersion(Base):
    __tablename__ = "draft_versions"
    __table_args__ = (UniqueConstraint("draft_id", "version", name="uq_draft_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id"), index=True)
    version: Mapped[int]
    payload: Mapped[dict[str, Any]]  # tools.models.Draft as JSON
    changes: Mapped[list[Any]] = mapped_column(default=list)
    created_by: Mapped[str] = mapped_column(String(320), default="agent")
    created_at: Mapped[datetime]


class ReplyRecord(Base):
    """A rep's reply, claimed before the graph is resumed (one resume per reply, per token)."""

    __tablename__ = "replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    email_id: Mapped[int] = mapped_column(ForeignKey("emails.id"), unique=True)
    draft_id: Mapped[int | None] = mapped_column(ForeignKey("drafts.id"), index=True)
    version: Mapped[int | None]
    sender: Mapped[str] = mapped_column(String(320))
    decision: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(32))  # accepted | refused | not_understood | status
    token_used: Mapped[str | None] = mapped_column(String(200), unique=True)  # single use
    payload: Mapped[dict[str, Any] | None]  # the decision handed to the graph (accepted replies)
    applied: Mapped[bool] = mapped_column(default=False)  # the graph was resumed with it
    created_at: Mapped[datetime]


class OutboxMessage(Base):
    """Intent to send, recorded before the SMTP send; outcome recorded after."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(998), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    draft_id: Mapped[int | None] = mapped_column(ForeignKey("drafts.id"), index=True)
    version: Mapped[int | None]
    sender: Mapped[str] = mapped_column(String(320))
    recipients: Mapped[list[Any]]
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class ErpSubmission(Base):
    __tablename__ = "erp_submissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id"), index=True)
    version: Mapped[int]
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    request: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(32), default="pending")  # pending|ok|rejected|unavailable
    order_id: Mapped[str | None] = mapped_column(String(100))
    response: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class MailboxState(Base):
    __tablename__ = "mailbox_state"

    mailbox: Mapped[str] = mapped_column(String(200), primary_key=True)
    uidvalidity: Mapped[int] = mapped_column(BigInteger)  # unsigned 32-bit: too big for INTEGER
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_draft", "draft_id"), Index("ix_audit_email", "email_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(64))
    email_id: Mapped[int | None]
    draft_id: Mapped[int | None]
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
