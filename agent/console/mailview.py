"""The customer's original email as the console shows it: inert, whatever it holds.

The stored bytes are split into their text and HTML parts with the standard library only (no
HTML-to-text rendering: a hostile 5 MB HTML part must not cost seconds); a message nested deeper
than the parser can follow is shown as its raw text, escaped. The HTML is clipped,
then sanitised with nh3 (ammonia): no scripts, styles, event handlers, forms, frames or images
(each blocked image is counted instead), links only to http(s) and mailto with
rel="noopener noreferrer nofollow". The page's Content-Security-Policy blocks scripts, inline
styles and remote images besides, should anything get through."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message

import nh3
from markupsafe import Markup

MAX_HTML = 300_000  # characters of HTML sanitised and shown
MAX_TEXT = 100_000  # characters of the text part shown
MAX_MULTIPARTS = 100  # more nested multiparts than this: shown as raw text (the parser recurses)
_MULTIPART = re.compile(rb"multipart/", re.IGNORECASE)
_IMG = re.compile(r"<img\b", re.IGNORECASE)
_BACKGROUND = re.compile(r"\bbackground(?:-image)?\s*[:=]", re.IGNORECASE)
_TAGS = (nh3.ALLOWED_TAGS - {"img", "map", "area"}) | {"font"}
_ATTRIBUTES = {
    "a": {"href", "title"},
    "td": {"colspan", "rowspan", "align", "valign"},
    "th": {"colspan", "rowspan", "align", "valign"},
    "table": {"summary"},
    "ol": {"start"},
}
_CLEAN_CONTENT = {
    "script",
    "style",
    "title",
    "head",
    "noscript",
    "template",
    "iframe",
    "object",
    "svg",
    "math",
}


@dataclass
class OriginalEmail:
    text: str = ""
    html: Markup = field(default_factory=Markup)
    html_clipped: bool = False
    text_clipped: bool = False
    blocked_images: int = 0
    attachments: list[str] = field(default_factory=list)
    size: int = 0
    unreadable: bool = False  # its structure could not be read: `text` is the raw message


def sanitise_html(html: str) -> tuple[Markup, bool, int]:
    """(safe HTML, clipped, number of blocked images or backgrounds)."""
    clipped = len(html) > MAX_HTML
    part = html[:MAX_HTML]
    blocked = len(_IMG.findall(part)) + len(_BACKGROUND.findall(part))
    cleaned = nh3.clean(
        part,
        tags=_TAGS,
        clean_content_tags=_CLEAN_CONTENT,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    return Markup(cleaned), clipped, blocked  # nh3's output: the sanitised markup


def original_email(raw: bytes) -> OriginalEmail:
    """The text and sanitised HTML of stored bytes; never raises."""
    view = OriginalEmail(size=len(raw))
    if len(_MULTIPART.findall(raw, 0, 2_000_000)) > MAX_MULTIPARTS:
        return _raw_text(view, raw)
    try:
        message = message_from_bytes(raw, policy=policy.compat32)
        parts = _parts(message)
    except Exception:  # noqa: BLE001 - anything unreadable is shown as raw text, never as an error page
        return _raw_text(view, raw)
    text, html = "", ""
    for part in parts:
        kind = part.get_content_type()
        attached = part.get_content_disposition() == "attachment"
        if attached or kind not in ("text/plain", "text/html"):
            if not part.is_multipart():
                view.attachments.append(str(part.get_filename() or kind)[:200])
            continue
        content = _content(part)
        if kind == "text/plain" and not text:
            text = content
        elif kind == "text/html" and not html:
            html = content
    view.text_clipped = len(text) > MAX_TEXT
    view.text = text[:MAX_TEXT]
    if html:
        view.html, view.html_clipped, view.blocked_images = sanitise_html(html)
    return view


def _raw_text(view: OriginalEmail, raw: bytes) -> OriginalEmail:
    view.unreadable = True
    view.text_clipped = len(raw) > MAX_TEXT
    view.text = raw[:MAX_TEXT].decode("utf-8", errors="replace")
    return view


def _parts(message: Message, limit: int = 200) -> list[Message]:
    parts: list[Message] = []
    for part in message.walk():
        if len(parts) >= limit:
            break
        if not part.is_multipart():
            parts.append(part)
    return parts


def _content(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    try:
        return payload.decode(part.get_content_charset() or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        return payload.decode("utf-8", errors="replace")
