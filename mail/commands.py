"""Edit commands in a rep's reply (pure): one command per line of the rep's new text.

Commands, English and Dutch, one per line:
  line 2 qty 5 | regel 2 aantal 5 | 2: 5 rol | line 2 unit rol | sku 1 06-0104-0323
  remove 3 | verwijder 3 | add 2 rol 06-0105-0008 | toevoegen 06-0105-0008 2 rol
  customer COMP-004 | klant COMP-004 | ref PO-123 | delivery 2025-06-03 | levering 3-6-2025 | note ...
  1b | line 1 b | regel 1 b | 1b 3a   (pick the lettered alternative the summary offers for a line)

The edited order block (the other way to edit) is a wire format of the review: agent/review/wire.py.
"""

from __future__ import annotations

import re
from datetime import date

from mailorder.domain import PICK_LETTERS, EditOp

SKU = r"\d{2}-?\d{4}-?\d{4}"
NUM = r"\d+(?:[.,]\d+)?"
UNIT = r"[a-zA-Z²0-9]{1,12}"

LINE_WORD = r"(?:line|regel|r|l|#)"
QTY_WORD = r"(?:qty|quantity|aantal|hoeveelheid|q)"
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"^{LINE_WORD}\s*(\d+)\s*[:,]?\s*{QTY_WORD}\s*[:=]?\s*({NUM})\s*({UNIT})?$", re.I), "qty"),
    (re.compile(rf"^(\d+)\s*:\s*({NUM})\s*({UNIT})?$", re.I), "qty"),
    (
        re.compile(
            rf"^(?:{LINE_WORD}\s*(\d+)\s*[:,]?\s*(?:unit|eenheid)|(?:unit|eenheid)\s*(\d+))\s*[:=]?\s*({UNIT})$",
            re.I,
        ),
        "unit",
    ),
    (
        re.compile(
            rf"^(?:{LINE_WORD}\s*(\d+)\s*[:,]?\s*(?:sku|artikel|product)|(?:sku|artikel)\s*(\d+))\s*[:=]?\s*({SKU})$",
            re.I,
        ),
        "sku",
    ),
    (
        re.compile(r"^(?:remove|delete|verwijder|verwijderen|schrap)\s+(?:line\s+|regel\s+)?(\d+)$", re.I),
        "remove",
    ),
    (re.compile(rf"^(?:add|toevoegen|voeg toe)\s*:?\s*({NUM})\s*({UNIT})?\s*(?:x\s*)?({SKU})$", re.I), "add"),
    (
        re.compile(rf"^(?:add|toevoegen|voeg toe)\s*:?\s*({SKU})\s+({NUM})\s*({UNIT})?$", re.I),
        "add_sku_first",
    ),
    (re.compile(r"^(?:customer|klant)\s*[:=]?\s*(COMP-\d+)$", re.I), "customer"),
    (re.compile(r"^(?:ref|reference|referentie|po)\s*[:=]?\s*(.+)$", re.I), "reference"),
    (re.compile(r"^(?:delivery|levering|leverdatum|bezorgen)\s*[:=]?\s*(.+)$", re.I), "delivery"),
    (re.compile(r"^(?:note|opmerking|comment)\s*[:=]?\s*(.+)$", re.I), "note"),
]


def parse_number(text: str) -> float:
    return float(text.replace(",", "."))


def normalise_sku(text: str) -> str:
    digits = text.replace("-", "")
    return f"{digits[:2]}-{digits[2:6]}-{digits[6:]}"


def parse_date(text: str) -> date | None:
    text = text.strip()
    m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text)
    if m:
        y, mo, d = map(int, m.groups())
    else:
        m = re.fullmatch(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})", text)
        if not m:
            return None
        d, mo, y = map(int, m.groups())
    try:
        return date(y, mo, d)
    except ValueError:
        return None


_PICK = re.compile(rf"(?:(?:line|regel|r|l)\s*)?(\d{{1,3}})\s*([{PICK_LETTERS}])", re.I)
_PICKS_LINE = re.compile(rf"^\s*{_PICK.pattern}(?:\s*[,;/ ]\s*{_PICK.pattern})*\s*[.!]?\s*$", re.I)


def parse_picks(line: str) -> list[EditOp]:
    """ "1b", "line 1 b", "regel 1 b", "1b 3a": picks of lettered alternatives ([] when the line is
    anything else)."""
    if not _PICKS_LINE.match(line):
        return []
    return [EditOp(op="pick", line=int(n), value=letter.lower()) for n, letter in _PICK.findall(line)]


def parse_command(line: str) -> EditOp | None:
    line = line.strip().strip("*").strip()
    picks = parse_picks(line)
    if len(picks) == 1:
        return picks[0]
    for pattern, kind in _PATTERNS:
        m = pattern.match(line)
        if not m:
            continue
        g = m.groups()
        if kind == "qty":
            return EditOp(op="qty", line=int(g[0]), qty=parse_number(g[1]), unit=g[2])
        if kind == "unit":
            return EditOp(op="unit", line=int(g[0] or g[1]), unit=g[2])
        if kind == "sku":
            return EditOp(op="sku", line=int(g[0] or g[1]), sku=normalise_sku(g[2]))
        if kind == "remove":
            return EditOp(op="remove", line=int(g[0]))
        if kind == "add":
            return EditOp(op="add", qty=parse_number(g[0]), unit=g[1], sku=normalise_sku(g[2]))
        if kind == "add_sku_first":
            return EditOp(op="add", sku=normalise_sku(g[0]), qty=parse_number(g[1]), unit=g[2])
        if kind == "customer":
            return EditOp(op="customer", value=g[0].upper())
        if kind == "reference":
            return EditOp(op="reference", value=g[0].strip())
        if kind == "delivery":
            day = parse_date(g[0])
            return EditOp(op="delivery", day=day, value=g[0].strip()) if day else None
        if kind == "note":
            return EditOp(op="note", value=g[0].strip())
    return None


def parse_commands(text: str) -> tuple[list[EditOp], list[str]]:
    """Edit operations in the rep's new text, and the non-empty lines that were not commands."""
    ops, rest = [], []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        picks = parse_picks(line)  # several picks may share a line: "1b 3a"
        op = parse_command(line) if not picks else None
        if picks:
            ops.extend(picks)
        elif op is not None:
            ops.append(op)
        else:
            rest.append(line)
    return ops, rest
