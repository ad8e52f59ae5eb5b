"""Render everything the agent sends (rep summary, customer confirmation, rep notices).

View models in, RenderedMail(subject, text, html) out; Jinja2 templates in mail/templates
(HTML autoescaped; table layout with inline styles so Outlook and Gmail render it alike).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape
from pydantic import BaseModel, Field

from mailorder.domain import PICK_LETTERS, Candidate, Customer, Draft, DraftLine, ParsedEmail, TriageLabel

TEMPLATES = Path(__file__).parent / "templates"
UNKNOWN_CUSTOMER = "Unknown customer"
NoticeKind = Literal[
    "not_understood",
    "refused",
    "erp_error",
    "erp_unavailable",
    "status",
    "posted",
    "reminder",
    "bounced",
    "quiet",
]


class RenderedMail(BaseModel):
    subject: str
    text: str
    html: str = ""


class SummaryContext(BaseModel):
    draft_id: int
    version: int
    tag: str  # the subject tag replies are matched by (agent.review.wire)
    edit_block: str  # the order block a rep may edit in the reply (agent.review.wire)
    draft: Draft
    original: ParsedEmail
    rep: str
    reply_address: str  # the signed plus-address replies go to
    agent_address: str
    changes: list[str] = Field(default_factory=list)  # what changed since the previous version
    triage: TriageLabel | None = None
    customer_hints: list[Customer] = Field(default_factory=list)  # shown when customer unknown


class ConfirmationContext(BaseModel):
    erp_order_id: str
    draft: Draft
    original: ParsedEmail
    agent_address: str
    company_signature: str = "Order desk"
    language: Literal["nl", "en"] | None = None  # None = guess from the original email


class NoticeContext(BaseModel):
    draft_id: int
    version: int
    tag: str  # the draft's subject tag (agent.review.wire)
    rep: str = ""
    original_subject: str = ""
    customer_name: str | None = None
    received_text: str = ""  # what the rep sent (not_understood)
    reason: str = ""  # refused: why; erp_error: the ERP's text; status: state description
    current_version: int | None = None  # refused because outdated → pointer to this version
    current_tag: str | None = None  # that version's subject tag
    reply_address: str | None = None
    erp_order_id: str | None = None
    status: str = ""  # e.g. "waiting for approval", "posted", "rejected"
    attempts: int | None = None  # erp_unavailable: how many tries were made


_ENV = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


# ---- formatting helpers (also registered as template filters) ----------------------------------


def format_eur(amount: float | None) -> str:
    """€ 1.234,56 (European grouping, always 2 decimals)."""
    value = amount or 0.0
    sign = "-" if value < 0 else ""
    whole, cents = f"{abs(value):,.2f}".split(".")
    return f"{sign}€ {whole.replace(',', '.')},{cents}"


def format_qty(qty: float | None) -> str:
    """3 → "3", 2.5 → "2,5", None → "?"."""
    if qty is None:
        return "?"
    text = f"{qty:.4f}".rstrip("0").rstrip(".")
    return text.replace(".", ",")


def plain_qty(qty: float | None) -> str:
    """Machine-friendly quantity for the edit block: 2.5, 3."""
    if qty is None:
        return "?"
    return f"{qty:.4f}".rstrip("0").rstrip(".")


def format_date(value: date | datetime | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M %Z").strip()
    return value.isoformat()


def confidence_level(confidence: float) -> str:
    return "high" if confidence >= 0.9 else "medium" if confidence >= 0.6 else "low"


def nl2br(text: str | None) -> Markup:
    """Escaped text with <br> line breaks (Outlook ignores white-space:pre-wrap)."""
    lines = (text or "").split("\n")
    return Markup("<br>\n").join(escape(line) for line in lines)


def mailto(address: str, subject: str, body: str) -> str:
    return f"mailto:{address}?subject={quote(subject)}&body={quote(body)}"


_ENV.filters.update(
    eur=format_eur, qty=format_qty, plain_qty=plain_qty, day=format_date, level=confidence_level, nl2br=nl2br
)


# ---- summary ------------------------------------------------------------------------------------


def summary_subject(ctx: SummaryContext) -> str:
    customer = _customer_label(ctx.draft.customer)
    subject = clip(ctx.original.subject, 150) or "(no subject)"
    return f"{ctx.tag} {customer} – {subject}"


def render_summary(ctx: SummaryContext) -> RenderedMail:
    tag = ctx.tag
    view = {
        "c": ctx,
        "tag": tag,
        "customer_label": _customer_label(ctx.draft.customer),
        "lines": [_line_view(i, line) for i, line in enumerate(ctx.draft.lines, start=1)],
        "issues": sorted(ctx.draft.issues, key=lambda issue: not issue.blocking),
        "approve_link": mailto(ctx.reply_address, f"APPROVE {tag}", "APPROVE"),
        "reject_link": mailto(ctx.reply_address, f"REJECT {tag}", "REJECT reason: "),
        "original_body": _original_body(ctx.original),
        "edit_block": ctx.edit_block,
    }
    return RenderedMail(
        subject=summary_subject(ctx),
        text=_ENV.get_template("summary.txt").render(**view),
        html=_ENV.get_template("summary.html").render(**view),
    )


def _line_view(number: int, line: DraftLine) -> dict[str, Any]:
    return {
        "n": number,
        "line": line,
        "identified": bool(line.sku),
        "level": confidence_level(line.confidence),
        "percent": round(line.confidence * 100),
        "choices": [
            {"pick": f"{number}{PICK_LETTERS[i]}", "sku": c.sku, "name": c.name, "why": _why(c)}
            for i, c in enumerate(line.alternatives())
        ],
    }


def _why(candidate: Candidate) -> str:
    """Why a candidate fits, in a few words (the extractor's note, else its first reason)."""
    note = getattr(candidate, "note", "") or ""
    return clip(note or (candidate.reasons[0] if candidate.reasons else ""), 80)


# ---- confirmation -------------------------------------------------------------------------------


def render_confirmation(ctx: ConfirmationContext) -> RenderedMail:
    language = ctx.language or guess_language(ctx.original)
    view = {"c": ctx, "nl": language == "nl", "lines": ctx.draft.lines}
    return RenderedMail(
        subject=reply_subject(ctx.original.subject),
        text=_ENV.get_template("confirmation.txt").render(**view),
        html=_ENV.get_template("confirmation.html").render(**view),
    )


def reply_subject(subject: str) -> str:
    """ "Re: <subject>" without stacking prefixes (keeps Gmail threading)."""
    subject = subject.strip()
    if re.match(r"^(re|aw|antw|sv)\s*:", subject, re.I):
        return subject
    return f"Re: {subject}" if subject else "Re: your order"


_DUTCH_WORDS = {
    "de",
    "het",
    "een",
    "en",
    "van",
    "graag",
    "bestelling",
    "bestellen",
    "met",
    "vriendelijke",
    "groet",
    "groeten",
    "wij",
    "ons",
    "willen",
    "voor",
    "levering",
    "alvast",
    "bedankt",
    "dank",
    "stuks",
    "rollen",
    "zijn",
    "ik",
    "je",
    "u",
    "op",
    "te",
    "niet",
    "wil",
    "hierbij",
    "goedemorgen",
    "goedemiddag",
    "beste",
}
_ENGLISH_WORDS = {
    "the",
    "and",
    "please",
    "order",
    "of",
    "we",
    "would",
    "like",
    "for",
    "to",
    "regards",
    "thanks",
    "thank",
    "you",
    "kind",
    "best",
    "our",
    "with",
    "is",
}


def guess_language(email: ParsedEmail) -> Literal["nl", "en"]:
    """Dutch when the email reads Dutch (stop-word count), else English."""
    words = re.findall(r"[a-zà-ÿ]+", f"{email.subject}\n{email.body}"[:5000].lower())
    dutch = sum(word in _DUTCH_WORDS for word in words)
    english = sum(word in _ENGLISH_WORDS for word in words)
    return "nl" if dutch > english else "en"


# ---- notices ------------------------------------------------------------------------------------

_NOTICE_TITLES: dict[str, str] = {
    "not_understood": "Reply not understood",
    "refused": "Reply refused",
    "erp_error": "ERP rejected the order",
    "erp_unavailable": "ERP unavailable",
    "status": "Status",
    "posted": "Order posted",
    "reminder": "Reminder: waiting for your decision",
    "bounced": "Customer confirmation bounced",
    "quiet": "Too many replies: pausing answers",
}


REFUSAL_REASONS: dict[str, str] = {
    "outdated version": "this summary is not the current version of the draft",
    "malformed": "the reply address was changed or damaged, so the reply could not be verified",
    "bad signature": "the reply could not be verified (invalid reply token)",
    "expired": "the reply link has expired; ask for STATUS to get a fresh summary",
    "wrong rep": "this draft is assigned to another sales rep",
    "not allowed": "your address is not on the list of allowed sales reps",
    "closed": "the draft is already closed",
}


def refusal_reason(code: str) -> str:
    """Human text for a refusal code (InvalidToken.reason or the agent's own codes)."""
    return REFUSAL_REASONS.get(code, code)


def render_notice(kind: NoticeKind, ctx: NoticeContext) -> RenderedMail:
    if kind not in _NOTICE_TITLES:
        raise ValueError(f"unknown notice kind {kind!r}")
    tag = ctx.tag
    title = _NOTICE_TITLES[kind]
    if kind == "posted" and ctx.erp_order_id:
        title = f"{title}: {ctx.erp_order_id}"
    view = {"kind": kind, "c": ctx, "tag": tag, "title": title, "current_tag": ctx.current_tag}
    subject = f"{tag} {title}" + (f" – {ctx.original_subject}" if ctx.original_subject else "")
    return RenderedMail(
        subject=subject,
        text=_ENV.get_template("notice.txt").render(**view),
        html=_ENV.get_template("notice.html").render(**view),
    )


# ---- shared -------------------------------------------------------------------------------------


def _customer_label(customer: Customer | None) -> str:
    if customer is None:
        return UNKNOWN_CUSTOMER
    return customer.company_name or customer.company_id


def _original_body(email: ParsedEmail, limit: int = 20000) -> str:
    body = email.body.strip()
    return body if len(body) <= limit else body[:limit] + "\n[… truncated]"


def clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
