"""Bounces of the agent's own mail. A delivery report is never answered, but when it returns one
of our messages the draft must not wait silently:

- a summary that bounced: the draft goes to the next allowed rep whose address has not bounced
  for it, with a fresh summary (no rep left: audited as undeliverable, visible in `orders show`);
- a customer confirmation that bounced: the draft's rep gets a notice to contact the customer;
- a notice that bounced: audited only (notices about notices could loop).

The returned message is recognised by our Message-IDs in the report (the returned headers), else
by the summary's subject tag [MO-n vN]. A message the SMTP server refuses outright for every
recipient (5xx at RCPT) is handled the same way, at once (agent.outbox).
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from mailorder.agent.outgoing import mailing
from mailorder.agent.workflow.context import Services
from mailorder.agent.inbox.screening import is_our_message_id
from mailorder.mail.message import ParsedEmail
from mailorder.store import repo
from mailorder.store.models import DraftRecord, DraftStatus

log = logging.getLogger(__name__)

_MESSAGE_ID = re.compile(rb"<mo\.[^<>\s@]{1,200}@[^<>\s]{1,200}>", re.I)
_SUMMARY_TAG = re.compile(rb"\[MO-(\d{1,12})\s+v(\d{1,6})\]", re.I)
_DIAGNOSTIC = re.compile(rb"^(?:Diagnostic-Code|Status|X-Postfix-Reason):[ \t]*(.{1,300})$", re.I | re.M)


def returned_message_ids(raw: bytes, agent_address: str) -> list[str]:
    """Our Message-IDs quoted in a bounce, in order of appearance (pure)."""
    found: list[str] = []
    for match in _MESSAGE_ID.findall(raw):
        message_id = match.decode("ascii", "replace").lower()
        if is_our_message_id(message_id, agent_address) and message_id not in found:
            found.append(message_id)
    return found


def returned_summary_tags(raw: bytes) -> list[tuple[int, int]]:
    """(draft id, version) of summary subject tags quoted in a bounce (pure)."""
    return list(dict.fromkeys((int(d), int(v)) for d, v in _SUMMARY_TAG.findall(raw)))


def bounce_reason(raw: bytes, email: ParsedEmail) -> str:
    """The mail server's own words when the report has them, else the bounce's subject (pure)."""
    codes = [m.decode("utf-8", "replace").strip() for m in _DIAGNOSTIC.findall(raw)]
    detail = next((c for c in codes if not re.fullmatch(r"[\d.]+", c)), codes[0] if codes else "")
    return " ".join((detail or email.subject or "delivery failed").split())[:300]


async def handle_bounce(services: Services, email_id: int, raw: bytes, email: ParsedEmail) -> int:
    """Act on a delivery report for our own mail; returns how many of our messages it returned."""
    reason = bounce_reason(raw, email)
    with services.sessions() as session:
        rows = repo.outbox_by_message_ids(session, returned_message_ids(raw, services.agent_address))
        if not rows:
            rows = [row for draft_id, version in returned_summary_tags(raw)
                    for row in repo.outbox_for_draft(session, draft_id, kind="summary", version=version)]
        returned = [Returned(row.kind, row.draft_id, row.version, list(row.recipients), row.message_id)
                    for row in rows]
    for message in returned:
        key = f"bounce-{email_id}" if message.kind == "summary" else f"bounce-{email_id}-{message.draft_id}"
        await message_returned(services, message, reason=reason, key=key, email_id=email_id, how="bounced")
    return len(returned)


@dataclass(frozen=True)
class Returned:
    """One of our messages that did not reach its recipients."""
    kind: str
    draft_id: int | None
    version: int | None
    recipients: list[str]
    message_id: str


async def message_returned(services: Services, message: Returned, *, reason: str, key: str,
                           email_id: int | None, how: str) -> None:
    """Audit a message that came back (`how`: "bounced" later by report, "refused" at once by the
    SMTP server) and hand its purpose to a person; `key` makes the follow-up mail's Message-ID."""
    with services.sessions.begin() as session:
        repo.audit(session, services.clock(), "agent", f"{message.kind}_bounced", email_id=email_id,
                   draft_id=message.draft_id, message_id=message.message_id, to=message.recipients,
                   reason=reason, how=how)
    if message.draft_id is None:
        return
    if message.kind == "summary":
        await _hand_to_next_rep(services, key, message.draft_id, message.version, message.recipients, reason)
    elif message.kind == "confirmation":
        await _tell_rep_confirmation_bounced(services, key, message.draft_id, message.recipients, reason)


async def _hand_to_next_rep(services: Services, key: str, draft_id: int, version: int | None,
                            bounced_to: list[str], reason: str) -> None:
    with services.sessions.begin() as session:
        draft = session.get(DraftRecord, draft_id)
        if draft is None or not DraftStatus(draft.status).is_open or draft.version != version \
                or draft.rep not in bounced_to:
            return  # decided, superseded or already with another rep: the bounce changes nothing
        unreachable = set(bounced_to) | repo.bounced_recipients(session, draft_id, kind="summary")
        candidates = [services.settings.default_rep, *services.settings.reps]
        next_rep = next((rep for rep in candidates if rep not in unreachable), None)
        now = services.clock()
        if next_rep is None:
            repo.audit(session, now, "agent", "summary_undeliverable", draft_id=draft_id,
                       email_id=draft.email_id, reps=sorted(unreachable), reason=reason)
            log.error("draft %s: the summary bounced for every rep (%s)", draft_id, ", ".join(sorted(unreachable)))
            return
        previous, draft.rep = draft.rep, next_rep
        repo.audit(session, now, "agent", "reassigned", draft_id=draft_id, email_id=draft.email_id,
                   previous=previous, rep=next_rep, why=f"summary to {', '.join(bounced_to)} bounced: {reason}")
    await mailing.resend_summary(services, draft_id, rep=next_rep, key=key)


async def _tell_rep_confirmation_bounced(services: Services, key: str, draft_id: int,
                                         bounced_to: list[str], reason: str) -> None:
    with services.sessions() as session:
        draft = session.get(DraftRecord, draft_id)
        if draft is None:
            return
        rep, version, customer, erp_order_id = draft.rep, draft.version, draft.customer_name, draft.erp_order_id
    await mailing.send_notice(services, "bounced", to=rep, key=key,
                              draft_id=draft_id, version=version, customer_name=customer,
                              erp_order_id=erp_order_id,
                              reason=f"The order confirmation to {', '.join(bounced_to)} bounced: {reason}")

