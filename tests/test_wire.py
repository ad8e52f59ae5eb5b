"""agent.review.wire: the subject tag and the edit block, written and read by one module."""

from datetime import date

from mailorder.agent.review.wire import (
    diff_blocks,
    find_block,
    find_tag,
    find_tags_in_raw,
    format_block,
    format_tag,
)
from mailorder.domain import Customer, Draft, DraftLine, EditOp

DRAFT = Draft(
    customer=Customer(company_id="COMP-004"),
    reference="PO-1",
    delivery_date=date(2025, 6, 3),
    lines=[
        DraftLine(sku="06-0104-0221", qty=3, unit="mtr", product_name="ORACAL 751C limegroen"),
        DraftLine(sku="06-0104-0300", qty=2, unit="rol", product_name="ORACAL 751C wit"),
        DraftLine(sku=None, qty=1, unit=None, source_text="unknown thing"),
    ],
)
BLOCK = format_block(12, 1, DRAFT)


def test_tag_round_trips():
    assert find_tag(f"RE: {format_tag(12, 3)} Signshop – Bestelling") == (12, 3)
    assert find_tag("[mo-7  V2] lower case, two spaces") == (7, 2)
    assert find_tag("no tag here") is None
    raw = f"Subject: {format_tag(4, 1)}\r\n\r\n> {format_tag(4, 1)} {format_tag(5, 2)}".encode()
    assert find_tags_in_raw(raw) == [(4, 1), (5, 2)]


def test_block_round_trips_without_changes():
    block = find_block(BLOCK)
    assert block.draft_id == 12 and block.version == 1 and block.customer == "COMP-004"
    assert block.reference == "PO-1" and block.delivery == "2025-06-03"
    assert [(line.sku, line.qty, line.unit) for line in block.lines.values()] == [
        ("06-0104-0221", 3, "mtr"),
        ("06-0104-0300", 2, "rol"),
        (None, 1, "?"),
    ]
    assert diff_blocks(block, find_block(BLOCK)) == []


def test_edited_block_inside_a_quoted_reply_gives_the_changes():
    edited = (
        BLOCK.replace("1 | 06-0104-0221 | 3 | mtr", "1 | 06-0104-0221 | 5 | mtr")
        .replace("2 | 06-0104-0300 | 2 | rol | ORACAL 751C wit\n", "")
        .replace("3 | ? | 1 | ? |", "3 | 06-0104-0400 | 1 | rol |")
        .replace("customer: COMP-004", "customer: COMP-007")
    )
    # the rep also adds a line without a number
    edited = edited.replace("--- END ORDER", " | 06-0105-0008 | 2 | rol | new\n--- END ORDER")
    quoted = "Changed it, APPROVE\n\nOn Mon, orders wrote:\n" + "\n".join(
        "> " + ln for ln in edited.splitlines()
    )
    ops = diff_blocks(find_block(BLOCK), find_block(quoted))
    assert EditOp(op="qty", line=1, qty=5) in ops
    assert EditOp(op="remove", line=2) in ops
    assert EditOp(op="sku", line=3, sku="06-0104-0400") in ops
    assert EditOp(op="unit", line=3, unit="rol") in ops
    assert EditOp(op="add", sku="06-0105-0008", qty=2, unit="rol") in ops
    assert EditOp(op="customer", value="COMP-007") in ops


def test_no_block_in_text():
    assert find_block("APPROVE\n-- \nAnna") is None
