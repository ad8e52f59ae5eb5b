"""Triage: is this an order, a quote request, a status question, a complaint, marketing, an auto-reply?"""
from __future__ import annotations

from langgraph.runtime import Runtime

from mailorder.agent.workflow.context import Services
from mailorder.agent.crashpoints import crash_point
from mailorder.agent.workflow.loading import parsed_email
from mailorder.agent.workflow.pipeline import triage_email
from mailorder.agent.workflow.state import State
from mailorder.store import repo
from mailorder.store.models import EmailRecord, EmailStatus
from mailorder.domain import TriageLabel


async def triage_node(state: State, runtime: Runtime[Services]) -> dict:
    services = runtime.context
    email = parsed_email(services, state["email_id"])
    triage, _body = triage_email(email)
    with services.sessions.begin() as session:
        record = session.get(EmailRecord, state["email_id"])
        record.triage_label = triage.label
        if triage.label != TriageLabel.ORDER:
            record.status = EmailStatus.NOT_ORDER
        repo.audit(session, services.clock(), "agent", "triaged", email_id=record.id,
                   label=str(triage.label), reason=triage.reason, confidence=triage.confidence)
    crash_point("after_triage")
    return {"triage": str(triage.label)}
