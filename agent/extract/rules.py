"""The deterministic extractor: order lines, reference and delivery date from the cleaned body.

Lines are found by shape (a quantity with an optional unit before or after product text, a
SKU, or a table row under a header) and resolved through catalog_lookup, like a model would.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from mailorder.domain import Candidate, Extraction, LineRequest, ParsedEmail
from mailorder.mail.clean import CleanBody, has_order_lines
from mailorder.tools.catalog import SKU_RX, CatalogIndex
from mailorder.tools.units import UNIT_PATTERN, canonical_unit

METHOD = "rules, no AI model configured"
MIN_SCORE = 45.0  # below this a catalog match is no match at all
_NUM = r"\d+(?:[.,]\d+)?"
_UNIT = rf"(?:{UNIT_PATTERN})(?![\w²])"
_QTY_FIRST = re.compile(
    rf"^\s*(?:[-•*·>]\s*)?(?P<qty>{_NUM}|halve|half)\s*(?P<x>[xX×]|ex\b|x\b)?\s*(?P<unit>{_UNIT})?\.?\s+(?P<rest>.+)$",
    re.I,
)
_QTY_LAST = re.compile(rf"^(?P<rest>.+?)[\s:,-]+(?P<qty>{_NUM})\s*(?P<unit>[xX×]|{_UNIT})\.?\s*$", re.I)
_QTY_INLINE = re.compile(
    rf"(?<![\w.,-])(?P<qty>{_NUM}|halve|een|één)\s*(?P<unit>{_UNIT})\s+(?P<rest>[^,.;?!\n]+)", re.I
)
_REFERENCE = re.compile(
    r"(?:uw |onze |order ?|project ?)?(?:referentie|ref|kenmerk|ordernummer|ordernr|order nr|"
    r"po(?:[- ]?(?:nummer|number|nr))?|inkoopnummer|inkoopordernummer|bestelnummer|bestelnr)"
    r"\.?\s*[:#]\s*(?P<ref>[A-Za-z0-9][\w\-/.]{1,40})",
    re.I,
)
_QTY_ALONE = re.compile(
    rf"^\s*(?:[-•*·]\s*)?(?P<qty>{_NUM}|halve)\s*(?P<x>[xX×]|ex)?\s*(?P<unit>{_UNIT})?\.?\s*$", re.I
)
_SEGMENT_SPLIT = re.compile(
    rf"\s*(?:,|;|\+|\ben\b|\band\b|\bund\b)\s+(?=(?:{_NUM}|een|één)\s*(?:[xX×]\s|ex\s|{_UNIT}\s))", re.I
)
_CONTEXT_LINE = re.compile(r"graag|volgende|bestel|order|voor (?:de|onze)|:\s*$|liefern", re.I)
_DELIVERY_WORDS = re.compile(r"lever|bezorg|aflever|delivery|deliver|nodig|graag op|uiterlijk", re.I)
_DATE = re.compile(r"(?<!\d)(\d{1,2})[-/.](\d{1,2})(?:[-/.](\d{2,4}))?(?!\d)")
_WEEKDAYS = {
    "maandag": 0,
    "dinsdag": 1,
    "woensdag": 2,
    "donderdag": 3,
    "vrijdag": 4,
    "zaterdag": 5,
    "zondag": 6,
    "monday": 0,
    "tuesday": 1,
    "wednesday": 2,
    "thursday": 3,
    "friday": 4,
    "saturday": 5,
    "sunday": 6,
}
_HEADER_QTY = {
    "aantal",
    "qty",
    "quantity",
    "hoeveelheid",
    "aant",
    "aantal stuks",
    "stuks",
    "meters",
    "meter",
    "mtr",
    "rollen",
    "rol",
    "m2",
    "platen",
    "dozen",
    "vellen",
}
_HEADER_REF = {"referentie", "ref", "kenmerk", "project", "reference", "opmerking"}
_HEADER_SKIP = {"besteld door", "prijs", "price", "totaal", "total", "bedrag", "ordered by"}
_NOISE_LINE = re.compile(r"^(?:aantal|totaal|total|prijs|leverdatum|levering|afmeting)\b", re.I)


class LookupTool(Protocol):
    def catalog_lookup(
        self, query: str, limit: int = 5, customer_id: str | None = None
    ) -> list[Candidate]: ...


@dataclass
class _Found:
    query: str
    qty: float | None
    unit: str | None
    source: str
    reference: str | None = None
    context: str = ""  # the sentence introducing the list ("voor de Mimaki SS21 graag:")


def extract_rules(
    email: ParsedEmail,
    body: CleanBody,
    toolbox_or_catalog,
    *,
    received: datetime,
    customer_id: str | None = None,
) -> Extraction:
    """Read lines, reference and delivery date; the richer of both body versions wins.

    `customer_id` lets the lookup use that customer's learned aliases first."""
    lookup = _lookup_function(toolbox_or_catalog, customer_id)
    best, best_text = _lines_from(body.text, lookup), body.text
    if body.alt_text:
        alternative = _lines_from(body.alt_text, lookup)
        if _identified(alternative) > _identified(best):
            best, best_text = alternative, body.alt_text
    text_for_fields = "\n".join([email.subject or "", body.text, body.alt_text])
    extraction = Extraction(
        lines=best,
        reference=find_reference(text_for_fields),
        delivery_date=find_delivery_date(body.text + "\n" + body.alt_text, received.date()),
        method=METHOD,
    )
    if body.includes_quote and any(ln.source_text and ln.source_text in body.quoted_taken for ln in best):
        for line in best:
            if line.source_text and line.source_text in body.quoted_taken:
                line.confidence = min(line.confidence, 0.85)
        extraction.notes.append("review: lines taken from the quoted message below the new text")
    unread = unread_order_text(best_text, best)
    if unread:
        extraction.notes.append(f"review: order-like text not turned into a line: {unread[0]!r}")
    return extraction


def unread_order_text(text: str, lines: list[LineRequest]) -> list[str]:
    """Lines that look like order lines (qty + unit, Nx, SKU) but no extracted line came from."""
    used = "\n".join(ln.source_text for ln in lines)
    unread = []
    for raw in text.split("\n"):
        line = raw.strip()
        if line and has_order_lines(line) and line not in used:
            unread.append(line)
    return unread


def _lookup_function(tool, customer_id: str | None = None):
    if isinstance(tool, CatalogIndex):
        return lambda q: tool.lookup(q, limit=5)
    return lambda q: tool.catalog_lookup(q, limit=5, customer_id=customer_id)


def _identified(lines: list[LineRequest]) -> int:
    return sum(1 for ln in lines if ln.sku)


def _lines_from(text: str, lookup) -> list[LineRequest]:
    return [line for found in find_line_texts(text) if (line := _resolve(found, lookup))]


def find_line_texts(text: str) -> list[_Found]:
    """Candidate order lines by shape: table rows, qty-first/last lines, inline 'N unit product',
    and Outlook-flattened pairs (a product line followed by a line holding only its quantity)."""
    found: list[_Found] = []
    header: list[str] | None = None
    context = ""
    pending_text: str | None = None  # a short line that may be followed by its quantity
    pending_qty: _Found | None = None  # a quantity line whose product follows on next lines
    for raw in [*text.split("\n"), ""]:
        line = raw.strip()
        if not line:
            if pending_qty is not None and pending_qty.query:
                found.append(pending_qty)
            pending_qty, pending_text = None, None
            continue
        if " | " in line:
            cells = [c.strip() for c in line.split(" | ")]
            if _is_header(cells):
                header = [c.lower() for c in cells]
                continue
            row = _table_row(cells, header)
            if row:
                row.context = context
                found.append(row)
            continue
        header = None
        if pending_qty is not None:
            pending_qty.query = (pending_qty.query + " " + line).strip()
            pending_qty.source += "\n" + line
            continue
        alone = _QTY_ALONE.match(line)
        if alone:
            qty, unit = _qty(alone.group("qty")), _unit(alone.group("unit"), alone.group("x"), "")
            if pending_text:
                found.append(
                    _Found(
                        query=pending_text,
                        qty=qty,
                        unit=unit,
                        context=context,
                        source=pending_text + "\n" + line,
                    )
                )
                pending_text = None
            elif alone.group("unit") or alone.group("x"):
                pending_qty = _Found(query="", qty=qty, unit=unit, source=line, context=context)
            continue
        items = [item for segment in _SEGMENT_SPLIT.split(line) if (item := _plain_line(segment))]
        for item in items:
            item.context = context
            item.source = line
        found.extend(items)
        if _CONTEXT_LINE.search(line) and not SKU_RX.search(line):
            context = line
        if items:
            pending_text = None
            continue
        pending_text = line if _looks_like_item(line) else None
    return found


def _looks_like_item(line: str) -> bool:
    """A short label line (no sentence), e.g. 'Cyan' or 'Forex wit 5mm' in a flattened table."""
    words = line.split()
    return 0 < len(words) <= 8 and not re.search(r"[.?!:,]$", line) and not _NOISE_LINE.match(line)


def _is_header(cells: list[str]) -> bool:
    lowered = [c.lower().strip(" :") for c in cells]
    return not any(re.search(r"\d", c) for c in cells) and any(
        c in _HEADER_QTY or c in _HEADER_REF for c in lowered
    )


def _table_row(cells: list[str], header: list[str] | None) -> _Found | None:
    qty = unit = reference = None
    described: list[str] = []
    for i, cell in enumerate(cells):
        name = header[i].strip(" :") if header and i < len(header) else ""
        if name in _HEADER_SKIP:
            continue
        if name in _HEADER_REF:
            reference = cell or None
            continue
        number = re.fullmatch(rf"({_NUM})\s*({_UNIT})?\.?", cell, re.I)
        if number and qty is None and (name in _HEADER_QTY or not name):
            qty = _number(number.group(1))
            unit = canonical_unit(number.group(2)) or canonical_unit(name)
            continue
        described.append(cell)
    if qty is None or not described:
        return None
    query = " ".join(described)
    return _Found(query=query, qty=qty, unit=unit, source=" | ".join(cells), reference=reference)


def _plain_line(line: str) -> _Found | None:
    if _NOISE_LINE.match(line) and not SKU_RX.search(line):
        return None
    m = _QTY_FIRST.match(line)
    if m and (m.group("x") or m.group("unit") or SKU_RX.search(m.group("rest"))):
        return _Found(
            query=m.group("rest"),
            qty=_qty(m.group("qty")),
            source=line,
            unit=_unit(m.group("unit"), m.group("x"), m.group("qty")),
        )
    m = _QTY_LAST.match(line)
    if m:
        return _Found(
            query=m.group("rest"),
            qty=_qty(m.group("qty")),
            source=line,
            unit=_unit(m.group("unit"), None, m.group("qty")),
        )
    m = _QTY_INLINE.search(line)
    if m and (re.search(r"[^\W\d_]{3,}", m.group("rest")) or SKU_RX.search(m.group("rest"))):
        rest = " ".join(m.group("rest").split()[:6])
        return _Found(
            query=rest,
            qty=_qty(m.group("qty")),
            source=line,
            unit=_unit(m.group("unit"), None, m.group("qty")),
        )
    if SKU_RX.search(line):
        return _Found(query=line, qty=None, unit=None, source=line)
    return None


def _qty(text: str) -> float | None:
    lowered = text.lower()
    if lowered in ("halve", "half"):
        return 0.5
    if lowered in ("een", "één"):
        return 1.0
    return _number(text)


def _number(text: str) -> float:
    return float(text.replace(",", "."))


def _unit(unit: str | None, x: str | None, qty_text: str) -> str | None:
    if unit and unit.lower() not in ("x", "ex"):
        return canonical_unit(unit)
    if unit or x:
        return "stuks"  # a count: draft_order maps it to the product's package unit
    return None


def _resolve(found: _Found, lookup) -> LineRequest | None:
    candidates = lookup(found.query)
    confidence = _confidence(candidates)
    if found.context and confidence < 0.9 and not SKU_RX.search(found.query):
        with_context = lookup(found.context + " " + found.query)
        if with_context and (_confidence(with_context) > confidence or _refines(with_context[0], candidates)):
            candidates, confidence = with_context, max(_confidence(with_context), confidence)
    if not candidates or candidates[0].score < MIN_SCORE:
        if found.qty is not None and (SKU_RX.search(found.query) or found.unit not in (None, "stuks")):
            return LineRequest(
                sku=None,
                qty=found.qty,
                unit=found.unit,
                source_text=found.source,
                reference=found.reference,
                confidence=0.0,
                candidates=candidates[:3],
            )
        return None
    return LineRequest(
        sku=candidates[0].sku,
        qty=found.qty,
        unit=_taught_unit(found, candidates[0]),
        source_text=found.source,
        reference=found.reference,
        confidence=confidence,
        candidates=candidates[:3] if confidence < 0.9 else [],
    )


def _taught_unit(found: _Found, top: Candidate) -> str | None:
    """The written unit; when the line names none (a bare count or "x"), the unit a rep taught
    for this customer's wording."""
    if top.learned_unit and found.unit in (None, "stuks"):
        return top.learned_unit
    return found.unit


def _refines(better: Candidate, candidates: list[Candidate]) -> bool:
    """The context match keeps everything the line itself matched (and adds to it)."""
    if not candidates or better.score < MIN_SCORE:
        return False
    own = {r for r in candidates[0].reasons if "differs" not in r}
    return own <= set(better.reasons) and len(better.reasons) > len(own)


def _confidence(candidates: list[Candidate]) -> float:
    if not candidates or candidates[0].score < MIN_SCORE:
        return 0.0
    top = candidates[0]
    runner_up = next((c for c in candidates[1:] if c.sku != top.sku), None)
    return line_confidence(top.score, top.score - runner_up.score if runner_up else 100.0)


def line_confidence(score: float, margin: float) -> float:
    """Calibrated on purpose to be strict: only exact codes and clear winners pass 0.9."""
    if score >= 99.5 and margin >= 99:
        return 1.0  # a SKU or learned alias
    if score >= 85 and margin >= 12:
        return 0.92
    if score >= 70 and margin >= 8:
        return 0.75
    return 0.5


def find_reference(text: str) -> str | None:
    m = _REFERENCE.search(text)
    return m.group("ref").rstrip(".") if m else None


def find_delivery_date(text: str, received: date) -> date | None:
    """A date on a line about delivery: dd-mm-yyyy, or morgen/overmorgen/weekday names."""
    for line in text.split("\n"):
        if not _DELIVERY_WORDS.search(line):
            continue
        m = _DATE.search(line)
        if m:
            resolved = _date_from(m, received)
            if resolved:
                return resolved
        lowered = line.lower()
        if "overmorgen" in lowered:
            return received + timedelta(days=2)
        if "morgen" in lowered and "goedemorgen" not in lowered:
            return received + timedelta(days=1)
        for name, weekday in _WEEKDAYS.items():
            if re.search(rf"\b{name}\b", lowered):
                ahead = (weekday - received.weekday()) % 7 or 7
                return received + timedelta(days=ahead)
    return None


def _date_from(m: re.Match, received: date) -> date | None:
    day, month, year = int(m.group(1)), int(m.group(2)), m.group(3)
    y = received.year if not year else (int(year) + 2000 if len(year) == 2 else int(year))
    try:
        found = date(y, month, day)
    except ValueError:
        return None
    if not year and found < received:
        found = date(y + 1, month, day)
    return found
