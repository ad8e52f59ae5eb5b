"""Post an approved draft to the ERP, exactly once.

The idempotency key is derived from (draft id, version): if the agent dies after the POST but
before recording the answer, the re-run POSTs again with the same key and the ERP returns its
first answer instead of creating a second order.
"""

from __future__ import annotations

import logging

from langgraph.runtime import Runtime

from mailorder.agent.crashpoints import crash_point
from mailorder.agent.outgoing.mailing import send_notice
from mailorder.agent.review.autopost import AUTOPOST_ACTOR, naive
from mailorder.agent.workflow.context import Services
from mailorder.agent.workflow.loading import load_draft
from mailorder.agent.workflow.state import State, decision_of
from mailorder.mail.render import NoticeKind
from mailorder.store import autopost as plans
from mailorder.store import repo
from mailorder.store.autopost import PlanStatus
from mailorder.store.models import DraftRecord, DraftStatus
from mailorder.tools.erp_client import ErpRejected, ErpUnavailable, build_order_request

log = logging.getLogger(__name__)


def idempotency_key(draft_id: int, version: int) -> str:
    return f"mailorder-{draft_id}-v{version}"


async def post_node(state: State, runtime: Runtime[Services]) -> dict:
    services = runtime.context
    decision = decision_of(state)
    record, draft = load_draft(services, state["draft_id"])
    key = idempotency_key(record.id, record.version)
    if record.status in (DraftStatus.POSTED, DraftStatus.CONFIRMED):
        # re-run after a crash whose checkpoint of this step was lost: the order is in the ERP
        # already; do not step the draft back to approved or audit the approval again
        log.info(
            "draft %s v%s already posted (%s); not posting again",
            record.id,
            record.version,
            record.erp_order_id,
        )
        return {"outcome": "posted"}
    request = build_order_request(draft)
    now = services.clock()
    with services.sessions.begin() as session:
        repo.start_erp_submission(
            session, now, draft_id=record.id, version=record.version, key=key, request=request
        )
        repo.set_draft_status(
            session, now, repo.draft_record(session, record.id), DraftStatus.APPROVED, decided_by=decision.rep
        )
        automatic = decision.rep == AUTOPOST_ACTOR
        plan = plans.plan_for(session, record.id, record.version)
        repo.audit(
            session,
            now,
            decision.rep,
            "auto_posted" if automatic else "approved",
            email_id=state["email_id"],
            draft_id=record.id,
            version=record.version,
            reply_email_id=decision.reply_email_id,
            **({"reasons": plan.reasons, "policy": plan.policy} if automatic and plan is not None else {}),
        )
        plans.settle_plan(
            session, record.id, naive(now), PlanStatus.POSTED if automatic else PlanStatus.CANCELLED
        )
        repo.audit(session, now, "agent", "erp_post_started", draft_id=record.id, idempotency_key=key)
    crash_point("before_erp_post")
    try:
        result = await services.erp.submit_order(request, idempotency_key=key)
    except ErpRejected as exc:
        return await _failed(
            services,
            state,
            record,
            key,
            DraftStatus.ERP_REJECTED,
            "erp_rejected",
            error=exc.error,
            code=exc.code,
            http_status=exc.status,
        )
    except ErpUnavailable as exc:
        return await _failed(
            services,
            state,
            record,
            key,
            DraftStatus.ERP_UNAVAILABLE,
            "erp_unavailable",
            error=str(exc.last_error),
            attempts=exc.attempts,
        )
    crash_point("after_erp_post")
    now = services.clock()
    with services.sessions.begin() as session:
        submission = repo.submission(session, key)
        submission.status, submission.order_id, submission.response, submission.updated_at = (
            "ok",
            result.order_id,
            result.raw,
            now,
        )
        repo.set_draft_status(
            session,
            now,
            repo.draft_record(session, record.id),
            DraftStatus.POSTED,
            erp_order_id=result.order_id,
        )
        repo.audit(
            session,
            now,
            "agent",
            "posted",
            email_id=state["email_id"],
            draft_id=record.id,
            version=record.version,
            erp_order_id=result.order_id,
            idempotency_key=key,
            replayed=result.replayed,
        )
    return {"outcome": "posted"}


async def _failed(
    services: Services,
    state: State,
    record: DraftRecord,
    key: str,
    status: DraftStatus,
    outcome: str,
    **details,
) -> dict:
    now = services.clock()
    with services.sessions.begin() as session:
        submission = repo.submission(session, key)
        submission.status, submission.response, submission.updated_at = outcome, details, now
        repo.set_draft_status(session, now, repo.draft_record(session, record.id), status)
        repo.audit(
            session,
            now,
            "erp",
            outcome,
            email_id=state["email_id"],
            draft_id=record.id,
            version=record.version,
            **details,
        )
    log.warning("ERP post of draft %s failed: %s %s", record.id, outcome, details)
    kind: NoticeKind = "erp_error" if status == DraftStatus.ERP_REJECTED else "erp_unavailable"
    await send_notice(
        services,
        kind,
        to=record.rep,
        key=f"{record.id}-v{record.version}-{outcome}-{now:%Y%m%d%H%M%S}",
        draft_id=record.id,
        version=record.version,
        reason=str(details.get("error") or ""),
        attempts=details.get("attempts"),
        customer_name=record.customer_name,
        with_review_address=True,
    )
    return {"outcome": outcome}
