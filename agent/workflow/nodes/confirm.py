"""Confirm to the customer: a threaded reply to their original email with the ERP order id."""

from __future__ import annotations

from langgraph.runtime import Runtime

from mailorder.agent.outgoing.mailing import confirmation_address, send_confirmation
from mailorder.agent.workflow.context import Services
from mailorder.agent.workflow.loading import load_draft, parsed_email
from mailorder.agent.workflow.state import State
from mailorder.store import repo
from mailorder.store.models import DraftStatus


async def confirm_node(state: State, runtime: Runtime[Services]) -> dict:
    services = runtime.context
    record, draft = load_draft(services, state["draft_id"])
    assert record.erp_order_id is not None  # confirm runs only after a successful post
    original = parsed_email(services, state["email_id"])
    await send_confirmation(
        services,
        email_id=state["email_id"],
        draft_id=record.id,
        version=record.version,
        draft=draft,
        original=original,
        erp_order_id=record.erp_order_id,
    )
    now = services.clock()
    with services.sessions.begin() as session:
        repo.set_draft_status(session, now, repo.draft_record(session, record.id), DraftStatus.CONFIRMED)
        repo.audit(
            session,
            now,
            "agent",
            "confirmed",
            email_id=state["email_id"],
            draft_id=record.id,
            erp_order_id=record.erp_order_id,
            to=confirmation_address(draft, original),
        )
    return {"outcome": "confirmed"}
