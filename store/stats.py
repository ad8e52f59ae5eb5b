"""Operational figures from the store (for `mailorder stats`)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from statistics import median
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailorder.store.models import AuditEvent, DraftRecord, EmailRecord, EmailStatus


def compute_stats(
    session: Session, since: datetime | None = None, until: datetime | None = None
) -> dict[str, Any]:
    emails_q = select(EmailRecord)
    drafts_q = select(DraftRecord)
    events_q = select(AuditEvent).order_by(AuditEvent.id)
    if since is not None:
        emails_q = emails_q.where(EmailRecord.received_at >= since)
        drafts_q = drafts_q.where(DraftRecord.created_at >= since)
        events_q = events_q.where(AuditEvent.at >= since)
    if until is not None:
        emails_q = emails_q.where(EmailRecord.received_at < until)
        drafts_q = drafts_q.where(DraftRecord.created_at < until)
        events_q = events_q.where(AuditEvent.at < until)
    emails = list(session.scalars(emails_q))
    drafts = list(session.scalars(drafts_q))
    events = list(session.scalars(events_q))

    by_class = Counter(e.triage_label or e.status for e in emails if e.status != EmailStatus.REPLY)
    by_state = Counter(d.status for d in drafts)
    first: dict[tuple[str, int], datetime] = {}
    for e in events:
        key = e.draft_id if e.draft_id is not None else e.email_id
        if key is not None:
            first.setdefault((e.action, key), e.at)
    draft_email = {d.id: d.email_id for d in drafts}
    to_summary, to_decision = [], []
    for d in drafts:
        ingested = first.get(("ingested", d.email_id))
        summary = first.get(("summary_sent", d.id))
        decided = first.get(("approved", d.id)) or first.get(("rejected", d.id))
        if ingested and summary:
            to_summary.append((summary - ingested).total_seconds())
        if summary and decided:
            to_decision.append((decided - summary).total_seconds())
    approved = {e.draft_id for e in events if e.action == "approved" and e.draft_id in draft_email}
    edited = {e.draft_id for e in events if e.action == "edited"}
    erp_errors = Counter(e.action for e in events if e.action in ("erp_rejected", "erp_unavailable"))
    # mail that did not arrive: bounces of summaries/confirmations/notices (a refusal at RCPT is
    # audited as a bounce too), sends given up on after retries
    mail_problems = Counter(
        e.action
        for e in events
        if e.action.endswith(("_bounced", "_undeliverable"))
        or (
            e.action.endswith("_send_failed")
            and (e.details or {}).get("final")
            and not (e.details or {}).get("refused")
        )
    )
    decided_drafts = approved | {e.draft_id for e in events if e.action == "rejected"}
    return {
        "period": {
            "since": since.isoformat() if since else None,
            "until": until.isoformat() if until else None,
        },
        "emails": len([e for e in emails if e.status != EmailStatus.REPLY]),
        "emails_by_class": dict(by_class),
        "drafts": len(drafts),
        "drafts_by_state": dict(by_state),
        "approved_without_edits": len(approved - edited),
        "automation_rate": round(len(approved - edited) / len(decided_drafts), 3) if decided_drafts else None,
        "median_seconds_email_to_summary": round(median(to_summary), 2) if to_summary else None,
        "median_seconds_summary_to_decision": round(median(to_decision), 2) if to_decision else None,
        "erp_errors": dict(erp_errors),
        "mail_delivery_problems": dict(mail_problems),
        "failed_emails": by_class.get(EmailStatus.FAILED, 0),
        **_autonomy(events, len(drafts)),
    }


def _autonomy(events: list[AuditEvent], drafts: int) -> dict[str, Any]:
    """Earned autonomy: posted by themselves, stopped by HOLD, and edited inside the window."""
    actions = Counter(e.action for e in events)
    auto = actions["auto_posted"]
    scheduled = {e.draft_id for e in events if e.action == "autopost_scheduled"}
    edited_in_window = {e.draft_id for e in events if e.action == "edited" and e.draft_id in scheduled}
    return {
        "auto_posted": auto,
        "autopost_rate": round(auto / drafts, 3) if drafts else None,  # auto-posted / orders drafted
        "autopost_held": actions["autopost_held"],
        "autopost_edited_in_window": len(edited_in_window),
        "autopost_corrected": actions["autopost_corrected"],  # posted by itself, then rejected or edited
    }
