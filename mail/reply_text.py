"""What a rep wrote in a reply: only the rep's own words. Pure functions.

reply_new_text() keeps only the rep's own words: the HTML is cut at the mail client's quote
container (Outlook divRplyFwdMsg / border-top header block, Gmail gmail_quote, Apple
blockquote type=cite, …); plain text is cut at attribution lines ("On … wrote:", "Op … schreef"),
Outlook header blocks (From:/Sent: or Van:/Verzonden:), separators and "> " quotes.
Bottom-posted replies keep the unquoted text below the quote. Mobile signatures are dropped.

What those words decide is mail.decisions' job.
"""

from __future__ import annotations

import re

from bs4 import BeautifulSoup
from bs4.element import CData, NavigableString, PageElement, Tag

from mailorder.domain import ParsedEmail
from mailorder.mail.html import parse_html, render_node

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
    soup = parse_html(html)
    _drop_signatures(soup)
    marker = next((tag for tag in soup.find_all(True) if _is_quote_marker(tag)), None)
    if marker is None:
        return None
    container = _is_container(marker)
    if container:
        rest = parse_html(html)
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
    # Innermost first (reverse document order): each tag is still in the tree when it goes.
    # (Tag.decomposed is no help: on a live tag bs4 answers it by searching the whole subtree.)
    found = [tag for tag in soup.find_all(True) if _is_signature(tag)]
    for tag in reversed(found):
        tag.decompose()


def _is_signature(tag: Tag) -> bool:
    return "gmail_signature" in _classes(tag) or str(tag.get("id") or "") in _SIGNATURE_IDS


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
        return bool(_HEADER_FROM.match(_leading_text(tag, 200)))
    return False


def _leading_text(tag: Tag, limit: int, max_nodes: int = 1000) -> str:
    """tag.get_text(" ", strip=True)[:limit], reading no more of the subtree than that needs: a
    deep nest of bordered divs must not make every test read everything below it (bs4's own
    descendants/strings walk the whole subtree before yielding the first string)."""
    parts: list[str] = []
    length = 0
    stack: list[PageElement] = list(reversed(tag.contents))
    while stack and length <= limit and max_nodes > 0:
        item = stack.pop()
        max_nodes -= 1
        if isinstance(item, Tag):
            stack.extend(reversed(item.contents))
        elif type(item) in (NavigableString, CData):
            text = str(item).strip()
            if text:
                parts.append(text)
                length += len(text) + 1
    return " ".join(parts)[:limit]


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
