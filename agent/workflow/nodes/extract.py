"""Extract: read the order lines, reference and delivery date through the tools (model or rules)."""

from __future__ import annotations

from langgraph.runtime import Runtime

from mailorder.agent.workflow.context import Services
from mailorder.agent.workflow.loading import parsed_email
from mailorder.agent.workflow.pipeline import bounded, extract_order
from mailorder.agent.workflow.state import State
from mailorder.mail.clean import clean_order_body
from mailorder.store import repo


async def extract_node(state: State, runtime: Runtime[Services]) -> dict:
    services = runtime.context
    email = parsed_email(services, state["email_id"])
    body = clean_order_body(bounded(email))  # as triage read it
    extraction = await extract_order(
        email, body, services.toolbox, now=services.clock(), llm_extractor=services.llm_extractor
    )
    with services.sessions.begin() as session:
        repo.audit(
            session,
            services.clock(),
            "agent",
            "extracted",
            email_id=state["email_id"],
            method=extraction.method,
            lines=len(extraction.lines),
            notes=extraction.notes,
        )
    return {"extraction": extraction.model_dump(mode="json")}
