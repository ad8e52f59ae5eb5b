"""What the console's pages show, read from the store (pure functions of stored rows, apart from
the reads): the queue's rows, one draft with its lines, versions and diffs, and its audit trail."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from mailorder.agent.console.mailview import OriginalEmail, original_email
from mailorder.domain import PICK_LETTERS, Draft, DraftLine
from mailorder.store import console as console_store
from mailorder.store import repo
from mailorder.store.models import AuditEvent, DraftRecord, DraftStatus, EmailRecord

STATE_FILTERS = {
    "open": console_store.OPEN_STATES,
    "all": (),
    **{s.value: (s.value,) for s in DraftStatus},
}


def draft_ref(text: str) -> int | None:
    """12, MO-12 or mo-12 as a draft id (None when it is none)."""
    value = text.strip().upper().removeprefix("MO-")
    return int(value) if value.isdigit() and len(value) < 10 else None


def age(since: datetime, now: datetime) -> str:
    seconds = max(0.0, (now - since).total_seconds())
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def qty(value: float | None) -> str:
    return "?" if value is None else f"{value:g}"


@dataclass
class Alternative:
    letter: str
    pick: str  # what a reply would say: 1b
    sku: str
    name: str
    why: str


@dataclass
class LineView:
    number: int
    line: DraftLine
    alternatives: list[Alternative]
    issues: list[str]

    @property
    def confidence_level(self) -> str:
        c = self.line.confidence
        return "high" if c >= 0.9 else "medium" if c >= 0.6 else "low"


@dataclass
class DiffRow:
    kind: str  # same | removed | added
    text: str


@dataclass
class VersionView:
    version: int
    created_by: str
    created_at: datetime
    changes: list[str]
    total: float
    diff: list[DiffRow] = field(default_factory=list)


@dataclass
class AuditRow:
    at: datetime
    actor: str
    action: str
    details: str


@dataclass
class DraftPage:
    record: DraftRecord
    email: EmailRecord | None
    draft: Draft
    lines: list[LineView]
    draft_issues: list[str]
    versions: list[VersionView]
    audit: list[AuditRow]
    original: OriginalEmail
    round: int  # decisions accepted on the current version (sent back with every action)

    @property
    def is_open(self) -> bool:
        return DraftStatus(self.record.status).is_open

    @property
    def blocking(self) -> list[str]:
        return [i.message for i in self.draft.blocking_issues]


def line_row(line: DraftLine) -> str:
    """One line as the diff compares it."""
    return (
        f"{line.sku or '?'} · {qty(line.qty)} {line.unit or ''} · {line.product_name or '(no product)'} · "
        f"{line.unit_price:.2f} · {line.line_total:.2f}"
    )


def header_rows(draft: Draft) -> list[str]:
    customer = draft.customer
    named = f"{customer.company_id} {customer.company_name or ''}".rstrip() if customer else "unknown"
    return [
        f"customer: {named}",
        f"reference: {draft.reference or '-'}",
        f"delivery: {draft.delivery_date.isoformat() if draft.delivery_date else '-'}",
        f"total: {draft.total:.2f}",
    ]


def diff(before: Draft | None, after: Draft) -> list[DiffRow]:
    """Header fields and lines of a version against the one before (pure)."""
    old = [] if before is None else header_rows(before) + [line_row(ln) for ln in before.lines]
    new = header_rows(after) + [line_row(ln) for ln in after.lines]
    rows: list[DiffRow] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if tag == "equal":
            rows += [DiffRow("same", text) for text in old[i1:i2]]
            continue
        rows += [DiffRow("removed", text) for text in old[i1:i2]]
        rows += [DiffRow("added", text) for text in new[j1:j2]]
    return rows


def draft_page(session: Session, draft_id: int) -> DraftPage | None:
    record = repo.get_draft(session, draft_id)
    if record is None:
        return None
    email = repo.get_email(session, record.email_id)
    versions = console_store.draft_versions(session, record.id)
    payloads = [Draft.model_validate(v.payload) for v in versions]
    current = next(
        (p for v, p in zip(versions, payloads, strict=True) if v.version == record.version),
        payloads[-1] if payloads else Draft(),
    )
    views = []
    for n, (row, payload) in enumerate(zip(versions, payloads, strict=True)):
        views.append(
            VersionView(
                version=row.version,
                created_by=row.created_by,
                created_at=row.created_at,
                changes=[str(c) for c in row.changes or []],
                total=payload.total,
                diff=diff(payloads[n - 1] if n else None, payload),
            )
        )
    views.reverse()  # newest first
    by_line: dict[int, list[str]] = {}
    for issue in current.issues:
        if issue.line is not None:
            by_line.setdefault(issue.line, []).append(issue.message)
    lines = [
        LineView(
            number=n,
            line=line,
            alternatives=[
                Alternative(
                    letter=PICK_LETTERS[i],
                    pick=f"{n}{PICK_LETTERS[i]}",
                    sku=c.sku,
                    name=c.name,
                    why=c.note or ", ".join(c.reasons[:2]),
                )
                for i, c in enumerate(line.alternatives())
            ],
            issues=by_line.get(n, []),
        )
        for n, line in enumerate(current.lines, 1)
    ]
    raw = repo.email_raw(session, record.email_id) if email is not None else b""
    trail = repo.audit_trail(session, email_id=record.email_id, draft_id=record.id)
    return DraftPage(
        record=record,
        email=email,
        draft=current,
        lines=lines,
        draft_issues=[i.message for i in current.issues if i.line is None],
        versions=views,
        audit=[_audit_row(e) for e in trail],
        original=original_email(raw),
        round=console_store.accepted_decisions(session, record.id, record.version),
    )


def _audit_row(event: AuditEvent) -> AuditRow:
    details = json.dumps(event.details or {}, ensure_ascii=False, default=str)
    return AuditRow(event.at, event.actor, event.action, details[:600])


def issue_summary(issues: list[dict[str, Any]]) -> tuple[int, int, list[str]]:
    """(blocking, other, distinct codes) of stored issues."""
    blocking = sum(1 for i in issues if i.get("blocking", True))
    codes = sorted({str(i.get("code", "?")) for i in issues})
    return blocking, len(issues) - blocking, codes
