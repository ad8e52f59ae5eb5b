"""The deterministic extractor: order lines, reference and delivery date from the cleaned body.

Lines are found by shape (a quantity with an optional unit before or after product text, a
SKU, or a table row under a header) and resolved through catalog_lookup, like a model would.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from mail.clean import CleanBody
from mail.message import ParsedEmail
from tools.catalog import SKU_RX, CatalogIndex
from tools.models import Candidate, Extraction, LineRequest
from tools.units import UNIT_PATTERN, canonical_unit

METHOD = "rules, no AI model configured"
MIN_SCORE = 45.0  # below this a catalog match is no match at all
_NUM = r"\d+(?:[.,]\d+)?"
_UNIT = rf"(?:{UNIT_PATTERN})(?![\w²])"
_QTY_FIRST = re.compile(
    rf"^\s*(?:[-•*·>]\s*)?(?P<qty>{_NUM}|halve|half)\s*(?P<x>[xX×]|ex\b|x\b)?\s*(?P<unit>{_UNIT})?\.?\s+(?P<rest>.+)$",
    re.I)
_QTY_LAST = re.compile(rf"^(?P<rest>.+?)[\s:,-]+(?P<qty>{_NUM})\s*(?P<unit>[xX×]|{_UNIT})\.?\s*$", re.I)
_QTY_INLINE = re.compile(rf"(?<![\w.,])(?P<qty>{_NUM}|halve|een|één)\s+(?P<unit>{_UNIT})\s+(?P<rest>[^,.;?!\n]+)", re.I)
_REFERENCE = re.compile(
    r"(?:uw |onze |order ?|project ?)?(?:referentie|ref|kenmerk|ordernummer|ordernr|order nr|"
    r"po(?:[- ]?(?:nummer|number|nr))?|inkoopnummer|inkoopordernummer|bestelnummer|bestelnr)"
    r"\.?\s*[:#]\s*(?P<ref>[A-Za-z0-9][\w\-/.]{1,40})", re.I)
_DELIVERY_WORDS = re.compile(r"lever|bezorg|aflever|delivery|deliver|nodig|graag op|uiterlijk", re.I)
_DATE = re.compile(r"(?<!\d)(\d{1,2})[-/.](\d{1,2})(?:[-/.](\d{2,4}))?(?!\d)")
_WEEKDAYS = {"maandag": 0, "dinsdag": 1, "woensdag": 2, "donderdag": 3, "vrijdag": 4,
             "zaterdag": 5, "zondag": 6, "monday": 0, "tuesday": 1, "wednesday": 2,
             "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6}
_HEADER_QTY = {"aantal", "qty", "quantity", "hoeveelheid", "aant", "aantal stuks", "stuks",
               "meters", "meter", "mtr", "rollen", "rol", "m2", "platen", "dozen", "vellen"}
_HEADER_REF = {"referentie", "ref", "kenmerk", "project", "reference", "opmerking"}
_HEADER_SKIP = {"besteld door", "prijs", "price", "totaal", "total", "bedrag", "ordered by"}
_NOISE_LINE = re.compile(r"^(?:aantal|totaal|total|prijs|leverdatum|levering|afmeting)\b", re.I)


class LookupTool(Protocol):
    def catalog_lookup(self, query: str, limit: int = 5, customer_id: str | None = None
                       ) -> list[Candidate]: ...


@dataclass
class _Found:
    query: str
    qty: float | None
    unit: str | None
    source: str
    reference: str | None = None


def extract_rules(email: ParsedEmail, body: CleanBody, toolbox_or_catalog, *,
                  received: datetime) -> Extraction:
    """Read lines, reference and delivery date; the richer of both body versions wins."""
    lookup = _lookup_function(toolbox_or_catalog)
    best = _lines_from(body.text, lookup)
    if body.alt_text:
        alternative = _lines_from(body.alt_text, lookup)
        if _identified(alternative) > _identified(best):
            best = alternative
    text_for_fields = "\n".join([email.subject or "", body.text, body.alt_text])
    return Extraction(lines=best, reference=find_reference(text_for_fields),
                      delivery_date=find_delivery_date(body.text + "\n" + body.alt_text,
                                                       received.date()),
                      method=METHOD)


def _lookup_function(tool):
    if isinstance(tool, CatalogIndex):
        return lambda q: tool.lookup(q, limit=5)
    return lambda q: tool.catalog_lookup(q, limit=5)


def _identified(lines: list[LineRequest]) -> int:
    return sum(1 for l in lines if l.sku)


def _lines_from(text: str, lookup) -> list[LineRequest]:
    return [line for found in find_line_texts(text) if (line := _resolve(found, lookup))]


def find_line_texts(text: str) -> list[_Found]:
    """Candidate order lines by shape: table rows, qty-first/last lines, inline 'N unit product'."""
    found: list[_Found] = []
    header: list[str] | None = None
    for raw in text.split("\n"):
        line = raw.strip()
        if not line:
            continue
        if " | " in line:
            cells = [c.strip() for c in line.split(" | ")]
            if _is_header(cells):
                header = [c.lower() for c in cells]
                continue
            row = _table_row(cells, header)
            if row:
                found.append(row)
            continue
        header = None
        item = _plain_line(line)
        if item:
            found.append(item)
    return found


def _is_header(cells: list[str]) -> bool:
    lowered = [c.lower().strip(" :") for c in cells]
    return (not any(re.search(r"\d", c) for c in cells)
            and any(c in _HEADER_QTY or c in _HEADER_REF for c in lowered))


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
        return _Found(query=m.group("rest"), qty=_qty(m.group("qty")), source=line,
                      unit=_unit(m.group("unit"), m.group("x"), m.group("qty")))
    m = _QTY_LAST.match(line)
    if m:
        return _Found(query=m.group("rest"), qty=_qty(m.group("qty")), source=line,
                      unit=_unit(m.group("unit"), None, m.group("qty")))
    m = _QTY_INLINE.search(line)
    if m:
        rest = " ".join(m.group("rest").split()[:6])
        return _Found(query=rest, qty=_qty(m.group("qty")), source=line,
                      unit=_unit(m.group("unit"), None, m.group("qty")))
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
    if not candidates or candidates[0].score < MIN_SCORE:
        if SKU_RX.search(found.query) or found.unit not in (None, "stuks"):
            return LineRequest(sku=None, qty=found.qty, unit=found.unit, source_text=found.source,
                               reference=found.reference, confidence=0.0, candidates=candidates[:3])
        return None
    top = candidates[0]
    runner_up = next((c for c in candidates[1:] if c.sku != top.sku), None)
    margin = top.score - runner_up.score if runner_up else 100.0
    confidence = line_confidence(top.score, margin)
    return LineRequest(sku=top.sku, qty=found.qty, unit=found.unit, source_text=found.source,
                       reference=found.reference, confidence=confidence,
                       candidates=candidates[:3] if confidence < 0.9 else [])


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
