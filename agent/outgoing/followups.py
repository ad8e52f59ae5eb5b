"""Keeping reps in the loop: one reminder per unanswered draft version, a morning digest per rep.

Time logic is pure (agent/workhours.py); the jobs take the clock from Services,
send through the outbox with deterministic Message-IDs (a restart never sends one twice) and
are registered on the serve scheduler.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from mailorder.agent.outgoing import outbox
from mailorder.agent.outgoing.mailing import rep_language, send_notice
from mailorder.agent.review.wire import format_tag
from mailorder.agent.workflow.context import Services
from mailorder.agent.workflow.loading import load_draft
from mailorder.agent.workhours import WorkingHours
from mailorder.mail import compose, render
from mailorder.store import autopost as plans
from mailorder.store import repo
from mailorder.store.autopost import PlanStatus
from mailorder.store.models import DraftRecord, DraftStatus

log = logging.getLogger(__name__)


def _summary_sent_at(session, draft: DraftRecord) -> datetime | None:
    sent = [
        e.at
        for e in repo.audit_trail(session, draft_id=draft.id)
        if e.action == "summary_sent" and (e.details or {}).get("version") == draft.version
    ]
    return sent[-1] if sent else None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo("UTC"))


async def send_due_reminders(services: Services) -> int:
    """One reminder per draft version left unanswered for the configured working hours."""
    settings = services.settings
    hours, now = settings.working_hours, services.clock()
    tz = hours.tz
    due: list[tuple[DraftRecord, datetime]] = []
    with services.sessions() as session:
        for draft in repo.list_drafts(session, DraftStatus.AWAITING_REVIEW, limit=10_000):
            sent_at = _summary_sent_at(session, draft)
            if sent_at is None:
                continue
            waited = hours.seconds_between(_aware(sent_at), now)
            if waited >= settings.reminder_hours * 3600:
                due.append((draft, sent_at))
    for draft, sent_at in due:
        await send_notice(
            services,
            "reminder",
            to=draft.rep,
            key=f"reminder-{draft.id}-v{draft.version}",
            draft_id=draft.id,
            version=draft.version,
            customer_name=draft.customer_name,
            reason=f"since {_aware(sent_at).astimezone(tz):%a %d %b %H:%M}",
            with_review_address=True,
        )
        with services.sessions.begin() as session:
            if not any(
                e.action == "reminder_sent" and (e.details or {}).get("version") == draft.version
                for e in repo.audit_trail(session, draft_id=draft.id)
            ):
                repo.audit(
                    session,
                    services.clock(),
                    "agent",
                    "reminder_sent",
                    draft_id=draft.id,
                    version=draft.version,
                    to=draft.rep,
                )
    return len(due)


def _previous_workday_start(local: datetime, digest_hour: int, hours: WorkingHours) -> datetime:
    """The digest hour of the previous working day (Monday's digest covers the weekend)."""
    day = hours.previous_workday(local.date())
    return datetime.combine(day, time(digest_hour), tzinfo=local.tzinfo)


def _failed_since(services: Services, since: datetime) -> list[render.FailedEmail]:
    """Emails that could not be processed since a moment: who sent them, when, and our reason
    (never their subject or text: a stranger's words do not go into our mail to reps)."""
    with services.sessions() as session:
        rows = repo.failed_emails(session, since=since.astimezone(UTC).replace(tzinfo=None))
    return [
        render.FailedEmail(
            sender=r.sender or "?", received_at=_aware(r.received_at), reason=(r.error or "")[:200]
        )
        for r in rows
    ]


def _auto_posted_since(services: Services, since: datetime) -> dict[str, list[render.DigestRow]]:
    """Per rep, the drafts that posted themselves since a moment (earned autonomy, made visible)."""
    naive_since = since.astimezone(UTC).replace(tzinfo=None)
    per_rep: dict[str, list[render.DigestRow]] = {}
    with services.sessions() as session:
        posted = [p for p in plans.plans_since(session, naive_since) if p.status == PlanStatus.POSTED]
        for plan in posted:
            draft = repo.get_draft(session, plan.draft_id)
            if draft is None:
                continue
            total = float(repo.version_row(session, draft.id, draft.version).payload.get("total") or 0.0)
            per_rep.setdefault(draft.rep, []).append(
                render.DigestRow(
                    tag=format_tag(draft.id, draft.version),
                    customer=draft.customer_name or draft.customer_id,
                    total=total,
                    issues=0,
                    hours_waiting=0.0,
                )
            )
    return per_rep


async def send_digests(services: Services) -> int:
    """Each rep with open drafts gets one digest per working day, from the digest hour on; the
    default rep's digest also lists the emails that failed since the previous working day (so no
    email fails silently), and gets sent for those alone."""
    settings = services.settings
    work, now = settings.working_hours, services.clock()
    local = now.astimezone(work.tz)
    if not work.is_workday(local.date()) or local.hour < settings.digest_hour:
        return 0
    per_rep: dict[str, list[render.DigestRow]] = {}
    with services.sessions() as session:
        drafts = [
            d
            for status in (DraftStatus.AWAITING_REVIEW, DraftStatus.ERP_REJECTED, DraftStatus.ERP_UNAVAILABLE)
            for d in repo.list_drafts(session, status, limit=10_000)
        ]
    for draft in sorted(drafts, key=lambda d: d.id):
        _, payload = load_draft(services, draft.id)
        hours = (now - _aware(draft.created_at)).total_seconds() / 3600
        per_rep.setdefault(draft.rep, []).append(
            render.DigestRow(
                tag=format_tag(draft.id, draft.version),
                customer=draft.customer_name or draft.customer_id,
                total=payload.total,
                issues=len(payload.issues),
                hours_waiting=hours,
            )
        )
    since = _previous_workday_start(local, settings.digest_hour, work)
    failed = _failed_since(services, since)
    if failed:
        per_rep.setdefault(settings.default_rep, [])
    auto_posted = _auto_posted_since(services, since)
    for rep in auto_posted:
        per_rep.setdefault(rep, [])
    for rep, rows in per_rep.items():
        message = compose.build_message(
            render.render_digest(
                render.DigestContext(
                    rows=rows,
                    day=local.date(),
                    language=rep_language(settings, rep),
                    failed=failed if rep == settings.default_rep else [],
                    auto_posted=auto_posted.get(rep, []),
                )
            ),
            from_addr=services.agent_address,
            to=[rep],
            message_id=compose.make_message_id(
                "digest", rep, local.date().isoformat(), domain=services.mail_domain
            ),
            date=now,
        )
        await outbox.send(services, message, kind="digest")  # audited as digest_sent; once per rep and day
    return len(per_rep)
