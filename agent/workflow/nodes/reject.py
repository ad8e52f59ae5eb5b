"""Close a draft the rep rejected, with the reason."""

from __future__ import annotations

from langgraph.runtime import Runtime

from mailorder.agent.review.autopost import naive
from mailorder.agent.workflow.context import Services
from mailorder.agent.workflow.state import State, decision_of
from mailorder.store import autopost as plans
from mailorder.store import repo
from mailorder.store.autopost import PlanStatus
from mailorder.store.models import DraftStatus


async def reject_node(state: State, runtime: Runtime[Services]) -> dict:
    services = runtime.context
    decision = decision_of(state)
    now = services.clock()
    with services.sessions.begin() as session:
        draft = repo.draft_record(session, state["draft_id"])
        repo.set_draft_status(
            session, now, draft, DraftStatus.REJECTED, decided_by=decision.rep, decision_note=decision.reason
        )
        repo.audit(
            session,
            now,
            decision.rep,
            "rejected",
            email_id=state["email_id"],
            draft_id=draft.id,
            version=draft.version,
            reason=decision.reason,
            reply_email_id=decision.reply_email_id,
        )
        plans.settle_plan(session, draft.id, naive(now), PlanStatus.CANCELLED)
    return {"outcome": "rejected"}
