"""Notify the rep: send the summary of the draft's current version (idempotent per version)."""

from __future__ import annotations

from langgraph.runtime import Runtime

from mailorder.agent.outgoing.mailing import send_summary
from mailorder.agent.workflow.context import Services
from mailorder.agent.workflow.loading import load_draft, parsed_email
from mailorder.agent.workflow.state import State
from mailorder.store import repo


async def notify_node(state: State, runtime: Runtime[Services]) -> dict:
    services = runtime.context
    record, draft = load_draft(services, state["draft_id"])
    original = parsed_email(services, state["email_id"])
    with services.sessions() as session:
        changes = list(repo.version_row(session, record.id, record.version).changes or [])
    await send_summary(
        services,
        email_id=state["email_id"],
        draft_id=record.id,
        version=record.version,
        draft=draft,
        original=original,
        rep=record.rep,
        changes=changes,
    )
    return {"version": record.version}
