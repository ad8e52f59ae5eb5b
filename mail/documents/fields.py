"""The order's reference (the customer's PO number) and a labelled delivery date, from the text.

Owns the NL/EN/DE labels: "Inkooporder PO-7781", "Bestelnummer: 4500012873", "Purchase order
no. 123", "Bestellnummer", and "Leverdatum" / "Delivery date" / "Liefertermin" with dates
written as 12-03-2026, 12.03.2026, 2026-03-12, "12 maart 2026" or "March 12, 2026".
"""

from __future__ import annotations

import re
from datetime import date

from .models import SourcedLine

_PO_LABEL = (
    r"inkoop\s*order(?:\s*(?:nummer|nr\.?|no\.?))?|inkoopordernummer|inkoopnummer|inkoopnr\.?|"
    r"bestel(?:ling)?\s*(?:nummer|nr\.?|no\.?)|bestelnummer|bestelnr\.?|bestelbon(?:nummer)?|"
    r"order\s*(?:nummer|nr\.?|no\.?|number|#)|ordernummer|ordernr\.?|"
    r"purchase\s*order(?:\s*(?:no\.?|number|nr\.?|#))?|p\.?\s?o\.?\s*(?:no\.?|number|nr\.?|#)|"
    r"bestellnummer|bestell-?\s*nr\.?|bestellung\s*(?:nr\.?|no\.?|nummer)|auftragsnummer|"
    r"ihre\s*bestellung(?:\s*(?:nr\.?|nummer))?"
)
_VALUE = r"(?P<ref>[A-Za-z0-9][A-Za-z0-9\-_/.]*[A-Za-z0-9])"
_PO = re.compile(rf"(?<![\w-])(?:{_PO_LABEL})\s*[:#.]?\s*{_VALUE}", re.IGNORECASE)
_BARE_PO = re.compile(r"(?<![\w-])(?P<ref>PO[-_ ]?\d{3,}[\w\-/]*)", re.IGNORECASE)
_OTHER_REF = re.compile(
    rf"(?<![\w-])(?:uw\s+|onze\s+|your\s+|ihr\s+)?"
    rf"(?:referentie|kenmerk|reference|zeichen)\s*[:#]\s*{_VALUE}",
    re.IGNORECASE,
)
_DATE_ONLY = re.compile(r"\d{1,4}[-./]\d{1,2}[-./]\d{1,4}")


def find_reference(lines: list[SourcedLine]) -> str | None:
    """The first PO-number label with a value holding a digit; then a bare 'PO-1234'; then a
    'referentie:'/'reference:' label."""
    for pattern in (_PO, _BARE_PO, _OTHER_REF):
        for line in lines:
            for m in pattern.finditer(line.text):
                ref = m.group("ref").rstrip(".-/")
                if re.search(r"\d", ref) and len(ref) >= 2 and not _DATE_ONLY.fullmatch(ref):
                    return ref
    return None


_DATE_LABEL = re.compile(
    r"(?<![\w-])(?:gewenste\s+|uiterste\s+|requested\s+|gewünschter?\s+)?"
    r"(?:(?:af)?lever(?:ings)?(?:datum|dag|termijn|week)|delivery\s*(?:date|week)|deliver\s*(?:by|on)|"
    r"date\s*required|required\s*(?:by|date)|need(?:ed)?\s*by|liefer(?:termin|datum|tag|woche)|"
    r"wunsch(?:liefer)?termin|anliefer(?:ung|datum|termin))\s*[:#.]?\s*(?P<value>.*)$",
    re.IGNORECASE,
)
_MONTHS = {
    "jan": 1,
    "januari": 1,
    "january": 1,
    "januar": 1,
    "feb": 2,
    "februari": 2,
    "february": 2,
    "februar": 2,
    "mrt": 3,
    "maart": 3,
    "mar": 3,
    "march": 3,
    "märz": 3,
    "maerz": 3,
    "apr": 4,
    "april": 4,
    "mei": 5,
    "may": 5,
    "mai": 5,
    "jun": 6,
    "juni": 6,
    "june": 6,
    "jul": 7,
    "juli": 7,
    "july": 7,
    "aug": 8,
    "augustus": 8,
    "august": 8,
    "sep": 9,
    "sept": 9,
    "september": 9,
    "okt": 10,
    "oct": 10,
    "oktober": 10,
    "october": 10,
    "nov": 11,
    "november": 11,
    "dec": 12,
    "dez": 12,
    "december": 12,
    "dezember": 12,
}
_ISO = re.compile(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)")
_DMY = re.compile(r"(?<!\d)(\d{1,2})[-./](\d{1,2})[-./](\d{2}|\d{4})(?!\d)")
_NAMED = re.compile(r"(?<!\d)(\d{1,2})\.?\s+([a-zä]{3,9})\.?,?\s+(\d{4})(?!\d)", re.IGNORECASE)
_NAMED_US = re.compile(r"\b([a-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})(?!\d)", re.IGNORECASE)
_WEEK = re.compile(r"\b(?:week|wk|kw|cw|kalenderwoche)\.?\s*(\d{1,2})\b", re.IGNORECASE)


def is_field_line(text: str) -> bool:
    """A line that states the reference or the delivery date (not an order line)."""
    return bool(_PO.search(text) or _OTHER_REF.search(text) or _DATE_LABEL.search(text))


def find_delivery_date(lines: list[SourcedLine]) -> str | None:
    """A date after a delivery label (on the same line, or alone on the next line), as ISO
    yyyy-mm-dd; a week number as 'week 12'."""
    for index, line in enumerate(lines):
        m = _DATE_LABEL.search(line.text)
        if not m:
            continue
        value = m.group("value").strip()
        if not value and index + 1 < len(lines):
            value = lines[index + 1].text.strip()
        found = parse_date(value)
        if found:
            return found
    return None


def parse_date(text: str) -> str | None:
    text = text.strip()
    for pattern, order in ((_ISO, "ymd"), (_DMY, "dmy")):
        m = pattern.search(text)
        if m:
            parts = dict(zip(order, (int(g) for g in m.groups()), strict=False))
            return _iso(parts["y"], parts["m"], parts["d"])
    m = _NAMED.search(text)
    if m and m.group(2).lower() in _MONTHS:
        return _iso(int(m.group(3)), _MONTHS[m.group(2).lower()], int(m.group(1)))
    m = _NAMED_US.search(text)
    if m and m.group(1).lower() in _MONTHS:
        return _iso(int(m.group(3)), _MONTHS[m.group(1).lower()], int(m.group(2)))
    m = _WEEK.search(text)
    if m:
        return f"week {int(m.group(1))}"
    return None


def _iso(year: int, month: int, day: int) -> str | None:
    if year < 100:
        year += 2000
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None
