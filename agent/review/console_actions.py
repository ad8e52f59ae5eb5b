"""A decision taken in the web console: the same ReviewDecision a reply by email makes, resuming
the draft's thread the same way (agent.review.replies), so the state machine, versioning,
validation and the ERP's idempotency key are the ones email review has.

Exactly once, and never beside an email decision on the same version:
1. The draft's thread is claimed in the store (`emails.claimed_by` of the draft's email, the claim
   a reply by email takes before it is handled; a fresh worker id per action, so two console
   requests in one process exclude each other too). While a reply is being applied, the console
   answers "busy" and changes nothing; while a console decision is applied, a reply waits for the
   next poll.
2. Under that claim the draft is read again: still open, still the version the user looked at,
   and no decision accepted on that version since the page was shown (`round`, the number of
   accepted decisions of that version the page saw). A decision by email that came first has
   either moved the version, closed the draft or raised the round: the console's is refused.
3. The decision is claimed as a reply row (unique `token_used` = console:<draft>:v<version>:r<round>)
   with a stored message of its own (mailbox `console`) that ReviewDecision.reply_email_id names.
   Two console requests that saw the same state cannot both be accepted even without step 1, and a
   crash between the claim and the resume is recovered by `serve` like any claimed reply
   (agent.inbox.recovery → replies.resume_claimed_replies).
4. The thread is resumed (replies.resume_with), which marks the reply applied.

After an ERP failure the draft is open on the same version again (erp_rejected/erp_unavailable):
a new approval is a new round and posts with the same idempotency key, so the ERP still holds one
order per version."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from typing import Literal

from mailorder.agent.inbox.claims import Claims
from mailorder.agent.review import authorise
from mailorder.agent.review.replies import resume_with, waiting_for_review
from mailorder.agent.workflow.context import Services
from mailorder.agent.workflow.graph import OrderGraph
from mailorder.agent.workflow.loading import load_draft
from mailorder.domain import DecisionKind, EditOp, ReviewDecision
from mailorder.store import console as console_store
from mailorder.store import repo
from mailorder.store.models import DraftRecord, DraftStatus, ReplyRecord

log = logging.getLogger(__name__)

Outcome = Literal["accepted", "refused", "busy"]


@dataclass(frozen=True)
class ConsoleRequest:
    """What a console user asks for, with the state of the draft their page showed."""

    draft_id: int
    version: int  # the version the page showed
    round: int  # decisions accepted on that version when the page was shown
    user: str  # the console user's address: the rep of the decision
    role: str
    kind: DecisionKind
    reason: str | None = None
    ops: list[EditOp] = field(default_factory=list)


@dataclass(frozen=True)
class ConsoleResult:
    outcome: Outcome
    message: str
    reply_email_id: int | None = None


def decision_round(services: Services, draft_id: int, version: int) -> int:
    """The round a page shows: decisions accepted on this version so far."""
    with services.sessions() as session:
        return console_store.accepted_decisions(session, draft_id, version)


def decision_key(draft_id: int, version: int, round_: int) -> str:
    """The single-use key of a console decision (the reply row's unique token_used)."""
    return f"console:{draft_id}:v{version}:r{round_}"


async def act(services: Services, graph: OrderGraph, request: ConsoleRequest) -> ConsoleResult:
    """Check, claim and apply one console decision; every outcome is audited with the user."""
    with services.sessions() as session:
        draft = repo.get_draft(session, request.draft_id)
    if draft is None:
        return _refused(services, request, f"there is no draft MO-{request.draft_id}")
    claims = Claims(services)  # a worker id of its own: excludes every other holder of the thread
    try:
        if not claims.claim(draft.email_id, pending_only=False):
            message = (
                f"MO-{draft.id} is being worked on right now (a reply or another console decision is "
                "being applied); "
                "nothing was changed, try again in a moment"
            )
            _audit(services, request, "console_refused", outcome="busy", why=message)
            return ConsoleResult("busy", message)
        try:
            async with claims.heartbeat():
                return await _act_claimed(services, graph, request)
        finally:
            claims.release(draft.email_id)
    finally:
        claims.close()


async def _act_claimed(services: Services, graph: OrderGraph, request: ConsoleRequest) -> ConsoleResult:
    with services.sessions() as session:
        draft = repo.draft_record(session, request.draft_id)
        round_now = console_store.accepted_decisions(session, draft.id, draft.version)
    refusal = _refusal(services, draft, request, round_now)
    if refusal is not None:
        return _refused(services, request, refusal)
    if not await waiting_for_review(services, graph, draft.email_id):
        return _refused(services, request, f"MO-{draft.id} is not waiting for a decision right now")
    claimed = _claim(services, draft, request)
    if claimed is None:
        return _refused(services, request, f"MO-{draft.id} v{draft.version} was decided meanwhile")
    reply_email_id, payload = claimed
    await resume_with(services, graph, draft.email_id, reply_email_id, payload)
    with services.sessions() as session:
        after = repo.draft_record(session, draft.id)
    return ConsoleResult("accepted", _done(request, after), reply_email_id)


def _refusal(services: Services, draft: DraftRecord, request: ConsoleRequest, round_now: int) -> str | None:
    """Why this request may not act on the draft as it is now, or None."""
    if not DraftStatus(draft.status).is_open:
        return f"MO-{draft.id} is already {draft.status}; nothing was changed"
    if request.version != draft.version:
        return (
            f"you looked at v{request.version}, but MO-{draft.id} is at v{draft.version} now; "
            "nothing was changed, please look at the current version"
        )
    if request.round != round_now:
        return f"MO-{draft.id} v{draft.version} was decided meanwhile; nothing was changed"
    if request.kind == "reject" and not (request.reason or "").strip():
        return "a rejection needs a reason"
    if request.kind == "edit" and not request.ops:
        return "no change was given"
    if request.kind == "approve" and not request.ops:
        return authorise.blocking_refusal(draft, load_draft(services, draft.id)[1])
    return None


def _claim(
    services: Services, draft: DraftRecord, request: ConsoleRequest
) -> tuple[int, dict[str, object]] | None:
    """Store the decision as a claimed reply; None when this round of this version is taken."""
    now = services.clock()
    nonce = secrets.token_hex(6)
    message_id = f"<mo.console.{draft.id}.v{draft.version}.r{request.round}.{nonce}@{services.mail_domain}>"
    try:
        with services.sessions.begin() as session:
            record = console_store.record_console_decision(
                session,
                now,
                message_id=message_id,
                user=request.user,
                subject=f"console: {request.kind} MO-{draft.id} v{draft.version}",
            )
            reason = (request.reason or "").strip()[:2000] or None
            decision = ReviewDecision(
                kind=request.kind,
                rep=request.user,
                reply_email_id=record.id,
                version=draft.version,
                reason=reason if request.kind == "reject" else None,
                ops=request.ops,
            )
            payload: dict[str, object] = decision.model_dump(mode="json")
            reply = ReplyRecord(
                email_id=record.id,
                draft_id=draft.id,
                version=draft.version,
                sender=request.user,
                decision=request.kind,
                reason=decision.reason,
                outcome="accepted",
                token_used=decision_key(draft.id, draft.version, request.round),
                payload=payload,
                created_at=now,
            )
            if not repo.claim_reply(session, reply):
                raise _Taken
            repo.audit(
                session,
                now,
                request.user,
                "console_decision",
                email_id=record.id,
                draft_id=draft.id,
                decision=request.kind,
                version=draft.version,
                role=request.role,
                reason=decision.reason,
                ops=[op.model_dump(mode="json", exclude_none=True) for op in request.ops],
            )
            return record.id, payload
    except _Taken:
        return None


class _Taken(Exception):
    """The decision key of this round was claimed by another request first."""


def _refused(services: Services, request: ConsoleRequest, why: str) -> ConsoleResult:
    _audit(services, request, "console_refused", outcome="refused", why=why)
    return ConsoleResult("refused", why)


def _audit(services: Services, request: ConsoleRequest, action: str, *, outcome: str, why: str) -> None:
    with services.sessions.begin() as session:
        known = repo.get_draft(session, request.draft_id) is not None
        repo.audit(
            session,
            services.clock(),
            request.user,
            action,
            draft_id=request.draft_id if known else None,
            decision=request.kind,
            version=request.version,
            role=request.role,
            outcome=outcome,
            why=why,
        )


def _done(request: ConsoleRequest, after: DraftRecord) -> str:
    """What the user sees after an accepted decision: the draft's state now."""
    where = f"MO-{after.id} v{after.version} is {after.status}"
    if after.erp_order_id:
        where += f" (ERP order {after.erp_order_id})"
    said = {"approve": "approved", "reject": "rejected", "edit": "changed"}[request.kind]
    return f"{said}: {where}"
