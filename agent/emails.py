"""Loading stored emails and drafts in the shapes nodes need."""
from __future__ import annotations

from mail.message import ParsedEmail
from mail.parse import parse_email
from store import repo
from store.models import DraftRecord, EmailRecord
from tools.models import Draft

from agent.context import Services


PARSE_CACHE_SIZE = 512


def load_email(services: Services, email_id: int) -> tuple[EmailRecord, ParsedEmail]:
    """The stored record and its parsed form; parsed once per email (each node needs it)."""
    with services.sessions() as session:
        record = session.get(EmailRecord, email_id)
        if record is None:
            raise LookupError(f"email {email_id} is not stored")
        parsed = services.parsed.get(email_id)
        if parsed is None:
            parsed = parse_email(record.raw or b"")
            remember_parsed(services, email_id, parsed)
        return record, parsed


def remember_parsed(services: Services, email_id: int, parsed: ParsedEmail) -> None:
    """Keep a parsed email for the nodes that need it next (bounded; oldest dropped first)."""
    if len(services.parsed) >= PARSE_CACHE_SIZE:
        services.parsed.pop(next(iter(services.parsed)))
    services.parsed[email_id] = parsed


def load_draft(services: Services, draft_id: int, version: int | None = None) -> tuple[DraftRecord, Draft]:
    with services.sessions() as session:
        record = session.get(DraftRecord, draft_id)
        if record is None:
            raise LookupError(f"draft {draft_id} is not stored")
        row = repo.draft_version(session, draft_id, version or record.version)
        return record, Draft.model_validate(row.payload)
