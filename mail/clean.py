"""The part of an order email that is the customer's new message. Pure.

Reads both the text part and the rendered HTML (anonymisation and mail clients make them
disagree), splits off quoted history of replies/forwards, signatures and legal disclaimers.
A forward or reply whose new text points at the message below ("zie onderstaande",
"see below") and holds no order lines itself takes the first quoted message along.
"""

from __future__ import annotations

import re

from pydantic import BaseModel

from mailorder.domain import ParsedEmail

_QUOTE_HEADER = re.compile(
    r"^\s*(?:-{2,}\s*(?:original message|oorspronkelijk bericht|forwarded message|"
    r"doorgestuurd bericht|weitergeleitete nachricht|message d'origine)|_{8,}\s*$|"
    r"-{5,}\s*$|(?:op|on|am|le)\s.{4,120}\s(?:schreef|wrote|schrieb|a écrit)\b.*:?\s*$|"
    r"begin forwarded message:)",
    re.I,
)
_FIELD_LINE = re.compile(
    r"^\s*\*?(van|from|von|de|verzonden|sent|datum|date|aan|to|cc|"
    r"onderwerp|subject|betreff|gesendet)\s*:\*?\s*",
    re.I,
)
_SIGN_OFF = re.compile(
    r"^\s*(?:met\s+)?(?:vriendelijke|hartelijke|beste|zonnige|sportieve)?\s*(?:groet(?:en)?|"
    r"groetjes)\b|^\s*(?:mvg|m\.v\.g\.?|mvrgr|mvgr|gr\.?|groet)\s*[.,!]?\s*$|"
    r"^\s*(?:kind|best|warm)\s+regards|^\s*regards\b|^\s*(?:cheers|thanks|thank you)\s*[,!.]?\s*$|"
    r"^\s*(?:freundliche|mit freundlichen)\s+gr|^\s*--\s*$|^\s*sent from my\b|"
    r"^\s*verzonden (?:vanaf|met)\b",
    re.I,
)
_DISCLAIMER = re.compile(
    r"vertrouwelijk|confidential|disclaimer|aansprakelijk|uitsluitend bestemd|"
    r"intended (?:solely|only) for|external source|niet vaak e-mail|don't often get email|"
    r"leveringsvoorwaarden|algemene voorwaarden|terms and conditions|think before you print|"
    r"denk aan het milieu|registered in|kvk|btw[- ]?nr|iban",
    re.I,
)
_POINTS_BELOW = re.compile(
    r"onderstaand|hieronder|hier onder|zie onder|below|beneden|volgende bestelling|"
    r"doorgestuurd|forward|fw:|fwd:|zie mail|bijgaande|in de mail|unten|untenstehend|nachstehend|"
    r"weitergeleitet",
    re.I,
)
# the new text accepts what the quoted message offers ("akkoord", "go ahead", "passt, so liefern")
_ACCEPTS = re.compile(
    r"\bakkoord\b|\baccoord\b|\bagreed?\b|\bgo ahead\b|\bplease proceed\b|\baccept|"
    r"\beinverstanden\b|\bpasst\b|so liefern|wie angeboten|\bbestätigt\b|"
    r"nogmaals hetzelfde|opnieuw hetzelfde|"
    r"\b(?:prima|ok(?:é|e|ay)?|fine|gut|in orde)\b[^.?!\n]{0,40}"
    r"\b(?:graag|leveren|bestellen|deliver|send|order|"
    r"liefern)\b|\b(?:posities|positie|items?|positionen|pos\.)\s*\d",
    re.I,
)
# "3 rollen wit i.p.v. 2": a change to the order below, not an order line of its own
_CHANGE_CLAUSE = re.compile(
    r"^.*(?:\bi\.?p\.?v\.?|\bin plaats van\b|\binstead of\b|\b(?:an)?statt\b).*$", re.I | re.M
)
_QUOTE_IS_OLD = re.compile(
    r"al geleverd|al gefactureerd|already (?:delivered|invoiced|sent)|niet nog een keer|"
    r"niet opnieuw|not again|ter info|ter referentie|for reference|alleen mee|blijft hetzelfde|"
    r"stays the same|ter kennisgeving|nicht nochmal",
    re.I,
)
_ADD_TO_BELOW = re.compile(
    r"(?:toevoegen|voeg|bij (?:de|het)|ook|samen met|add|plus|erbij)\b.{0,60}"
    r"(?:onderstaand|hieronder|below)|(?:onderstaand|hieronder|below).{0,60}"
    r"(?:toevoegen|aanvullen|erbij|add|too|ook)",
    re.I,
)
_UNITS = (
    r"rollen|rolle|rol|rolls?|platen|plaat|platten|platte|sheets?|plates?|boards?|dozen|doos|ds|boxe?s?|"
    r"kartons?|cartons?|pakken|pak|packs?|riem|riemen|reams?|stuks|stuk|st|stk|stück|pcs|pieces?|"
    r"meters?|metres?|mtr|vellen|vel|pallets?|pal|paletten|flessen|fles|bottles?|flaschen|cartridges?"
)
_NUMBER_WORDS = (
    r"een|één|twee|drie|vier|vijf|zes|acht|tien|twaalf|halve|a|an|one|two|three|four|five|six|ten|twelve|"
    r"ein|eine|einen|zwei|drei|fünf|sechs|zehn|zwölf"
)
_ORDER_LINE = re.compile(
    r"(?<![\w-])\d{2}-?\d{4}-?\d{4}(?![\w-])|"
    r"^\s*[-•*]?\s*\d+(?:[.,]\d+)?\s*(?:x|ex|st|stk|stuks|rol|rollen|mtr|meter|m|platen|plaat|"
    r"pallet|pallets|doos|dozen|pak|pakken|riem|vel|vellen|halve|pcs)\b|"
    r"\b\d+\s*[xX]\s+\S|\bhalve\s+pallet|\S\s+[xX]\s*\d{1,3}(?![\d.,]*\s*(?:mm|cm|m)\b)(?:\s|,|$)|"
    rf"(?<![\w.,])\d+(?:[.,]\d+)?\s+(?:{_UNITS})\b|"
    rf"(?<![\w-])(?:{_NUMBER_WORDS})\s+(?:{_UNITS})\b|"
    r"\b(?:aantal|menge|anzahl|qty|quantity)\s*[:=]?\s*\d",
    re.I | re.M,
)
_FORWARD_SUBJECT = re.compile(r"^\s*(?:fw|fwd|doorst|wg|tr)\s*:", re.I)


class CleanBody(BaseModel):
    text: str  # what to extract from: new message (+ the quoted order it points at)
    new_text: str = ""  # the customer's own new words, signature removed
    quoted: str = ""  # quoted history (replies/forwards), not to be re-ordered
    signature: str = ""
    alt_text: str = ""  # the same cleaning applied to the other body version
    source: str = "text"  # which body version `text` came from: text | html
    includes_quote: bool = False  # True when the quoted message was taken along
    quoted_taken: str = ""  # the part of `text` that came from the quoted message


def has_order_lines(text: str) -> bool:
    """Whether text holds something that looks like an order line (qty + item or a SKU)."""
    return bool(_ORDER_LINE.search(text))


def clean_order_body(email: ParsedEmail) -> CleanBody:
    """Split the email into new text, quoted history and signature; pick the richer version."""
    forward = bool(_FORWARD_SUBJECT.match(email.subject or ""))
    plain = _clean_version(_normalise(email.text), forward) if email.text.strip() else None
    html = _clean_version(_normalise(email.html_text), forward) if email.html_text.strip() else None
    if plain is None and html is None:
        return CleanBody(text="")
    primary, other, source = _choose(plain, html)
    primary.alt_text = other.text if other else ""
    primary.source = source
    return primary


def _choose(plain: CleanBody | None, html: CleanBody | None) -> tuple[CleanBody, CleanBody | None, str]:
    if plain is None:
        return html, None, "html"  # type: ignore[return-value]
    if html is None:
        return plain, None, "text"
    # a table keeps its header row and cells in the HTML; the text part loses them
    if " | " in html.text and " | " not in plain.text:
        return html, plain, "html"
    if len(_ORDER_LINE.findall(html.text)) > len(_ORDER_LINE.findall(plain.text)):
        return html, plain, "html"
    return plain, html, "text"


def _normalise(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    lines = [re.sub(r"[ \t]+", " ", line).rstrip() for line in _tables_as_cells(text.split("\n"))]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


_COLUMN_GAP = re.compile(r"\S+(?: \S+)*")  # a cell: words separated by single spaces


def _tables_as_cells(lines: list[str]) -> list[str]:
    """Plain-text tables as " | " rows, the way the HTML renderer writes them: tab separated
    lines, and blocks of two or more lines whose columns are aligned with runs of spaces (cells
    are placed under the header's columns, so an empty cell stays empty)."""
    out = list(lines)
    for i, line in enumerate(lines):
        cells = [c.strip() for c in line.strip().split("\t")]
        if "\t" in line.strip() and sum(1 for c in cells if c) >= 2:
            out[i] = " | ".join(cells)
    i = 0
    while i < len(lines):
        j = i
        while (
            j < len(lines) and "\t" not in lines[j] and len(re.findall(r"\S\s{2,}\S", lines[j].rstrip())) >= 2
        ):
            j += 1
        if j - i >= 2:
            header = [(m.start(), m.group()) for m in _COLUMN_GAP.finditer(lines[i].rstrip())]
            starts = [s for s, _ in header]
            for k in range(i, j):
                row = [""] * len(starts)
                for m in _COLUMN_GAP.finditer(lines[k].rstrip()):
                    column = max((n for n, s in enumerate(starts) if s <= m.start() + 1), default=0)
                    row[column] = (row[column] + " " + m.group()).strip()
                out[k] = " | ".join(row)
        i = max(j, i + 1)
    return out


def _clean_version(text: str, forward: bool = False) -> CleanBody:
    """A reply's quoted order was already sent to us: only a forward, or new text that points
    below and orders nothing itself, takes the quoted message along."""
    new, quoted = split_quoted(text)
    own, signature = strip_signature(new)
    own = strip_disclaimers(own)
    body = own
    includes_quote = False
    old = bool(_QUOTE_IS_OLD.search(own))
    points_below = bool(_POINTS_BELOW.search(own) or _ACCEPTS.search(own)) and not old
    own_lines = has_order_lines(_CHANGE_CLAUSE.sub(" ", own))
    adds_to_forward = forward and bool(_ADD_TO_BELOW.search(own))
    if quoted and (not own.strip() or (points_below and (not own_lines or adds_to_forward))):
        first = first_quoted_message(quoted)
        body = (own + "\n\n" + first).strip()
        includes_quote = True
    return CleanBody(
        text=body,
        new_text=own,
        quoted=quoted,
        signature=signature,
        includes_quote=includes_quote,
        quoted_taken=first if includes_quote else "",
    )


def split_quoted(text: str) -> tuple[str, str]:
    """(new text, quoted history) at the first reply/forward header or '>' block."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if _QUOTE_HEADER.match(line) or _is_field_block(lines, i) or line.startswith(">"):
            return "\n".join(lines[:i]).strip(), "\n".join(lines[i:]).strip()
    return text.strip(), ""


def _is_field_block(lines: list[str], i: int) -> bool:
    """'Van: ...' followed closely by 'Verzonden:/Aan:/Onderwerp:' lines (Outlook headers)."""
    match = _FIELD_LINE.match(lines[i])
    if not match or match.group(1).lower() not in ("van", "from", "von", "de"):
        return False
    window = " ".join(lines[i : i + 6])
    return (
        len(
            set(
                m.lower()
                for m in re.findall(
                    r"\b(verzonden|sent|datum|date|aan|to|onderwerp|subject|gesendet|betreff)\s*:",
                    window,
                    re.I,
                )
            )
        )
        >= 2
    )


def first_quoted_message(quoted: str) -> str:
    """The body of the first quoted message: header fields dropped, its own quote/signature cut."""
    lines = quoted.split("\n")
    start = 0
    while start < len(lines) and (
        not lines[start].strip() or _QUOTE_HEADER.match(lines[start]) or _FIELD_LINE.match(lines[start])
    ):
        start += 1
    rest = "\n".join(line.lstrip("> ") for line in lines[start:])
    body, _ = split_quoted(rest)
    body, _ = strip_signature(body)
    return strip_disclaimers(body)


def strip_signature(text: str) -> tuple[str, str]:
    """(text, signature) cut at the first sign-off line that follows some content."""
    lines = text.split("\n")
    seen_content = False
    for i, line in enumerate(lines):
        if seen_content and _SIGN_OFF.match(line):
            return "\n".join(lines[:i]).rstrip(), "\n".join(lines[i:]).strip()
        if line.strip():
            seen_content = True
    return text.rstrip(), ""


def strip_disclaimers(text: str) -> str:
    """Drop paragraphs that read like legal boilerplate (long, with disclaimer wording)."""
    paragraphs = re.split(r"\n\s*\n", text)
    kept = [p for p in paragraphs if not (_DISCLAIMER.search(p) and len(p) > 80 and not has_order_lines(p))]
    return "\n\n".join(kept).strip()
