"""Apply the rep's edits: version n+1, re-validated and re-priced, with a change log.

Idempotent on re-run: the version made for a reply is found again by its author tag."""

from __future__ import annotations

from langgraph.runtime import Runtime

from mailorder.agent.extract.learning import learn_corrections
from mailorder.agent.outgoing.mailing import send_notice
from mailorder.agent.review.apply import apply_edits
from mailorder.agent.review.autopost import naive
from mailorder.agent.workflow.context import Services
from mailorder.agent.workflow.loading import load_draft
from mailorder.agent.workflow.state import State, decision_of
from mailorder.domain import Draft
from mailorder.store import autopost as plans
from mailorder.store import repo
from mailorder.store.autopost import PlanStatus


async def edit_node(state: State, runtime: Runtime[Services]) -> dict:
    services = runtime.context
    decision = decision_of(state)
    author = f"{decision.rep} (reply #{decision.reply_email_id})"
    record, draft = load_draft(services, state["draft_id"])
    with services.sessions() as session:
        made = repo.version_by_author(session, record.id, author)
    if made is None:
        result = await apply_edits(draft, decision.ops, services.toolbox)
        if not result.changes:
            await send_notice(
                services,
                "not_understood",
                to=decision.rep,
                key=f"edit-{decision.reply_email_id}",
                draft_id=record.id,
                version=record.version,
                received_text="; ".join(result.errors) or "no applicable changes",
            )
            return {"outcome": "no_changes"}
        now = services.clock()
        with services.sessions.begin() as session:
            current = repo.draft_record(session, record.id)
            changes = result.changes + [f"not applied: {e}" for e in result.errors]
            if decision.proposed_by:
                changes = [f"proposed by the AI model from your words: {c}" for c in changes]
            repo.add_version(session, now, current, result.draft.model_dump(mode="json"), changes, author)
            plans.settle_plan(session, record.id, naive(now), PlanStatus.SUPERSEDED)  # an edit stops it
            current.customer_id = result.draft.customer.company_id if result.draft.customer else None
            current.customer_name = result.draft.customer.company_name if result.draft.customer else None
            learn_corrections(
                session,
                now,
                customer_id=current.customer_id,
                rep=decision.rep,
                corrections=result.corrections,
                aliases=services.toolbox.customer_aliases,
                draft_id=record.id,
            )
            repo.audit(
                session,
                now,
                decision.rep,
                "edited",
                email_id=state["email_id"],
                draft_id=record.id,
                version=current.version,
                changes=changes,
                reply_email_id=decision.reply_email_id,
            )
        new_draft = result.draft
    else:
        new_draft = Draft.model_validate(made.payload)
    if decision.kind == "approve" and not new_draft.blocking_issues:
        return {"outcome": "approved_after_edit"}
    return {"outcome": "edited"}
