"""Draft: price and validate the extracted lines into a stored draft version 1."""

from __future__ import annotations

from datetime import datetime, timedelta

from langgraph.runtime import Runtime
from sqlalchemy.orm import Session

from mailorder.agent.crashpoints import crash_point
from mailorder.agent.logs import bind
from mailorder.agent.outgoing.mailing import confirmation_address
from mailorder.agent.review import autopost, wire
from mailorder.agent.review.autopost_policy import Policy, Verdict
from mailorder.agent.workflow.context import Services
from mailorder.agent.workflow.loading import parsed_email
from mailorder.agent.workflow.pipeline import build_draft
from mailorder.agent.workflow.state import State
from mailorder.domain import Draft, Extraction, Issue, IssueCode, OrderDigest, ParsedEmail
from mailorder.store import autopost as plans
from mailorder.store import repo
from mailorder.store.models import EmailStatus


def pick_rep(services: Services, customer_rep: str | None) -> str:
    """The customer's assigned rep when the ERP names an allowed one, else the default rep."""
    if customer_rep and customer_rep.lower() in services.settings.reps:
        return customer_rep.lower()
    return services.settings.default_rep


def recent_drafts(services: Services, company_id: str, days: int = 14, limit: int = 50) -> list[OrderDigest]:
    """The customer's latest drafts of the last days (for the duplicate-order check), one query."""
    since = services.clock() - timedelta(days=days)
    with services.sessions() as session:
        payloads = repo.recent_draft_payloads(session, company_id, since, limit)
    return [OrderDigest.model_validate_json(p) for p in payloads]


def reply_to_warnings(email: ParsedEmail, draft: Draft) -> list[Issue]:
    """A Reply-To that differs from the sender is shown to the rep: answers would go elsewhere, and
    the confirmation goes to the customer's contact address, not there (pure)."""
    others = [address for address in email.reply_to if address and address != email.sender]
    if not others:
        return []
    goes_to = confirmation_address(draft, email)
    return [
        Issue(
            code=IssueCode.REPLY_TO_DIFFERS,
            message=(
                f"Reply-To {', '.join(others)} differs from the sender {email.sender}; "
                f"the confirmation will go to {goes_to}"
            ),
            blocking=False,
        )
    ]


def follow_up_notes(services: Services, email: ParsedEmail) -> list[Issue]:
    """A customer's mail that answers our confirmation (or carries a draft's tag) is a new order
    that refers to an earlier one: say which, so the rep can tell an addition from a replacement."""
    refs = [r for r in [email.in_reply_to, *email.references] if r]
    with services.sessions() as session:
        earlier = {row.draft_id for row in repo.outbox_by_message_ids(session, refs) if row.draft_id}
        tag = wire.find_tag(email.subject)
        if tag is not None:
            earlier.add(tag[0])
        drafts = [d for d in (repo.get_draft(session, i) for i in sorted(earlier)) if d is not None]
    return [
        Issue(
            code=IssueCode.FOLLOW_UP,
            message=(
                f"refers to the earlier order MO-{d.id} ({d.status}"
                + (f", ERP {d.erp_order_id}" if d.erp_order_id else "")
                + "): check whether this adds to it or replaces it"
            ),
            blocking=False,
        )
        for d in drafts
    ]


def _record_verdict(
    session: Session,
    now: datetime,
    draft_id: int,
    email_id: int,
    draft: Draft,
    verdict: Verdict,
    policy: Policy,
) -> None:
    """Store the plan of a qualifying draft and audit the verdict either way."""
    settings = autopost.policy_record(policy)
    if draft.autopost is not None and draft.customer is not None:
        plans.add_plan(
            session,
            now,
            draft_id=draft_id,
            version=1,
            company_id=draft.customer.company_id,
            due_at=autopost.naive(draft.autopost.due_at),
            reasons=verdict.reasons,
            policy=settings,
        )
        repo.audit(
            session,
            now,
            "agent",
            "autopost_scheduled",
            email_id=email_id,
            draft_id=draft_id,
            due_at=draft.autopost.due_at.isoformat(),
            reasons=verdict.reasons,
            policy=settings,
        )
    else:
        repo.audit(
            session,
            now,
            "agent",
            "autopost_declined",
            email_id=email_id,
            draft_id=draft_id,
            failures=verdict.failures,
            policy=settings,
        )


async def draft_node(state: State, runtime: Runtime[Services]) -> dict:
    services = runtime.context
    email_id = state["email_id"]
    with services.sessions() as session:
        existing = repo.draft_for_email(session, email_id)
        if existing is not None:  # re-run after a crash: the draft was stored already
            return {"draft_id": existing.id, "version": existing.version}
    email = parsed_email(services, email_id)
    customer_match = await services.toolbox.customer_lookup(email.sender, email.body)
    recent = recent_drafts(services, customer_match.customer.company_id) if customer_match.customer else []
    draft = await build_draft(
        email,
        Extraction.model_validate(state["extraction"]),
        services.toolbox,
        customer=customer_match,
        recent_orders=recent,
    )
    draft.issues.extend(reply_to_warnings(email, draft))
    draft.issues.extend(follow_up_notes(services, email))
    judged = autopost.judge(services, email, draft)  # None: automatic posting is off for this customer
    if judged is not None and judged[0].qualifies:
        draft = autopost.announce(services, draft, *judged)
    customer = draft.customer
    rep = pick_rep(services, customer.rep_email if customer else None)
    now = services.clock()
    with services.sessions.begin() as session:
        record = repo.create_draft(
            session,
            now,
            email_id=email_id,
            rep=rep,
            payload=draft.model_dump(mode="json"),
            customer_id=customer.company_id if customer else None,
            customer_name=customer.company_name if customer else None,
        )
        repo.set_email_status(session, email_id, EmailStatus.DRAFTED)
        repo.audit(
            session,
            now,
            "agent",
            "drafted",
            email_id=email_id,
            draft_id=record.id,
            version=1,
            customer=record.customer_id,
            lines=len(draft.lines),
            total=draft.total,
            issues=[f"{i.code}: {i.message}" for i in draft.issues],
            method=draft.extraction_method,
            prompt_version=draft.prompt_version,
            rep=rep,
        )
        if judged is not None:
            _record_verdict(session, now, record.id, email_id, draft, *judged)
        draft_id = record.id
    bind(draft_id=draft_id)
    crash_point("after_draft")
    return {"draft_id": draft_id, "version": 1}
