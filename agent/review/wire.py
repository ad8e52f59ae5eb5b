"""The review's wire formats, written and read here only: the summary's subject tag `[MO-12 v3]`
and the plain-text order block a rep may edit inside the quoted summary of a reply.

The block, as the summary prints it:
    --- ORDER MO-12 v3 (edit below, keep this line) ---
    customer: COMP-004
    reference: PO-123
    delivery: 2025-06-03
    1 | 06-0104-0221 | 3 | rol | ORACAL 751C 063 limegroen 1260 mm x 50 M
    --- END ORDER MO-12 ---
A rep edits quantities, units or SKUs, deletes a line or adds one (`+ | sku | qty | unit`), in any
quoting style ('> ' prefixes or none); diff_blocks turns the change into edit operations.
"""

from __future__ import annotations

import re

from pydantic import BaseModel

from mailorder.domain import Draft, EditOp
from mailorder.mail.commands import NUM, SKU, normalise_sku, parse_date, parse_number
from mailorder.mail.render import clip, plain_qty

# --- the subject tag -----------------------------------------------------------------------------

TAG = re.compile(r"\[MO-(\d{1,12})\s+v(\d{1,6})\]", re.I)
TAG_BYTES = re.compile(TAG.pattern.encode(), re.I)  # the tag inside raw messages (bounces)


def format_tag(draft_id: int, version: int) -> str:
    return f"[MO-{draft_id} v{version}]"


def find_tag(text: str) -> tuple[int, int] | None:
    """(draft id, version) of the first tag in a text (a subject), or None."""
    match = TAG.search(text or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def find_tags_in_raw(raw: bytes) -> list[tuple[int, int]]:
    """(draft id, version) of every tag in a raw message, first occurrence order."""
    return list(dict.fromkeys((int(d), int(v)) for d, v in TAG_BYTES.findall(raw)))


# --- the edit block ------------------------------------------------------------------------------


def format_block(draft_id: int, version: int, draft: Draft) -> str:
    """The compact, delimited block a rep can edit in a reply."""
    rows = [
        f"--- ORDER MO-{draft_id} v{version} (edit below, keep this line) ---",
        f"customer: {draft.customer.company_id if draft.customer else '?'}",
        f"reference: {draft.reference or ''}".rstrip(),
        f"delivery: {draft.delivery_date.isoformat() if draft.delivery_date else ''}".rstrip(),
    ]
    for number, line in enumerate(draft.lines, start=1):
        rows.append(
            " | ".join(
                [
                    str(number),
                    line.sku or "?",
                    plain_qty(line.qty),
                    line.unit or "?",
                    clip(line.product_name or line.source_text, 60),
                ]
            )
        )
    rows.append(f"--- END ORDER MO-{draft_id} ---")
    return "\n".join(rows)


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


def find_block(text: str) -> EditBlock | None:
    """The (possibly quoted, possibly edited) order block in a reply's full text."""
    lines = [QUOTE_PREFIX.sub("", ln).rstrip() for ln in text.splitlines()]
    start = next((i for i, ln in enumerate(lines) if BLOCK_START.search(ln)), None)
    if start is None:
        return None
    m = BLOCK_START.search(lines[start])
    assert m is not None  # the line was found by this pattern
    block = EditBlock(draft_id=int(m.group(1)), version=int(m.group(2)))
    lines_out: dict[int, BlockLine] = {}
    for line in lines[start + 1 :]:
        if BLOCK_END.search(line):
            break
        key, sep, value = line.partition(":")
        if (
            sep
            and "|" not in line
            and key.strip().lower()
            in ("customer", "klant", "reference", "referentie", "delivery", "levering")
        ):
            field = {"klant": "customer", "referentie": "reference", "levering": "delivery"}.get(
                key.strip().lower(), key.strip().lower()
            )
            setattr(block, field, value.strip() or None)
            continue
        cells = [c.strip() for c in line.split("|")]
        if len(cells) < 3:
            continue
        number, sku, qty = cells[0], cells[1], cells[2]
        unit = cells[3] if len(cells) > 3 else ""
        parsed = BlockLine(
            sku=normalise_sku(sku) if re.fullmatch(SKU, sku) else None,
            qty=parse_number(qty) if re.fullmatch(NUM, qty) else None,
            unit=unit or None,
        )
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
