"""Automatic posting when a plan's veto window has passed (agent.review.autopost plans it).

Exactly once: a plan is claimed in the store (scheduled -> posting) under the claim of the draft's
thread before the thread is resumed with an approval, whose ERP idempotency key is the same as a
rep's; a plan a crash left claimed is resumed at the next poll, and one whose draft the rep edited,
held or decided meanwhile never posts."""

from __future__ import annotations

from langgraph.types import Command

from mailorder.agent.inbox.claims import Claims
from mailorder.agent.review.autopost import AUTOPOST_ACTOR, naive
from mailorder.agent.review.replies import waiting_for_review
from mailorder.agent.workflow.context import Services
from mailorder.agent.workflow.graph import OrderGraph, run_thread
from mailorder.domain import ReviewDecision
from mailorder.store import autopost as plans
from mailorder.store import repo
from mailorder.store.autopost import PlanStatus
from mailorder.store.models import DraftStatus


async def post_due(services: Services, graph: OrderGraph, claims: Claims) -> int:
    """Post the drafts whose window passed (and finish claimed ones a crash interrupted)."""
    now = services.clock()
    with services.sessions() as session:
        due = [(p.id, p.draft_id, p.version, p.status) for p in plans.due_plans(session, naive(now))]
    posted = 0
    for plan_id, draft_id, version, status in due:
        with services.sessions() as session:
            draft = repo.get_draft(session, draft_id)
            thread_email_id = draft.email_id if draft is not None else None
            current = (
                draft is not None and draft.version == version and draft.status == DraftStatus.AWAITING_REVIEW
            )
        if thread_email_id is None:
            continue
        if not current and status == PlanStatus.SCHEDULED:
            final = (
                PlanStatus.SUPERSEDED
                if draft is not None and draft.version != version
                else PlanStatus.CANCELLED
            )
            with services.sessions.begin() as session:
                plans.settle_plan(session, draft_id, naive(now), final)
            continue
        if not claims.claim(thread_email_id, pending_only=False):
            continue  # another worker runs this thread right now
        try:
            posted += await _post(services, graph, plan_id, draft_id, version, thread_email_id, status)
        finally:
            claims.release(thread_email_id)
    return posted


async def _post(
    services: Services,
    graph: OrderGraph,
    plan_id: int,
    draft_id: int,
    version: int,
    thread_email_id: int,
    status: str,
) -> int:
    now = naive(services.clock())
    if status == PlanStatus.SCHEDULED:
        with services.sessions.begin() as session:
            if not plans.claim_plan(session, plan_id, now):
                return 0  # another worker claimed it
    if not await waiting_for_review(services, graph, thread_email_id):
        with services.sessions() as session:
            draft = repo.get_draft(session, draft_id)
        if draft is not None and draft.status in (DraftStatus.POSTED, DraftStatus.CONFIRMED):
            with services.sessions.begin() as session:  # posted before a crash; only this was left
                plans.settle_plan(session, draft_id, now, PlanStatus.POSTED)
        return 0
    decision = ReviewDecision(kind="approve", rep=AUTOPOST_ACTOR, version=version)
    await run_thread(graph, services, thread_email_id, Command(resume=decision.model_dump(mode="json")))
    return 1
