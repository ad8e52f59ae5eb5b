"""Earned autonomy at run time: plan a routine draft's automatic post when it is drafted, announce
it in the summary, and post it when its veto window (working time) passes, unless the rep replied
HOLD, edited or decided first. The policy itself is agent.review.autopost_policy (pure).

Posting when the window passes is agent.review.autopost_due (it runs the workflow). Every step
is audited (autopost_scheduled, autopost_declined, autopost_held, auto_posted) with the policy
settings and the reasons.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from datetime import UTC, datetime

from mailorder.agent.review.autopost_policy import History, Policy, Verdict, evaluate
from mailorder.agent.workflow.context import Services
from mailorder.domain import AutopostNote, Draft, ParsedEmail
from mailorder.mail.clean import clean_order_body
from mailorder.store import autopost as plans
from mailorder.store import repo
from mailorder.store.autopost import PlanStatus
from mailorder.store.models import DraftStatus

log = logging.getLogger(__name__)

AUTOPOST_ACTOR = "autopost"  # the "rep" of an automatic decision, in the audit trail
# lines of a customer's own text that carry no instruction: greetings, order phrases, closings
_HARMLESS = re.compile(
    r"^(?:(?:goede(?:morgen|middag)|hallo|hoi|beste|dear|hello|hi|guten (?:morgen|tag)|sehr geehrte)\b.*"
    r"|(?:graag|hierbij|bitte|please|kindly|wij|we|ik|i)\b.{0,50}"
    r"(?:bestel\w*|order\w*|bestell\w*|leveren|liefern|send\w*|nodig|need)\b.{0,20}"
    r"|(?:met )?(?:vriendelijke )?groet(?:en|jes)?\b.*|m\.?v\.?g\.?\b.*|(?:kind |best |warm )?regards\b.*"
    r"|mit freundlichen grüßen\b.*|viele grüße\b.*"
    r"|(?:alvast )?(?:bedankt|dank ?je(?: wel)?|thanks|thank you|danke)\b.*"
    r"|[A-ZÀ-Ý][\w'.-]*(?: [A-ZÀ-Ý][\w'.-]*){0,3})[\s.,:!]*$",
    re.I,
)


def policy_of(services: Services) -> Policy:
    """The settings, with the switches an admin set per customer in the store."""
    settings = services.settings
    with services.sessions() as session:
        switches = plans.customer_switches(session)
    return Policy(
        enabled=settings.autopost == "on",
        customers=frozenset(settings.autopost_customers) | {c for c, on in switches.items() if on},
        excluded=frozenset(c for c, on in switches.items() if not on),
        min_history=settings.autopost_min_history,
        max_total=settings.autopost_max_total,
        window_seconds=settings.autopost_window_seconds,
    )


def history_of(services: Services, company_id: str, policy: Policy) -> History:
    """The customer's record: its latest decided drafts, newest first."""
    with services.sessions() as session:
        decided = plans.customer_history(session, company_id)
        troubled = plans.troubled_plans(session, company_id, last=max(policy.min_history, 1))
    clean = 0
    for draft, _payload in decided:  # the streak of approvals without any edit
        if draft.status == DraftStatus.REJECTED or draft.version > 1:
            break
        clean += 1
    recent = decided[: max(policy.min_history, 1)]
    corrected = troubled > 0 or any(d.version > 1 for d, _ in recent)
    largest: dict[str, float] = {}
    for draft, payload in decided:
        if draft.status == DraftStatus.REJECTED:
            continue
        for line in payload.get("lines", []):
            sku, base = line.get("sku"), line.get("base_qty")
            if sku and base is not None:
                largest[sku] = max(largest.get(sku, 0.0), float(base))
    return History(clean_approvals=clean, corrected_recently=corrected, largest_base_qty=largest)


def unread_text(email: ParsedEmail, draft: Draft) -> list[str]:
    """Lines of the customer's new text that no order line came from and that are not greetings,
    order phrases, closings or names: an instruction the rules did not understand."""
    body = clean_order_body(email)
    taken = " ".join(line.source_text.lower() for line in draft.lines)
    unread = []
    for raw in body.new_text.splitlines():
        line = raw.strip()
        if not line or line.lower() in taken or _HARMLESS.match(line):
            continue
        unread.append(line)
    return unread


def unread_attachments(email: ParsedEmail, draft: Draft) -> list[str]:
    """Order files (PDF, Excel, CSV, Word, attached images) the draft took no order lines from,
    and files no reader handles: either may hold what the rep must see. Inline images (logos)
    and calendar invites are not counted."""
    taken = {note.filename for note in draft.attachments if note.read and note.lines and not note.problem}
    unread = []
    for a in email.attachments:
        name = a.filename or a.content_type
        if a.order_source and name not in taken:
            unread.append(name)
        elif not a.order_source and not a.content_type.startswith(("image/", "text/calendar")):
            unread.append(name)  # a file no reader handles (zip, txt, a forwarded message)
    return unread


def judge(services: Services, email: ParsedEmail, draft: Draft) -> tuple[Verdict, Policy] | None:
    """The policy's verdict on a new draft; None when automatic posting is off for its customer."""
    if services.settings.autopost != "on":
        return None  # off for everyone: no need to read the per-customer switches
    policy = policy_of(services)
    customer = draft.customer
    if customer is None or not policy.covers(customer.company_id):
        return None
    learned = {
        text: value[0]
        for text, value in services.toolbox.customer_aliases.get(customer.company_id, {}).items()
    }
    verdict = evaluate(
        draft,
        policy=policy,
        history=history_of(services, customer.company_id, policy),
        unread_text=unread_text(email, draft),
        unread_attachments=unread_attachments(email, draft),
        learned_skus=learned,
    )
    return verdict, policy


def announce(services: Services, draft: Draft, verdict: Verdict, policy: Policy) -> Draft:
    """The draft with its automatic post announced (due at the end of the window, working time)."""
    due = services.settings.working_hours.add(services.clock(), policy.window_seconds)
    return draft.model_copy(
        update={"autopost": AutopostNote(due_at=due.astimezone(UTC), reasons=verdict.reasons)}
    )


def policy_record(policy: Policy) -> dict[str, object]:
    """The policy settings as the audit keeps them."""
    record = dataclasses.asdict(policy)
    record["customers"] = sorted(policy.customers)
    record["excluded"] = sorted(policy.excluded)
    return record


def hold(services: Services, draft_id: int, rep: str, email_id: int) -> bool:
    """The rep replied HOLD: the draft's plan never posts; True when a plan was waiting."""
    now = services.clock()
    with services.sessions.begin() as session:
        held = plans.settle_plan(session, draft_id, naive(now), PlanStatus.HELD)
        if held:
            repo.audit(session, now, rep, "autopost_held", draft_id=draft_id, email_id=email_id)
    return held


def corrected_after_post(services: Services, draft_id: int, rep: str, email_id: int) -> bool:
    """A rejection or an edit for a draft that already posted by itself: the automatic post was
    wrong, so it is counted and the customer's autonomy stops until earned again. True when the
    draft had posted by itself."""
    now = services.clock()
    with services.sessions.begin() as session:
        corrected = plans.mark_corrected(session, draft_id, naive(now))
        if corrected:
            repo.audit(session, now, rep, "autopost_corrected", draft_id=draft_id, email_id=email_id)
    return corrected


def naive(moment: datetime) -> datetime:
    """A moment as the store keeps it: naive UTC."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo is not None else moment
