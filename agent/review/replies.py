"""A rep's reply, end to end: match it to its draft, authorise it, read what it asks, claim it
(exactly once: a unique reply row), and resume the draft's thread with a typed ReviewDecision.
Every outcome is recorded on the reply row and in the audit trail; an unknown sender is never
answered."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from langgraph.types import Command

from mailorder.agent.crashpoints import crash_point
from mailorder.agent.outgoing.mailing import send_notice
from mailorder.agent.review import authorise, autopost
from mailorder.agent.review.matching import ReplyMatch, match_reply
from mailorder.agent.review.reading import Reading, read_reply
from mailorder.agent.workflow.context import Services
from mailorder.agent.workflow.graph import OrderGraph, run_thread, thread_config
from mailorder.agent.workflow.loading import load_draft
from mailorder.domain import ParsedEmail, ReviewDecision
from mailorder.mail.render import NoticeKind
from mailorder.store import repo
from mailorder.store.models import DraftRecord, DraftStatus, EmailStatus, ReplyRecord

log = logging.getLogger(__name__)
AUTOPOSTED_NOTE = (
    " It posted automatically: correct the order in the ERP. Automatic posting stops for this"
    " customer until its orders earn it again."
)


@dataclass
class _Book:
    """Records one reply's outcome: the reply row (claimed once) and its audit event."""

    services: Services
    email_id: int
    email: ParsedEmail
    match: ReplyMatch
    parsed_kind: str = "unknown"
    reason: str | None = None

    def record(
        self,
        outcome: str,
        why: str | None = None,
        token_used: str | None = None,
        payload: dict[str, Any] | None = None,
    ) -> bool:
        now = self.services.clock()
        with self.services.sessions.begin() as session:
            repo.set_email_status(session, self.email_id, EmailStatus.REPLY)
            draft_id = self.match.draft_id if repo.get_draft(session, self.match.draft_id) else None
            claimed = repo.claim_reply(
                session,
                ReplyRecord(
                    email_id=self.email_id,
                    draft_id=draft_id,
                    version=self.match.version,
                    sender=self.email.sender,
                    decision=self.parsed_kind,
                    reason=self.reason,
                    outcome=outcome,
                    token_used=token_used,
                    payload=payload,
                    created_at=now,
                ),
            )
            action = (
                "reply_received"
                if outcome in ("accepted", "status", "held", "not_understood")
                else "reply_refused"
            )
            if not claimed:
                action, outcome = "reply_refused", "replayed"
            repo.audit(
                session,
                now,
                self.email.sender,
                action,
                email_id=self.email_id,
                draft_id=draft_id,
                decision=self.parsed_kind,
                outcome=outcome,
                why=why,
                matched_via=self.match.via,
                version=self.match.version,
            )
            return claimed


async def handle_reply(services: Services, graph: OrderGraph, email_id: int, email: ParsedEmail) -> str:
    """Decide what a reply does; returns the outcome recorded on its reply row."""
    match = match_reply(services, email)
    book = _Book(services, email_id, email, match)
    with services.sessions() as session:
        draft = repo.get_draft(session, match.draft_id)
    if email.sender not in authorise.allowed_reps(services, draft):
        book.record("refused", "sender is not an allowed rep")
        return "refused"  # never explain anything to an unknown sender
    if draft is None:
        book.record("refused", "no draft matches this reply")
        return "refused"
    if match.disagrees:
        why = (
            f"the review address belongs to MO-{draft.id}, but the reply answers MO-{match.thread_draft_id}; "
            f"nothing was changed. Please reply to the summary of the draft you mean."
        )
        book.record("refused", why)
        await _notice(services, "refused", email_id, email, draft, reason=why)
        return "refused"

    reading = await read_reply(services, email, draft.id, match.version)
    book.parsed_kind, book.reason = reading.parsed_kind, reading.reason
    if reading.kind == "status":
        book.record("status")
        await _notice(
            services,
            "status",
            email_id,
            email,
            draft,
            status=str(draft.status),
            erp_order_id=draft.erp_order_id,
            customer_name=draft.customer_name,
            with_review_address=DraftStatus(draft.status).is_open,
        )
        return "status"
    if reading.kind == "hold":
        book.record("held", reading.reason)
        held = autopost.hold(services, draft.id, email.sender, email_id)
        await _notice(
            services,
            "status",
            email_id,
            email,
            draft,
            status=f"on hold ({draft.status})",
            reason=(
                "The automatic posting is stopped; nothing is posted until you reply APPROVE."
                if held
                else "Nothing is posted until you reply APPROVE."
            ),
            customer_name=draft.customer_name,
            with_review_address=DraftStatus(draft.status).is_open,
        )
        return "held"
    if reading.kind == "unknown":
        book.record("not_understood", reading.refusal)
        await _notice(
            services,
            "not_understood",
            email_id,
            email,
            draft,
            received_text=reading.text[:500],
            reason=reading.refusal or "",
        )
        return "not_understood"

    refusal = authorise.refusal(services, match, draft, email)
    if refusal is None and reading.kind == "approve" and not reading.ops:
        refusal = authorise.blocking_refusal(draft, load_draft(services, draft.id)[1])
    if refusal is not None:
        wanted_change = reading.kind == "reject" or bool(reading.ops)
        if wanted_change and autopost.corrected_after_post(services, draft.id, email.sender, email_id):
            refusal += AUTOPOSTED_NOTE
        book.record("refused", refusal)
        await _notice(
            services,
            "refused",
            email_id,
            email,
            draft,
            reason=refusal,
            current_version=draft.version,
            key=_once_key("refused", draft, refusal),  # 50 duplicates of one reply: one notice
        )
        return "refused"
    if not await waiting_for_review(services, graph, draft.email_id):
        log.error("draft %s thread is not waiting for a review", draft.id)
        book.record("refused", "the draft is not waiting for a decision right now")
        with services.sessions.begin() as session:
            repo.audit(
                session, services.clock(), "agent", "resume_skipped", draft_id=draft.id, email_id=email_id
            )
        return "not_waiting"
    payload = _decision(reading, email.sender, email_id, match.version).model_dump(mode="json")
    if not book.record("accepted", token_used=match.token, payload=payload):
        await _notice(
            services,
            "refused",
            email_id,
            email,
            draft,
            reason="this reply's review link was already used; nothing was changed",
            key=f"replayed-{draft.id}-{match.token}",
        )
        return "replayed"
    crash_point("after_reply_claim")
    await resume_with(services, graph, draft.email_id, email_id, payload)
    return "accepted"


def _decision(reading: Reading, rep: str, reply_email_id: int, version: int | None) -> ReviewDecision:
    kind = "reject" if reading.kind == "reject" else "approve" if reading.kind == "approve" else "edit"
    return ReviewDecision(
        kind=kind,
        rep=rep,
        reply_email_id=reply_email_id,
        version=version,
        reason=reading.reason,
        ops=reading.ops,
        proposed_by=reading.proposed_by,
    )


NOTICES_PER_HOUR = 3  # answers to one rep about one draft before we stop answering for an hour


def _once_key(kind: str, draft: DraftRecord, reason: str) -> str:
    """A notice key that is the same for every reply refused for the same reason on the same version
    (the outbox sends one message per key)."""
    digest = hashlib.sha256(reason.encode()).hexdigest()[:12]
    return f"{kind}-{draft.id}-v{draft.version}-{digest}"


async def _notice(
    services: Services,
    kind: NoticeKind,
    email_id: int,
    email: ParsedEmail,
    draft: DraftRecord,
    *,
    key: str | None = None,
    **fields: Any,
) -> None:
    """A note to the rep about their reply, threaded under it; at most NOTICES_PER_HOUR per rep and
    draft, then one "pausing answers" note, so an auto-responder cannot keep a conversation going."""
    now = services.clock()
    with services.sessions() as session:
        recent = repo.recent_notices(session, draft.id, email.sender, since=now - timedelta(hours=1))
    if recent >= NOTICES_PER_HOUR:
        with services.sessions.begin() as session:
            repo.audit(
                session,
                now,
                "agent",
                "notice_suppressed",
                email_id=email_id,
                draft_id=draft.id,
                kind=kind,
                to=email.sender,
            )
        await send_notice(
            services,
            "quiet",
            to=email.sender,
            key=f"quiet-{draft.id}-{email.sender}-{now:%Y%m%d%H}",
            draft_id=draft.id,
            version=draft.version,
            in_reply_to=email,
            original_subject=email.subject,
        )
        return
    await send_notice(
        services,
        kind,
        to=email.sender,
        key=key or f"reply-{email_id}",
        draft_id=draft.id,
        version=draft.version,
        in_reply_to=email,
        original_subject=email.subject,
        **fields,
    )


async def resume_with(
    services: Services, graph: OrderGraph, thread_email_id: int, reply_email_id: int, payload: dict[str, Any]
) -> None:
    """Resume the draft's thread with a claimed decision, then mark the reply applied."""
    await run_thread(graph, services, thread_email_id, Command(resume=payload))
    with services.sessions.begin() as session:
        repo.mark_reply_applied(session, reply_email_id)


async def resume_claimed_replies(services: Services, graph: OrderGraph) -> int:
    """After a crash between claiming a reply and resuming its thread: resume it now."""
    with services.sessions() as session:
        pending = [(r.email_id, r.draft_id, r.payload) for r in repo.unapplied_replies(session)]
    resumed = 0
    for reply_email_id, draft_id, payload in pending:
        with services.sessions() as session:
            draft = repo.get_draft(session, draft_id)
        if draft is None or payload is None:
            continue
        if await waiting_for_review(services, graph, draft.email_id):
            await resume_with(services, graph, draft.email_id, reply_email_id, payload)
            resumed += 1
        else:  # the decision was applied before the crash; only the bookkeeping was lost
            with services.sessions.begin() as session:
                repo.mark_reply_applied(session, reply_email_id)
    return resumed


async def waiting_for_review(services: Services, graph: OrderGraph, thread_email_id: int) -> bool:
    """True when the thread sleeps in review; a thread a crash stopped on its way there is finished first."""
    config = thread_config(thread_email_id)
    snapshot = await graph.aget_state(config)
    if snapshot.next and not snapshot.interrupts:
        await run_thread(graph, services, thread_email_id, None)  # complete the interrupted steps
        snapshot = await graph.aget_state(config)
    return bool(snapshot.interrupts) and "review" in (snapshot.next or ())
