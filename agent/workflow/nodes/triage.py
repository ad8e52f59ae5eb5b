"""Triage: is this an order, a quote request, a status question, a complaint, marketing, an auto-reply?"""

from __future__ import annotations

from langgraph.runtime import Runtime

from mailorder.agent.crashpoints import crash_point
from mailorder.agent.workflow.context import Services
from mailorder.agent.workflow.loading import parsed_email
from mailorder.agent.workflow.pipeline import triage_email
from mailorder.agent.workflow.state import State
from mailorder.domain import TriageLabel
from mailorder.store import repo
from mailorder.store.models import EmailStatus


async def triage_node(state: State, runtime: Runtime[Services]) -> dict:
    services = runtime.context
    email = parsed_email(services, state["email_id"])
    triage, _body = triage_email(email)
    with services.sessions.begin() as session:
        email_id = state["email_id"]
        if triage.label == TriageLabel.ORDER:
            repo.set_email_status(session, email_id, EmailStatus.RECEIVED, triage_label=triage.label)
        else:
            repo.set_email_status(session, email_id, EmailStatus.NOT_ORDER, triage_label=triage.label)
        repo.audit(
            session,
            services.clock(),
            "agent",
            "triaged",
            email_id=email_id,
            label=str(triage.label),
            reason=triage.reason,
            confidence=triage.confidence,
        )
    crash_point("after_triage")
    return {"triage": str(triage.label)}
