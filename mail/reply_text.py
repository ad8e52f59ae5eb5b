"""What a rep wrote in a reply, and what it decides. Pure functions.

reply_new_text() keeps only the rep's own words: the HTML is cut at the mail client's quote
container (Outlook divRplyFwdMsg / border-top header block, Gmail gmail_quote, Apple
blockquote type=cite, …); plain text is cut at attribution lines ("On … wrote:", "Op … schreef"),
Outlook header blocks (From:/Sent: or Van:/Verzonden:), separators and "> " quotes.
Bottom-posted replies keep the unquoted text below the quote. Mobile signatures are dropped.

parse_decision() reads the first meaningful line of that text (or an Outlook voting subject).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from bs4 import BeautifulSoup
from bs4.element import Tag

from mailorder.domain import ParsedEmail
from mailorder.mail.html import render_node

DecisionKind = Literal["approve", "reject", "status", "unknown"]


@dataclass(frozen=True)
class Decision:
    kind: DecisionKind
    reason: str | None = None
    text: str = ""  # the new text not consumed by the command (for edit commands later)
    source: str = field(default="body")  # "body" | "subject" | "none"


# ---- patterns --------------------------------------------------------------------------------

_ATTRIBUTION_START = re.compile(r"^\s*>?\s*(on|op|am|le|el|il|den|em)\s\S", re.I)
_ATTRIBUTION_END = re.compile(
    r"(wrote|schreef|schrieb|a écrit|escribió|ha scritto|skrev|escreveu|het volgende geschreven)"
    r"\b[^\n]{0,120}:\s*$",
    re.I,
)
_SEPARATORS = re.compile(
    r"^\s*(-{2,}\s*(original message|oorspronkelijk bericht|urspr[üu]ngliche nachricht|"
    r"message d'origine|forwarded message|doorgestuurd bericht)\s*-{2,}|_{10,}|"
    r"begin forwarded message:|begin doorgestuurd bericht:)\s*$",
    re.I,
)
_HEADER_FROM = re.compile(r"^\s*\*?(from|van|de|von|da|från)\s*:\*?\s*\S", re.I)
_HEADER_OTHER = re.compile(
    r"^\s*\*?(sent|date|verzonden|datum|to|aan|subject|onderwerp|gesendet|an|betreff|envoyé|"
    r"à|objet|cc)\s*:\*?",
    re.I,
)
_MOBILE_SIGNATURE = re.compile(
    r"^\s*(sent from (my )?\S.*|verzonden (vanaf|met|via) (mijn )?\S.*|verstuurd (vanaf|met|via) "
    r"(mijn )?\S.*|get outlook for (ios|android)\S*|download outlook for (ios|android)\S*|"
    r"gesendet von meinem \S.*|envoyé de mon \S.*)\s*$",
    re.I,
)
_SIGNATURE_DELIMITER = re.compile(r"^(--|-- |__)\s*$")
_CLOSING = re.compile(
    r"^\s*(met vriendelijke groet(en)?|vriendelijke groet(en)?|hartelijke groet(en)?|groet(en|jes)?|"
    r"gr\.?|m\.?v\.?g\.?|vr\.?\s?gr\.?|kind regards|best regards|warm regards|regards|best|"
    r"cheers|thanks|thank you|bedankt|dank je( wel)?|alvast bedankt)"
    r"\s*([,.!]+\s*([\w.'-]+(\s+[\w.'-]+){0,2})?)?\s*$",
    re.I,
)
_SALUTATION = re.compile(
    r"^\s*(hi|hello|hey|hoi|hallo|beste|dear|goedemorgen|goedemiddag|goedenavond|"
    r"good morning|good afternoon|morning)\b[^.!?:]{0,30}[,!]?\s*$",
    re.I,
)

_LEAD = r"^[\s*_\"'`>]*"
_APPROVE = re.compile(_LEAD + r"(approved?|goedgekeurd|goedkeuren|akkoord)\b(?P<rest>.*)$", re.I)
_REJECT = re.compile(
    _LEAD + r"(reject(ed)?|afgewezen|afkeuren|afgekeurd|afwijzen)\b"
    r"(?P<rest>.*)$",
    re.I,
)
_STATUS = re.compile(_LEAD + r"status\b(?P<rest>.*)$", re.I)
_REASON_PREFIX = re.compile(r"^[\s*_.:,;!\-–—]*((reason|reden)\s*[:=\-–]\s*)?", re.I)
_REPLY_PREFIX = re.compile(r"^\s*((re|aw|antw|sv|fw|fwd|wg|doorst)\s*:\s*)+", re.I)
_VOTE_APPROVE = re.compile(r"^(approved?|goedkeuren|goedgekeurd|akkoord)\s*(:|\[mo-)", re.I)
_VOTE_REJECT = re.compile(r"^(reject(ed)?|afwijzen|afkeuren|afgewezen|afgekeurd)\s*(:|\[mo-)", re.I)


# ---- new text -------------------------------------------------------------------------------


def reply_new_text(email: ParsedEmail) -> str:
    """The rep's own words, without quoted history and mobile signatures."""
    if email.html.strip():
        from_html = _new_text_from_html(email.html)
        if from_html is not None:
            return _strip_plain(from_html)
    plain = email.text if email.text.strip() else email.html_text
    return _strip_plain(plain)


def _new_text_from_html(html: str) -> str | None:
    """Text above the client's quote container; None when the HTML has no known container."""
    soup = BeautifulSoup(html, "html.parser")
    _drop_signatures(soup)
    marker = next((tag for tag in soup.find_all(True) if _is_quote_marker(tag)), None)
    if marker is None:
        return None
    container = _is_container(marker)
    if container:
        rest = BeautifulSoup(html, "html.parser")
        _drop_signatures(rest)
        twin = next(tag for tag in rest.find_all(True) if _is_quote_marker(tag))
    _remove_from(marker)
    above = render_node(soup)
    if _strip_plain(above) or not container:
        return above
    twin.decompose()  # bottom-posted: keep what surrounds the quote container
    return render_node(rest)


_SIGNATURE_IDS = ("Signature", "signature", "AppleMailSignature", "divtagdefaultwrapper-signature")


def _drop_signatures(soup: BeautifulSoup) -> None:
    """Remove the client's own signature blocks (Gmail gmail_signature, OWA #Signature)."""
    for tag in soup.find_all(True):
        if tag.decomposed:
            continue
        classes = _classes(tag)
        if "gmail_signature" in classes or str(tag.get("id") or "") in _SIGNATURE_IDS:
            tag.decompose()


def _classes(tag: Tag) -> list[str]:
    value = tag.get("class")
    return value.split() if isinstance(value, str) else list(value or [])


def _is_quote_marker(tag: Tag) -> bool:
    ident = str(tag.get("id") or "")
    classes = _classes(tag)
    if ident.startswith(
        (
            "divRplyFwdMsg",
            "appendonsend",
            "mail-editor-reference-message-container",
            "ms-outlook-mobile-signature",
        )
    ):
        return True
    if tag.name in ("div", "blockquote") and any(
        c
        in (
            "gmail_quote",
            "gmail_quote_container",
            "yahoo_quoted",
            "moz-cite-prefix",
            "protonmail_quote",
            "zmail_extra",
        )
        for c in classes
    ):
        return True
    if tag.name == "blockquote" and str(tag.get("type") or "").lower() == "cite":
        return True
    if tag.name == "div" and re.search(r"border-top:\s*solid", str(tag.get("style") or ""), re.I):
        return bool(_HEADER_FROM.match(tag.get_text(" ", strip=True)[:200]))
    return False


def _is_container(tag: Tag) -> bool:
    """Quote markers that wrap the whole quote (so text after them is the rep's again)."""
    classes = _classes(tag)
    return tag.name == "blockquote" or any(
        c in ("gmail_quote", "gmail_quote_container", "yahoo_quoted") for c in classes
    )


def _remove_from(marker: Tag) -> None:
    """Delete the marker and everything after it in document order."""
    node: Tag | None = marker
    while node is not None and node.parent is not None:
        for sibling in list(node.next_siblings):
            sibling.extract()
        node = node.parent
    marker.decompose()


def _strip_plain(text: str) -> str:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    start = _quote_start(lines)
    if start is None:
        kept = lines
    elif any(line.strip() for line in lines[:start]):
        kept = lines[:start]
    else:
        kept = _bottom_posted(lines[start:])
    return _tidy(_cut_signature(kept))


def _quote_start(lines: list[str]) -> int | None:
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith(">") or _SEPARATORS.match(line):
            return index
        if _ATTRIBUTION_START.match(line) and _attribution_end(lines, index) is not None:
            return index
        if _ATTRIBUTION_END.search(stripped) and len(stripped) > 12 and "@" in stripped:
            return index  # wrapped attribution whose first line we did not recognise
        if _is_header_block(lines, index):
            return index
    return None


def _attribution_end(lines: list[str], index: int) -> int | None:
    """Last line of an "On … wrote:" attribution starting at `index` (clients wrap it ≤ 3 lines)."""
    for last in range(index, min(index + 3, len(lines))):
        joined = " ".join(line.strip().lstrip(">").strip() for line in lines[index : last + 1])
        if len(joined) < 400 and _ATTRIBUTION_END.search(joined):
            return last
    return None


def _is_header_block(lines: list[str], index: int) -> bool:
    """Outlook's unprefixed "From: / Sent: / To: / Subject:" (or Van:/Verzonden:/…) block."""
    return bool(_HEADER_FROM.match(lines[index])) and any(
        _HEADER_OTHER.match(following) for following in lines[index + 1 : index + 5]
    )


def _bottom_posted(lines: list[str]) -> list[str]:
    """Unquoted lines after "> " quotes (skipping attribution lines)."""
    kept: list[str] = []
    skip_until = -1
    for index, line in enumerate(lines):
        if index <= skip_until or line.strip().startswith(">"):
            continue
        end = _attribution_end(lines, index) if _ATTRIBUTION_START.match(line) else None
        if end is not None:
            skip_until = end
            continue
        if _SEPARATORS.match(line) or _is_header_block(lines, index):
            break  # an unprefixed (Outlook) quote: nothing after it is new
        kept.append(line)
    return kept


def _cut_signature(lines: list[str]) -> list[str]:
    for index, line in enumerate(lines):
        if _SIGNATURE_DELIMITER.match(line) or _MOBILE_SIGNATURE.match(line):
            return lines[:index]
    return lines


def _tidy(lines: list[str]) -> str:
    result: list[str] = []
    for line in (line.rstrip() for line in lines):
        if line or (result and result[-1]):
            result.append(line)
    while result and not result[-1]:
        result.pop()
    return "\n".join(result)


# ---- decision --------------------------------------------------------------------------------


def parse_decision(email: ParsedEmail) -> Decision:
    """APPROVE / REJECT <reason> / STATUS from the rep's new text, else an Outlook voting subject."""
    new_text = reply_new_text(email)
    lines = new_text.split("\n")
    first = _first_meaningful(lines)
    if first is not None:
        decision = _decide_line(lines, first)
        if decision is not None:
            return decision
    return _decide_subject(email.subject, new_text) or Decision("unknown", None, new_text, "none")


def _first_meaningful(lines: list[str]) -> int | None:
    for index, line in enumerate(lines):
        if line.strip() and not _SALUTATION.match(line):
            return index
    return None


def _decide_line(lines: list[str], index: int) -> Decision | None:
    line, after = lines[index], lines[index + 1 :]
    if match := _APPROVE.match(line):
        rest = match.group("rest").strip()
        if rest.startswith("?") or re.match(r"^(not|niet)\b", rest, re.I):
            return None
        return Decision("approve", None, _tidy([_strip_punctuation(rest), *after]), "body")
    if match := _REJECT.match(line):
        if match.group("rest").strip().startswith("?"):
            return None
        first = _REASON_PREFIX.sub("", match.group("rest"), count=1).strip()
        reason_lines = _until_closing([first, *after])
        reason = _REASON_PREFIX.sub("", _tidy(reason_lines), count=1).strip() or None
        return Decision("reject", reason, _tidy(after[len(reason_lines) - 1 :]), "body")
    if match := _STATUS.match(line):
        return Decision("status", None, _tidy([_strip_punctuation(match.group("rest")), *after]), "body")
    return None


def _decide_subject(subject: str, new_text: str) -> Decision | None:
    bare = _REPLY_PREFIX.sub("", subject or "").strip()
    if _VOTE_APPROVE.match(bare):
        return Decision("approve", None, new_text, "subject")
    if _VOTE_REJECT.match(bare):
        reason = _tidy(_until_closing(new_text.split("\n"))).strip() or None
        return Decision("reject", reason, "", "subject")
    return None


def _until_closing(lines: list[str]) -> list[str]:
    """Lines up to a closing phrase, a "-- " delimiter, or a paragraph that looks like a signature."""
    for index, line in enumerate(lines):
        if not index:
            continue
        if _CLOSING.match(line) or _SIGNATURE_DELIMITER.match(line):
            return lines[:index]
        if not line.strip() and _looks_like_signature(_paragraph(lines, index + 1)):
            return lines[:index]
    return lines


_CONTACT_DETAIL = re.compile(
    r"(\+?\d[\d ()./-]{7,}\d|@|www\.|https?://|\b(tel|mob|mobiel|phone|t|m|e)\s*[:.|])", re.I
)


def _paragraph(lines: list[str], start: int) -> list[str]:
    while start < len(lines) and not lines[start].strip():
        start += 1
    end = start
    while end < len(lines) and lines[end].strip():
        end += 1
    return lines[start:end]


def _looks_like_signature(paragraph: list[str]) -> bool:
    """A name line (≤ 4 words, no sentence punctuation) or a block with contact details."""
    if not paragraph:
        return False
    first = paragraph[0].strip()
    name_like = len(first.split()) <= 4 and not re.search(r"[.!?:;,]$", first) and first[:1].isupper()
    return name_like or any(_CONTACT_DETAIL.search(line) for line in paragraph)


def _strip_punctuation(text: str) -> str:
    """Rest of a command line without punctuation or our own subject tag ("[MO-12 v1]")."""
    text = text.strip().lstrip("*_.:,;!-–— ")
    return re.sub(r"^\[MO-\d+\s+v\d+\]", "", text, flags=re.I).strip().lstrip("*_.:,;!-–— ").strip()
