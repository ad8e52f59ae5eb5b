"""Edits by reply (pure): commands in the rep's new text, and the edited order block.

Commands, English and Dutch, one per line:
  line 2 qty 5 | regel 2 aantal 5 | 2: 5 rol | line 2 unit rol | sku 1 06-0104-0323
  remove 3 | verwijder 3 | add 2 rol 06-0105-0008 | toevoegen 06-0105-0008 2 rol
  customer COMP-004 | klant COMP-004 | ref PO-123 | delivery 2025-06-03 | levering 3-6-2025 | note ...

The edit block is the summary's plain-text order block; a rep may edit it inside the quoted
text of the reply (any quoting style: '> ' prefixes or none). Comparing it with the block of the
version the rep answered gives the same operations as the commands.
"""
from __future__ import annotations

import re
from datetime import date
from typing import Literal

from pydantic import BaseModel

Op = Literal["qty", "unit", "sku", "remove", "add", "customer", "reference", "delivery", "note"]


class EditOp(BaseModel):
    op: Op
    line: int | None = None  # 1-based line number of the version the rep answered
    qty: float | None = None
    unit: str | None = None
    sku: str | None = None
    value: str | None = None  # customer id, reference, note text
    day: date | None = None


SKU = r"\d{2}-?\d{4}-?\d{4}"
NUM = r"\d+(?:[.,]\d+)?"
UNIT = r"[a-zA-Z²0-9]{1,12}"

LINE_WORD = r"(?:line|regel|r|l|#)"
QTY_WORD = r"(?:qty|quantity|aantal|hoeveelheid|q)"
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"^{LINE_WORD}\s*(\d+)\s*[:,]?\s*{QTY_WORD}\s*[:=]?\s*({NUM})\s*({UNIT})?$", re.I), "qty"),
    (re.compile(rf"^(\d+)\s*:\s*({NUM})\s*({UNIT})?$", re.I), "qty"),
    (re.compile(rf"^(?:{LINE_WORD}\s*(\d+)\s*[:,]?\s*(?:unit|eenheid)|(?:unit|eenheid)\s*(\d+))\s*[:=]?\s*({UNIT})$", re.I), "unit"),
    (re.compile(rf"^(?:{LINE_WORD}\s*(\d+)\s*[:,]?\s*(?:sku|artikel|product)|(?:sku|artikel)\s*(\d+))\s*[:=]?\s*({SKU})$", re.I), "sku"),
    (re.compile(r"^(?:remove|delete|verwijder|verwijderen|schrap)\s+(?:line\s+|regel\s+)?(\d+)$", re.I), "remove"),
    (re.compile(rf"^(?:add|toevoegen|voeg toe)\s*:?\s*({NUM})\s*({UNIT})?\s*(?:x\s*)?({SKU})$", re.I), "add"),
    (re.compile(rf"^(?:add|toevoegen|voeg toe)\s*:?\s*({SKU})\s+({NUM})\s*({UNIT})?$", re.I), "add_sku_first"),
    (re.compile(r"^(?:customer|klant)\s*[:=]?\s*(COMP-\d+)$", re.I), "customer"),
    (re.compile(r"^(?:ref|reference|referentie|po)\s*[:=]?\s*(.+)$", re.I), "reference"),
    (re.compile(r"^(?:delivery|levering|leverdatum|bezorgen)\s*[:=]?\s*(.+)$", re.I), "delivery"),
    (re.compile(r"^(?:note|opmerking|comment)\s*[:=]?\s*(.+)$", re.I), "note"),
]


def _num(text: str) -> float:
    return float(text.replace(",", "."))


def _sku(text: str) -> str:
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


def parse_command(line: str) -> EditOp | None:
    line = line.strip().strip("*").strip()
    for pattern, kind in _PATTERNS:
        m = pattern.match(line)
        if not m:
            continue
        g = m.groups()
        if kind == "qty":
            return EditOp(op="qty", line=int(g[0]), qty=_num(g[1]), unit=g[2])
        if kind == "unit":
            return EditOp(op="unit", line=int(g[0] or g[1]), unit=g[2])
        if kind == "sku":
            return EditOp(op="sku", line=int(g[0] or g[1]), sku=_sku(g[2]))
        if kind == "remove":
            return EditOp(op="remove", line=int(g[0]))
        if kind == "add":
            return EditOp(op="add", qty=_num(g[0]), unit=g[1], sku=_sku(g[2]))
        if kind == "add_sku_first":
            return EditOp(op="add", sku=_sku(g[0]), qty=_num(g[1]), unit=g[2])
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
        op = parse_command(line)
        (ops.append(op) if op else rest.append(line))
    return ops, rest


# --- the edit block ----------------------------------------------------------------------------

BLOCK_START = re.compile(r"-{2,}\s*ORDER\s+MO-(\d+)\s+v(\d+)", re.I)
BLOCK_END = re.compile(r"-{2,}\s*END\s+ORDER", re.I)
QUOTE_PREFIX = re.compile(r"^(?:\s*>)+\s?")


class BlockLine(BaseModel):
    sku: str | None
    qty: float | None
    unit: str | None


class EditBlock(BaseModel):
    draft_id: int
    version: int
    customer: str | None = None
    reference: str | None = None
    delivery: str | None = None
    lines: dict[int, BlockLine] = {}
    new_lines: list[BlockLine] = []  # lines the rep added without a number


def format_block(draft_id: int, version: int, *, customer: str | None, reference: str | None,
                 delivery: str | None, lines: list[tuple[str | None, float | None, str | None, str]]) -> str:
    """The block as the summary prints it: `n | sku | qty | unit | name`."""
    out = [f"--- ORDER MO-{draft_id} v{version} (edit below, keep this line) ---",
           f"customer: {customer or '?'}", f"reference: {reference or ''}", f"delivery: {delivery or ''}"]
    for n, (sku, qty, unit, name) in enumerate(lines, 1):
        out.append(f"{n} | {sku or '?'} | {_fmt(qty)} | {unit or ''} | {name}")
    out.append(f"--- END ORDER MO-{draft_id} ---")
    return "\n".join(out)


def _fmt(qty: float | None) -> str:
    if qty is None:
        return "?"
    return str(int(qty)) if float(qty).is_integer() else f"{qty:g}"


def find_block(text: str) -> EditBlock | None:
    """The (possibly quoted, possibly edited) order block in a reply's full text."""
    lines = [QUOTE_PREFIX.sub("", l).rstrip() for l in text.splitlines()]
    start = next((i for i, l in enumerate(lines) if BLOCK_START.search(l)), None)
    if start is None:
        return None
    m = BLOCK_START.search(lines[start])
    block = EditBlock(draft_id=int(m.group(1)), version=int(m.group(2)))
    lines_out: dict[int, BlockLine] = {}
    for line in lines[start + 1:]:
        if BLOCK_END.search(line):
            break
        key, sep, value = line.partition(":")
        if sep and "|" not in line and key.strip().lower() in ("customer", "klant", "reference", "referentie", "delivery", "levering"):
            field = {"klant": "customer", "referentie": "reference", "levering": "delivery"}.get(key.strip().lower(), key.strip().lower())
            setattr(block, field, value.strip() or None)
            continue
        cells = [c.strip() for c in line.split("|")]
        if len(cells) < 3:
            continue
        number, sku, qty = cells[0], cells[1], cells[2]
        unit = cells[3] if len(cells) > 3 else ""
        parsed = BlockLine(sku=_sku(sku) if re.fullmatch(SKU, sku) else None,
                           qty=_num(qty) if re.fullmatch(NUM, qty) else None, unit=unit or None)
        if number.isdigit():
            lines_out[int(number)] = parsed
        elif number in ("", "+", "new", "nieuw"):
            block.new_lines.append(parsed)
    block.lines = lines_out
    return block


def diff_blocks(before: EditBlock, after: EditBlock) -> list[EditOp]:
    """Operations that turn the block the summary sent into the block the rep sent back."""
    ops: list[EditOp] = []
    for n, old in before.lines.items():
        new = after.lines.get(n)
        if new is None:
            ops.append(EditOp(op="remove", line=n))
            continue
        if new.sku and new.sku != old.sku:
            ops.append(EditOp(op="sku", line=n, sku=new.sku))
        if new.qty is not None and new.qty != old.qty:
            ops.append(EditOp(op="qty", line=n, qty=new.qty, unit=new.unit if new.unit != old.unit else None))
        elif new.unit and new.unit != old.unit:
            ops.append(EditOp(op="unit", line=n, unit=new.unit))
    for n, new in after.lines.items():
        if n not in before.lines and new.sku and new.qty:
            ops.append(EditOp(op="add", sku=new.sku, qty=new.qty, unit=new.unit))
    for new in after.new_lines:
        if new.sku and new.qty:
            ops.append(EditOp(op="add", sku=new.sku, qty=new.qty, unit=new.unit))
    if after.customer and after.customer != "?" and after.customer != before.customer:
        ops.append(EditOp(op="customer", value=after.customer.upper()))
    if (after.reference or None) != (before.reference or None) and after.reference is not None:
        ops.append(EditOp(op="reference", value=after.reference))
    if after.delivery and after.delivery != before.delivery:
        day = parse_date(after.delivery)
        if day:
            ops.append(EditOp(op="delivery", day=day, value=after.delivery))
    return ops
