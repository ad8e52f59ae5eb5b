"""Render everything the agent sends (rep summary, customer confirmation, rep notices, digest).

View models in, RenderedMail(subject, text, html) out; Jinja2 templates in mail/templates
(HTML autoescaped; table layout with inline styles so Outlook and Gmail render it alike), in the
reader's language through gettext catalogs and Babel's number and date formats (mail.i18n).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape
from pydantic import BaseModel, Field

from mailorder.domain import (
    PICK_LETTERS,
    AttachmentNote,
    Candidate,
    Customer,
    Draft,
    DraftLine,
    Issue,
    IssueCode,
    ParsedEmail,
    TriageLabel,
)
from mailorder.mail import i18n, phrases
from mailorder.mail.i18n import Language
from mailorder.mail.phrases import N_

TEMPLATES = Path(__file__).parent / "templates"
UNKNOWN_CUSTOMER = "Unknown customer"
# the decision words a rep's summary shows, per language (every language's words work for everyone)
DECISION_WORDS: dict[str, tuple[str, str]] = {
    "en": ("APPROVE", "REJECT"),
    "nl": ("AKKOORD", "AFGEWEZEN"),
    "de": ("GENEHMIGT", "ABGELEHNT"),
}
HOLD_WORDS = {"en": "HOLD", "nl": "WACHT", "de": "WARTEN"}


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
    "undeliverable",
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
    language: Language = "en"  # the rep's
    autopost_at: str | None = None  # when the draft posts by itself (rep's time zone), if it does
    attachments: list[AttachmentNote] = Field(default_factory=list)  # the email's order files, read or not
    attached_files: list[str] = Field(default_factory=list)  # the names of those this summary carries


class ConfirmationContext(BaseModel):
    erp_order_id: str
    draft: Draft
    original: ParsedEmail
    agent_address: str
    company_signature: str = "Order desk"
    language: Language | None = None  # None = the language the customer wrote in


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
    language: Language = "en"  # the rep's


@cache
def _env(lang: str) -> Environment:
    """The templates in one language: its gettext catalog and its number and date formats."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        auto_reload=False,  # packaged templates do not change while a process runs
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(i18n.translations(lang), newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(
        eur=lambda amount: i18n.money(amount, lang),
        qty=lambda value: i18n.number(value, lang),
        day=lambda value: i18n.day(value, lang),
        plain_qty=plain_qty,
        nl2br=nl2br,
    )
    env.globals.update(lang=lang)
    return env


def tr(lang: str, message: str) -> str:
    """A message in one language (extracted for the catalogs as tr(lang, "..."))."""
    return i18n.translations(lang).gettext(message)


# ---- formatting helpers ---------------------------------------------------------------------------


def plain_qty(qty: float | None) -> str:
    """Machine-friendly quantity for the edit block: 2.5, 3."""
    if qty is None:
        return "?"
    return f"{qty:.4f}".rstrip("0").rstrip(".")


def confidence_level(confidence: float) -> str:
    return "high" if confidence >= 0.9 else "medium" if confidence >= 0.6 else "low"


def nl2br(text: str | None) -> Markup:
    """Escaped text with <br> line breaks (Outlook ignores white-space:pre-wrap)."""
    lines = (text or "").split("\n")
    return Markup("<br>\n").join(escape(line) for line in lines)


def mailto(address: str, subject: str, body: str) -> str:
    return f"mailto:{address}?subject={quote(subject)}&body={quote(body)}"


# ---- summary ------------------------------------------------------------------------------------


def summary_subject(ctx: SummaryContext) -> str:
    customer = _customer_label(ctx.draft.customer, ctx.language)
    subject = clip(ctx.original.subject, 150) or tr(ctx.language, "(no subject)")
    return f"{ctx.tag} {customer} – {subject}"


def render_summary(ctx: SummaryContext) -> RenderedMail:
    tag, lang = ctx.tag, ctx.language
    approve, reject = DECISION_WORDS.get(lang, DECISION_WORDS["en"])
    view = {
        "c": ctx,
        "tag": tag,
        "customer_label": _customer_label(ctx.draft.customer, lang),
        "lines": [
            _line_view(i, line, lang, ctx.draft.issues) for i, line in enumerate(ctx.draft.lines, start=1)
        ],
        "issues": sorted(ctx.draft.issues, key=lambda issue: not issue.blocking),
        "approve_word": approve,
        "reject_word": reject,
        "hold_word": HOLD_WORDS.get(lang, "HOLD"),
        "approve_link": mailto(ctx.reply_address, f"{approve} {tag}", approve),
        "reject_link": mailto(ctx.reply_address, f"{reject} {tag}", f"{reject} {tr(lang, 'reason')}: "),
        "original_body": _original_body(ctx.original),
        "edit_block": ctx.edit_block,
        "local": lambda text: phrases.localise(text, i18n.translations(lang).gettext),
    }
    env = _env(lang)
    return RenderedMail(
        subject=summary_subject(ctx),
        text=env.get_template("summary.txt").render(**view),
        html=env.get_template("summary.html").render(**view),
    )


def _line_view(
    number: int, line: DraftLine, lang: str = "en", issues: Sequence[Issue] = ()
) -> dict[str, Any]:
    stock, stock_state = _stock_marker(number, line, lang, issues)
    return {
        "n": number,
        "line": line,
        "stock": stock,  # "in stock: 12 rol" / "only 6 rol in stock" / "stock unknown" / ""
        "stock_state": stock_state,  # "ok" | "short" | "unknown" | ""
        "identified": bool(line.sku),
        "level": confidence_level(line.confidence),
        "percent": round(line.confidence * 100),
        "choices": [
            {"pick": f"{number}{PICK_LETTERS[i]}", "sku": c.sku, "name": c.name, "why": _why(c)}
            for i, c in enumerate(line.alternatives())
        ],
        "picks": " / ".join(f"{number}{PICK_LETTERS[i]}" for i in range(len(line.alternatives()))),
    }


def _stock_marker(number: int, line: DraftLine, lang: str, issues: Sequence[Issue]) -> tuple[str, str]:
    """The short stock marker beside a line's quantity, in the line's unit, and its state; ("", "")
    when stock was not asked (no product, or a version made without asking)."""
    if line.available is None:
        unknown = any(i.code == IssueCode.STOCK_UNKNOWN and i.line in (None, number) for i in issues)
        return (tr(lang, "stock unknown"), "unknown") if unknown and line.sku else ("", "")
    if not line.qty or not line.base_qty or line.qty <= 0 or line.base_qty <= 0:
        return "", ""
    in_unit = line.available * line.qty / line.base_qty
    shown = math.floor(in_unit * 100 + 1e-6) / 100 or round(in_unit, 4)  # never overstated
    amount = f"{i18n.number(shown, lang)} {line.unit or ''}".strip()
    short = line.base_qty > line.available + 1e-6 or any(
        i.code == IssueCode.STOCK_SHORT and i.line == number for i in issues
    )
    if not short:
        return tr(lang, "in stock: %(qty)s") % {"qty": amount}, "ok"
    if line.available <= 1e-6:
        return tr(lang, "out of stock"), "short"
    return tr(lang, "only %(qty)s in stock") % {"qty": amount}, "short"


def _why(candidate: Candidate) -> str:
    """Why a candidate fits, in a few words (the extractor's note, else its first reason)."""
    note = getattr(candidate, "note", "") or ""
    return clip(note or (candidate.reasons[0] if candidate.reasons else ""), 80)


# ---- confirmation -------------------------------------------------------------------------------


def render_confirmation(ctx: ConfirmationContext) -> RenderedMail:
    lang = ctx.language or i18n.guess_language(f"{ctx.original.subject}\n{ctx.original.body}")
    view = {"c": ctx, "lines": ctx.draft.lines}
    env = _env(lang)
    return RenderedMail(
        subject=reply_subject(ctx.original.subject, tr(lang, "your order")),
        text=env.get_template("confirmation.txt").render(**view),
        html=env.get_template("confirmation.html").render(**view),
    )


def reply_subject(subject: str, fallback: str = "your order") -> str:
    """ "Re: <subject>" without stacking prefixes (keeps Gmail threading)."""
    subject = subject.strip()
    if re.match(r"^(re|aw|antw|sv)\s*:", subject, re.I):
        return subject
    return f"Re: {subject or fallback}"


# ---- digest -------------------------------------------------------------------------------------


class DigestRow(BaseModel):
    tag: str
    customer: str | None
    total: float
    issues: int
    hours_waiting: float


class FailedEmail(BaseModel):
    sender: str
    received_at: datetime
    reason: str  # ours (too large, unparseable, failed N times), never the email's own text


class DigestContext(BaseModel):
    rows: list[DigestRow]
    day: date
    language: Language = "en"
    failed: list[FailedEmail] = Field(default_factory=list)  # emails nobody else would see
    auto_posted: list[DigestRow] = Field(default_factory=list)  # posted by themselves since the last digest


def render_digest(ctx: DigestContext) -> RenderedMail:
    """A rep's morning list of open drafts."""
    env = _env(ctx.language)
    approve, reject = DECISION_WORDS.get(ctx.language, DECISION_WORDS["en"])
    view = {"c": ctx, "rows": ctx.rows, "approve_word": approve, "reject_word": reject}
    subject = tr(ctx.language, "Your open order drafts (%(n)s) – %(day)s") % {
        "n": len(ctx.rows),
        "day": i18n.day(ctx.day, ctx.language),
    }
    return RenderedMail(
        subject=subject,
        text=env.get_template("digest.txt").render(**view),
        html=env.get_template("digest.html").render(**view),
    )


# ---- notices ------------------------------------------------------------------------------------

_NOTICE_TITLES: dict[str, str] = {
    "not_understood": N_("Reply not understood"),
    "refused": N_("Reply refused"),
    "erp_error": N_("ERP rejected the order"),
    "erp_unavailable": N_("ERP unavailable"),
    "status": N_("Status"),
    "posted": N_("Order posted"),
    "reminder": N_("Reminder: waiting for your decision"),
    "bounced": N_("Customer confirmation bounced"),
    "quiet": N_("Too many replies: pausing answers"),
    "undeliverable": N_("Summary could not be delivered"),
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
    tag, lang = ctx.tag, ctx.language
    title = tr(lang, _NOTICE_TITLES[kind])
    if kind == "posted" and ctx.erp_order_id:
        title = f"{title}: {ctx.erp_order_id}"
    approve, reject = DECISION_WORDS.get(lang, DECISION_WORDS["en"])
    view = {
        "kind": kind,
        "c": ctx,
        "tag": tag,
        "title": title,
        "current_tag": ctx.current_tag,
        "approve_word": approve,
        "reject_word": reject,
    }
    subject = f"{tag} {title}" + (f" – {ctx.original_subject}" if ctx.original_subject else "")
    env = _env(lang)
    return RenderedMail(
        subject=subject,
        text=env.get_template("notice.txt").render(**view),
        html=env.get_template("notice.html").render(**view),
    )


# ---- shared -------------------------------------------------------------------------------------


def _customer_label(customer: Customer | None, lang: str) -> str:
    if customer is None:
        return tr(lang, UNKNOWN_CUSTOMER)
    return customer.company_name or customer.company_id


def _original_body(email: ParsedEmail, limit: int = 20000) -> str:
    body = email.body.strip()
    return body if len(body) <= limit else body[:limit] + "\n[… truncated]"


def clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
