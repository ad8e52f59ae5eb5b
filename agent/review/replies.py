"""A rep's reply: match it to its draft, authorize it, claim it, and resume the draft's thread.

Matching: the token in the plus-address first, then In-Reply-To/References against the summaries
we sent, then the subject tag. Acting needs more than a match: an allowed rep, a valid token for
the draft's current version, an open draft, and a claim on the token that nobody made before.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import timedelta

from langgraph.types import Command

from mailorder.agent.workflow.context import Services
from mailorder.agent.crashpoints import crash_point
from mailorder.agent.workflow.graph import thread_config
from mailorder.agent.outgoing.mailing import send_notice
from mailorder.mail import render, tokens
from mailorder.agent.review import wire
from mailorder.agent.review.wire import diff_blocks, find_block
from mailorder.domain import EditOp
from mailorder.mail.commands import parse_commands
from mailorder.domain import ParsedEmail
from mailorder.mail.reply_text import parse_decision
from mailorder.store import repo
from mailorder.store.models import DraftRecord, DraftStatus, EmailRecord, EmailStatus, ReplyRecord
from mailorder.domain import Draft

log = logging.getLogger(__name__)

@dataclass
class ReplyMatch:
    draft_id: int | None
    version: int | None
    token: str | None
    via: str  # "token" | "in-reply-to" | "subject" | "none"


def looks_like_reply(services: Services, email: ParsedEmail) -> bool:
    """True when the message answers one of our summaries (and so must never become an order)."""
    return match_reply(services, email).via != "none"


def match_reply(services: Services, email: ParsedEmail) -> ReplyMatch:
    token = tokens.token_from_email(email, services.agent_address)
    if token:
        claims = _peek_claims(token)
        return ReplyMatch(claims[0] if claims else None, claims[1] if claims else None, token, "token")
    refs = [r for r in [email.in_reply_to, *email.references] if r]
    with services.sessions() as session:
        for row in repo.outbox_by_message_ids(session, refs):
            if row.kind == "summary" and row.draft_id is not None:
                return ReplyMatch(row.draft_id, row.version, None, "in-reply-to")
    tag = wire.find_tag(email.subject)
    if tag:
        return ReplyMatch(tag[0], tag[1], None, "subject")
    return ReplyMatch(None, None, None, "none")


def _peek_claims(token: str) -> tuple[int, int] | None:
    """Draft id and version named by a token, before (and regardless of) verification."""
    try:
        claims = tokens.peek_token(token)
    except Exception:  # noqa: BLE001 - a malformed token simply names no draft
        return None
    return claims


async def handle_reply(services: Services, graph, email_id: int, email: ParsedEmail) -> str:
    """Decide what a reply does; returns the outcome recorded on its reply row."""
    match = match_reply(services, email)
    decision = parse_decision(email)
    sender = email.sender
    now = services.clock()

    def record(outcome: str, reason: str | None = None, token_used: str | None = None,
               payload: dict | None = None) -> bool:
        with services.sessions.begin() as session:
            session.get(EmailRecord, email_id).status = EmailStatus.REPLY
            claimed = repo.claim_reply(session, ReplyRecord(
                email_id=email_id, draft_id=match.draft_id if _draft_exists(session, match.draft_id) else None,
                version=match.version, sender=sender, decision=decision.kind, reason=decision.reason,
                outcome=outcome, token_used=token_used, payload=payload, created_at=now))
            action = "reply_received" if outcome in ("accepted", "status", "not_understood") else "reply_refused"
            if not claimed:
                action, outcome = "reply_refused", "replayed"
            repo.audit(session, now, sender, action, email_id=email_id,
                       draft_id=match.draft_id if _draft_exists(session, match.draft_id) else None,
                       decision=decision.kind, outcome=outcome, why=reason, matched_via=match.via,
                       version=match.version)
            return claimed

    allowed = set(services.settings.reps)
    with services.sessions() as session:
        draft = session.get(DraftRecord, match.draft_id) if match.draft_id else None
        if draft is not None:
            allowed.add(draft.rep)
    if sender not in allowed:
        record("refused", "sender is not an allowed rep")
        return "refused"  # never explain anything to an unknown sender
    if draft is None:
        record("refused", "no draft matches this reply")
        return "refused"

    if decision.kind == "status":
        record("status")
        await send_notice(services, "status", to=sender, key=f"reply-{email_id}", draft_id=draft.id,
                          version=draft.version, in_reply_to=email, status=str(draft.status),
                          erp_order_id=draft.erp_order_id, original_subject=email.subject,
                          customer_name=draft.customer_name,
                          with_review_address=DraftStatus(draft.status).is_open)
        return "status"
    ops, rest = edit_ops(services, email, decision.text, draft, match.version)
    kind = decision.kind
    proposed_by = None
    if not ops and rest and kind in ("unknown", "approve") and services.edit_proposer is not None:
        ops = await propose(services, rest, draft)
        if ops:  # the model's reading is only a proposal: it becomes v(n+1), never an approval
            kind, proposed_by = "edit", "model"
    if ops and kind == "unknown":
        kind = "edit"
    if kind == "reject":
        ops = []
    if kind == "unknown":
        record("not_understood")
        await send_notice(services, "not_understood", to=sender, key=f"reply-{email_id}", draft_id=draft.id,
                          version=draft.version, in_reply_to=email, received_text=decision.text[:500],
                          original_subject=email.subject)
        return "not_understood"

    refusal = _refusal(services, match, draft, sender, email)
    if refusal is None and kind == "approve" and not ops:
        refusal = _blocking_refusal(services, draft)
    if refusal is not None:
        record("refused", refusal)
        await send_notice(services, "refused", to=sender, key=f"reply-{email_id}", draft_id=draft.id,
                          version=draft.version, in_reply_to=email, reason=refusal,
                          current_version=draft.version, original_subject=email.subject)
        return "refused"
    config = thread_config(draft.email_id)
    if not await _waiting_for_review(services, graph, config):
        log.error("draft %s thread is not waiting for a review", draft.id)
        record("refused", "the draft is not waiting for a decision right now")
        with services.sessions.begin() as session:
            repo.audit(session, services.clock(), "agent", "resume_skipped", draft_id=draft.id, email_id=email_id)
        return "not_waiting"
    payload = {"kind": kind, "reason": decision.reason, "rep": sender, "reply_email_id": email_id,
               "version": match.version, "ops": [op.model_dump(mode="json") for op in ops],
               "proposed_by": proposed_by}
    if not record("accepted", token_used=match.token, payload=payload):
        await send_notice(services, "refused", to=sender, key=f"reply-{email_id}", draft_id=draft.id,
                          version=draft.version, in_reply_to=email, original_subject=email.subject,
                          reason="this reply's review link was already used; nothing was changed")
        return "replayed"
    crash_point("after_reply_claim")
    await resume_with(services, graph, draft.email_id, email_id, payload)
    return "accepted"


async def resume_with(services: Services, graph, thread_email_id: int, reply_email_id: int, payload: dict) -> None:
    """Resume the draft's thread with a claimed decision, then mark the reply applied."""
    await graph.ainvoke(Command(resume=payload), thread_config(thread_email_id), context=services)
    with services.sessions.begin() as session:
        reply = repo.reply_for_email(session, reply_email_id)
        reply.applied = True


async def resume_claimed_replies(services: Services, graph) -> int:
    """After a crash between claiming a reply and resuming its thread: resume it now."""
    with services.sessions() as session:
        pending = [(r.email_id, r.draft_id, r.payload) for r in repo.unapplied_replies(session)]
    resumed = 0
    for reply_email_id, draft_id, payload in pending:
        with services.sessions() as session:
            draft = session.get(DraftRecord, draft_id)
        if draft is None or payload is None:
            continue
        if await _waiting_for_review(services, graph, thread_config(draft.email_id)):
            await resume_with(services, graph, draft.email_id, reply_email_id, payload)
            resumed += 1
        else:  # the decision was applied before the crash; only the bookkeeping was lost
            with services.sessions.begin() as session:
                repo.reply_for_email(session, reply_email_id).applied = True
    return resumed



def edit_ops(services: Services, email: ParsedEmail, new_text: str, draft: DraftRecord,
             answered_version: int | None) -> tuple[list[EditOp], str]:
    """Commands in the new text plus changes made to the quoted order block of the answered
    version, and the rest of the new text (free text no command covered)."""
    ops, rest = parse_commands(new_text or "")
    edited = find_block(email.body)
    if edited is not None and edited.draft_id == draft.id and answered_version and edited.version == answered_version:
        with services.sessions() as session:
            row = repo.draft_version(session, draft.id, answered_version)
        if row is not None:
            sent = find_block(wire.format_block(draft.id, answered_version, Draft.model_validate(row.payload)))
            ops += diff_blocks(sent, edited)
    return ops, "\n".join(rest)


async def propose(services: Services, text: str, draft: DraftRecord) -> list[EditOp]:
    """The model's reading of free-text edits against the answered version's block."""
    from mailorder.agent.workflow.loading import load_draft

    _, payload = load_draft(services, draft.id)
    return await services.edit_proposer(text, wire.format_block(draft.id, draft.version, payload))


async def _waiting_for_review(services: Services, graph, config: dict) -> bool:
    """True when the thread sleeps in review; a thread a crash stopped on its way there is finished first."""
    snapshot = await graph.aget_state(config)
    if snapshot.next and not snapshot.interrupts:
        await graph.ainvoke(None, config, context=services)  # complete the interrupted steps
        snapshot = await graph.aget_state(config)
    return bool(snapshot.interrupts) and "review" in (snapshot.next or ())


def _draft_exists(session, draft_id: int | None) -> bool:
    return draft_id is not None and session.get(DraftRecord, draft_id) is not None


def _refusal(services: Services, match: ReplyMatch, draft: DraftRecord, sender: str, email: ParsedEmail) -> str | None:
    auth = email.headers.get("authentication-results", "")
    if re.search(r"\b(dkim|spf|dmarc)=(fail|softfail)\b", auth, re.IGNORECASE):
        return "the message failed sender authentication (DKIM/SPF/DMARC)."
    if not match.token:
        return ("the reply did not go to the review address of the summary (its Reply-To), so it cannot "
                "be verified. Please use Reply on the latest summary.")
    try:
        claims = tokens.verify_token(services.settings.secret, match.token, now=services.clock(),
                                     max_age=timedelta(days=services.settings.token_max_age_days), rep=sender)
    except tokens.InvalidToken as exc:
        return render.refusal_reason(exc.reason)
    if claims.draft_id != draft.id:
        return "the review link belongs to another draft."
    if not DraftStatus(draft.status).is_open:
        return f"draft MO-{draft.id} is already {draft.status}; nothing was changed."
    if claims.version != draft.version:
        return (f"this reply answers version v{claims.version}, but the current version is v{draft.version}. "
                f"Please answer the summary [MO-{draft.id} v{draft.version}].")
    return None


def _blocking_refusal(services: Services, draft: DraftRecord) -> str | None:
    from mailorder.agent.workflow.loading import load_draft

    _, payload = load_draft(services, draft.id)
    blocking = payload.blocking_issues
    if not blocking:
        return None
    listed = "; ".join(i.message for i in blocking)
    return f"draft MO-{draft.id} v{draft.version} cannot be posted while it has open issues: {listed}"
