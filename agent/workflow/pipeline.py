"""The production pipeline, one function per graph node: triage -> extract -> draft.

`serve` (LangGraph nodes) and `eval` both call these, so what is measured is what runs.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from pydantic import BaseModel

from mailorder.agent.extract import attachments
from mailorder.agent.extract.classify import triage
from mailorder.agent.extract.rules import extract_rules
from mailorder.domain import (
    CustomerMatch,
    Draft,
    Extraction,
    Issue,
    IssueCode,
    OrderDigest,
    ParsedEmail,
    Triage,
    TriageLabel,
)
from mailorder.mail.clean import CleanBody, clean_order_body
from mailorder.tools.history import PastOrder, refers_to_history
from mailorder.tools.toolbox import Toolbox, serving_customer

log = logging.getLogger(__name__)

LlmExtractor = Callable[[ParsedEmail, CleanBody, Toolbox], Awaitable[Extraction]]

MAX_BODY_LINES = 2000  # lines of an email read for an order; a longer one is cut (and cannot post)
MAX_DRAFT_LINES = 200  # order lines in one draft; beyond that the draft names the rest (and cannot post)
_CUT = "long email: only the first {kept} of {total} lines were read"


class Analysis(BaseModel):
    triage: Triage
    customer: CustomerMatch
    extraction: Extraction | None = None
    draft: Draft | None = None
    body: CleanBody


def bounded(email: ParsedEmail, max_lines: int = MAX_BODY_LINES) -> ParsedEmail:
    """The email as the pipeline reads it: at most `max_lines` lines of each body version (a
    60,000-line email must not take minutes and gigabytes); the cut is noted as a defect."""
    total = max(email.text.count("\n"), email.html_text.count("\n")) + 1
    if total <= max_lines:
        return email
    return email.model_copy(
        update={
            "text": "\n".join(email.text.split("\n", max_lines)[:max_lines]),
            "html_text": "\n".join(email.html_text.split("\n", max_lines)[:max_lines]),
            "html": "",
            "defects": [*email.defects, _CUT.format(kept=max_lines, total=total)],
        }
    )


def triage_email(email: ParsedEmail) -> tuple[Triage, CleanBody]:
    email = bounded(email)
    body = clean_order_body(email)
    # the order files are read only when the email's words leave open whether it is an order
    return triage(email, body, lambda: attachments.attachment_order_text(email)), body


async def extract_order(
    email: ParsedEmail,
    body: CleanBody,
    toolbox: Toolbox,
    now: datetime,
    llm_extractor: LlmExtractor | None = None,
    customer_id: str | None = None,
) -> Extraction:
    """The model extractor when configured; on any failure the rules, with a note saying so. The
    order files attached to the email (PDF, Excel, CSV, Word, scans) are read by the rules, each
    line keeping its source ("PO-7781.pdf p1 r2: ..."); a PO number in a file is the reference."""
    email = bounded(email)
    received = email.date or now
    if customer_id is None and getattr(toolbox, "customer_aliases", None) and attachments.order_files(email):
        match = await toolbox.customer_lookup(email.sender, body.new_text)
        customer_id = match.customer.company_id if match.customer else None
    extraction = await _extract_body(email, body, toolbox, received, llm_extractor, customer_id)
    try:
        readings = await attachments.read_attachments_async(email)
        if not readings:
            return extraction
        found = attachments.extract_attachments(
            email, readings, toolbox, received=received, customer_id=customer_id
        )
        return attachments.merge_extractions(extraction, found)
    except Exception as exc:  # noqa: BLE001 - the email's own lines still make a draft
        log.warning("order files of %s not read: %r", email.message_id, exc)
        extraction.notes.append(f"review: the attached order files could not be read ({type(exc).__name__})")
        return extraction


async def _extract_body(
    email: ParsedEmail,
    body: CleanBody,
    toolbox: Toolbox,
    received: datetime,
    llm_extractor: LlmExtractor | None,
    customer_id: str | None,
) -> Extraction:
    wants_history = refers_to_history(getattr(body, "new_text", "") or body.text)
    if customer_id is None and (wants_history or getattr(toolbox, "customer_aliases", None)):
        # learned aliases and the order history need the customer
        match = await toolbox.customer_lookup(email.sender, body.new_text)
        customer_id = match.customer.company_id if match.customer else None
    if llm_extractor is not None:
        try:
            with serving_customer(customer_id):  # the model's catalog lookups use this customer's aliases
                return await llm_extractor(email, body, toolbox)
        except Exception as exc:  # noqa: BLE001 - the model is optional; the order still gets a draft
            log.warning("model extraction failed for %s, using rules: %s", email.message_id, exc)
            history = await _history(toolbox, customer_id, wants_history)
            extraction = extract_rules(
                email, body, toolbox, received=received, customer_id=customer_id, history=history
            )
            extraction.notes.append(f"model extraction failed ({type(exc).__name__}); fell back to rules")
            extraction.method = "rules (model failed)"
            return extraction
    history = await _history(toolbox, customer_id, wants_history)
    return extract_rules(email, body, toolbox, received=received, customer_id=customer_id, history=history)


async def _history(toolbox: Toolbox, customer_id: str | None, wanted: bool) -> list[PastOrder]:
    """The customer's recent orders, only when the email refers to an earlier order."""
    if not wanted or not customer_id or not hasattr(toolbox, "order_history"):
        return []
    try:
        return await toolbox.order_history(customer_id, limit=3)
    except Exception as exc:  # noqa: BLE001 - without history the rules still read the email
        log.warning("order history for %s not available: %s", customer_id, exc)
        return []


async def build_draft(
    email: ParsedEmail,
    extraction: Extraction,
    toolbox: Toolbox,
    *,
    customer: CustomerMatch | None = None,
    recent_orders: Sequence[Draft | OrderDigest] = (),
) -> Draft:
    if customer is None:
        customer = await toolbox.customer_lookup(email.sender, email.body)
    found = len(extraction.lines)
    if found > MAX_DRAFT_LINES:
        extraction = extraction.model_copy(update={"lines": extraction.lines[:MAX_DRAFT_LINES]})
    draft = toolbox.draft_order(extraction, customer, recent_orders=recent_orders)
    draft.issues.extend(_size_issues(bounded(email), found))
    try:
        readings = await attachments.read_attachments_async(email)
        if readings:  # what became of each order file: read (how many lines), or not and why
            draft.attachments, issues = attachments.attachment_report(
                readings, [line.source_text for line in draft.lines]
            )
            draft.issues.extend(issues)
    except Exception as exc:  # noqa: BLE001 - the draft stands; the rep is told to look
        log.warning("order files of %s not reported: %r", email.message_id, exc)
        draft.issues.append(
            Issue(
                code=IssueCode.ATTACHMENT_PROBLEM,
                message="the attached order files could not be checked: please check the original",
                blocking=not draft.lines,
            )
        )
    draft = await toolbox.check_stock(draft)  # after pricing: availability per line, notes never block
    return draft


def _size_issues(email: ParsedEmail, lines_found: int) -> list[Issue]:
    """Blocking issues for an email larger than one draft: the rep books it by hand or splits it."""
    issues = []
    cut = next((d for d in email.defects if d.startswith("long email")), None)
    if cut:
        issues.append(Issue(code=IssueCode.TOO_LONG, message=f"{cut}; check the original before posting"))
    if lines_found > MAX_DRAFT_LINES:
        issues.append(
            Issue(
                code=IssueCode.TOO_LONG,
                message=(
                    f"the email lists {lines_found} order lines; only the first {MAX_DRAFT_LINES} are in "
                    "this draft: split the order or book it in the ERP directly"
                ),
            )
        )
    return issues


async def analyse_email(
    email: ParsedEmail, toolbox: Toolbox, *, now: datetime, llm_extractor: LlmExtractor | None = None
) -> Analysis:
    label, body = triage_email(email)
    customer = await toolbox.customer_lookup(email.sender, body.new_text)
    if label.label != TriageLabel.ORDER:
        return Analysis(triage=label, customer=customer, body=body)
    extraction = await extract_order(
        email,
        body,
        toolbox,
        now,
        llm_extractor,
        customer_id=customer.customer.company_id if customer.customer else None,
    )
    draft = await build_draft(email, extraction, toolbox, customer=customer)
    return Analysis(triage=label, customer=customer, extraction=extraction, draft=draft, body=body)
