"""Loading stored emails and drafts in the shapes nodes need."""

from __future__ import annotations

from mailorder.agent.workflow.context import Services
from mailorder.domain import Draft, ParsedEmail
from mailorder.mail.parse import parse_email
from mailorder.store import repo
from mailorder.store.models import DraftRecord

PARSE_CACHE_SIZE = 512


def parsed_email(services: Services, email_id: int) -> ParsedEmail:
    """A stored email, parsed once per email (each node needs it; the stored raw never changes)."""
    parsed = services.parsed.get(email_id)
    if parsed is None:
        with services.sessions() as session:
            raw = repo.email_raw(session, email_id)
        parsed = parse_email(raw)
        remember_parsed(services, email_id, parsed)
    return parsed


def remember_parsed(services: Services, email_id: int, parsed: ParsedEmail) -> None:
    """Keep a parsed email for the nodes that need it next (bounded; oldest dropped first)."""
    if len(services.parsed) >= PARSE_CACHE_SIZE:
        services.parsed.pop(next(iter(services.parsed)))
    services.parsed[email_id] = parsed


def load_draft(services: Services, draft_id: int, version: int | None = None) -> tuple[DraftRecord, Draft]:
    with services.sessions() as session:
        record = repo.get_draft(session, draft_id)
        if record is None:
            raise LookupError(f"draft {draft_id} is not stored")
        row = repo.version_row(session, draft_id, version or record.version)
        return record, Draft.model_validate(row.payload)
