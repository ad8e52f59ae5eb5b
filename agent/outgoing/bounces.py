"""Bounces of the agent's own mail. A delivery report is never answered, but when it returns one
of our messages the draft must not wait silently:

- a summary that bounced: the draft goes to the next allowed rep whose address has not bounced
  for it, with a fresh summary (no rep left: audited as undeliverable, visible in `orders show`);
- a customer confirmation that bounced: the draft's rep gets a notice to contact the customer;
- a notice that bounced: audited only (notices about notices could loop).

Only a real bounce is believed: a multipart/report of type delivery-status, sent with a null
return path, whose machine-readable part says "failed" with a 5.x.x status for a recipient our
returned message was sent to. Read receipts, delay and success reports, and anything else that
merely quotes our Message-IDs are audited and otherwise ignored. The returned message is
recognised by our Message-IDs in the report (the returned headers), else by the summary's subject
tag [MO-n vN]. Notices name the recipient and the status code only: a report's free text is never
copied into mail to a rep. A message the SMTP server refuses outright for every
recipient (5xx at RCPT) is handled the same way, at once (agent.outgoing.outbox).

This module decides and records (reassignment, audit); agent.outgoing.mailing sends what follows.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from mailorder.agent.inbox.screening import is_our_message_id
from mailorder.agent.outgoing.outbox import Returned
from mailorder.agent.review.wire import find_tags_in_raw
from mailorder.agent.workflow.context import Services
from mailorder.mail.reports import Report
from mailorder.store import repo
from mailorder.store.models import DraftStatus

log = logging.getLogger(__name__)

_MESSAGE_ID = re.compile(rb"<mo\.[^<>\s@]{1,200}@[^<>\s]{1,200}>", re.I)


def returned_message_ids(raw: bytes, agent_address: str) -> list[str]:
    """Our Message-IDs quoted in a bounce, in order of appearance (pure)."""
    found: list[str] = []
    for match in _MESSAGE_ID.findall(raw):
        message_id = match.decode("ascii", "replace").lower()
        if is_our_message_id(message_id, agent_address) and message_id not in found:
            found.append(message_id)
    return found


def bounce_verdict(report: Report) -> str | None:
    """Why a report is not believed as a bounce of our mail, or None when it is (pure)."""
    if not report.is_dsn:
        kind = report.kind()
        return f"not a delivery failure report ({'read receipt' if kind == 'read_receipt' else 'no DSN'})"
    if not report.failed_recipients:
        return f"delivery status report without a permanent failure ({report.kind()})"
    if not report.null_return_path:
        return "a bounce must come with a null return path (Return-Path: <>)"
    return None


def bounce_reason(report: Report) -> str:
    """The status codes and addresses of the failed recipients, nothing else (pure)."""
    return "; ".join(f"status {r.status} for {r.final_recipient}" for r in report.failed_recipients)


def matching(returned: list[Returned], report: Report) -> list[Returned]:
    """The returned messages sent to a recipient the report says failed (pure)."""
    failed = {r.final_recipient for r in report.failed_recipients}
    failed |= {r.original_recipient for r in report.failed_recipients if r.original_recipient}
    return [message for message in returned if failed & {a.lower() for a in message.recipients}]


def returned_messages(services: Services, raw: bytes) -> list[Returned]:
    """Our messages a delivery report returns (by Message-ID, else by summary tag)."""
    with services.sessions() as session:
        rows = repo.outbox_by_message_ids(session, returned_message_ids(raw, services.agent_address))
        if not rows:
            rows = [
                row
                for draft_id, version in find_tags_in_raw(raw)
                for row in repo.outbox_for_draft(session, draft_id, kind="summary", version=version)
            ]
        return [
            Returned(row.kind, row.draft_id, row.version, list(row.recipients), row.message_id)
            for row in rows
        ]


@dataclass(frozen=True)
class ResendSummary:
    """The summary goes again, to the next reachable rep."""

    draft_id: int
    rep: str


@dataclass(frozen=True)
class TellRep:
    """The draft's rep is told that a confirmation did not reach the customer."""

    draft_id: int
    version: int
    rep: str
    customer_name: str | None
    erp_order_id: str | None
    reason: str


@dataclass(frozen=True)
class SummaryUndeliverable:
    """No rep could receive the summary: the default rep gets a short note instead (a summary too
    large for the mail server still leaves room for a few lines)."""

    draft_id: int
    version: int
    rep: str
    reason: str


FollowUp = ResendSummary | TellRep | SummaryUndeliverable


def record_return(
    services: Services, message: Returned, *, reason: str, email_id: int | None, how: str
) -> FollowUp | None:
    """Audit a message that came back (`how`: "bounced" later by report, "refused" at once by the
    SMTP server) and decide who takes over its purpose (a reassignment is stored here)."""
    with services.sessions.begin() as session:
        repo.audit(
            session,
            services.clock(),
            "agent",
            f"{message.kind}_bounced",
            email_id=email_id,
            draft_id=message.draft_id,
            message_id=message.message_id,
            to=message.recipients,
            reason=reason,
            how=how,
        )
    if message.draft_id is None:
        return None
    if message.kind == "summary":
        return _next_rep(services, message.draft_id, message.version, message.recipients, reason)
    if message.kind == "confirmation":
        with services.sessions() as session:
            draft = repo.get_draft(session, message.draft_id)
            if draft is None:
                return None
            return TellRep(
                draft.id,
                draft.version,
                draft.rep,
                draft.customer_name,
                draft.erp_order_id,
                f"The order confirmation to {', '.join(message.recipients)} bounced: {reason}",
            )
    return None


def _next_rep(
    services: Services, draft_id: int, version: int | None, bounced_to: list[str], reason: str
) -> ResendSummary | SummaryUndeliverable | None:
    with services.sessions.begin() as session:
        draft = repo.get_draft(session, draft_id)
        if (
            draft is None
            or not DraftStatus(draft.status).is_open
            or draft.version != version
            or draft.rep not in bounced_to
        ):
            return None  # decided, superseded or already with another rep: the bounce changes nothing
        unreachable = set(bounced_to) | repo.bounced_recipients(session, draft_id, kind="summary")
        candidates = [services.settings.default_rep, *services.settings.reps]
        next_rep = next((rep for rep in candidates if rep not in unreachable), None)
        now = services.clock()
        if next_rep is None:
            repo.audit(
                session,
                now,
                "agent",
                "summary_undeliverable",
                draft_id=draft_id,
                email_id=draft.email_id,
                reps=sorted(unreachable),
                reason=reason,
            )
            log.error(
                "draft %s: the summary bounced for every rep (%s)", draft_id, ", ".join(sorted(unreachable))
            )
            return SummaryUndeliverable(draft_id, draft.version, services.settings.default_rep, reason)
        previous, draft.rep = draft.rep, next_rep
        repo.audit(
            session,
            now,
            "agent",
            "reassigned",
            draft_id=draft_id,
            email_id=draft.email_id,
            previous=previous,
            rep=next_rep,
            why=f"summary to {', '.join(bounced_to)} bounced: {reason}",
        )
    return ResendSummary(draft_id, next_rep)
