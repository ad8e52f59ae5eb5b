"""Edit commands in a rep's reply (pure parsing)."""

from datetime import date

import pytest

from mailorder.domain import EditOp
from mailorder.mail.commands import parse_command, parse_commands


@pytest.mark.parametrize(
    "text, expected",
    [
        ("line 2 qty 5", EditOp(op="qty", line=2, qty=5)),
        ("regel 2 aantal 5", EditOp(op="qty", line=2, qty=5)),
        ("2: 5 rol", EditOp(op="qty", line=2, qty=5, unit="rol")),
        ("Line 3 quantity 2,5 mtr", EditOp(op="qty", line=3, qty=2.5, unit="mtr")),
        ("remove 3", EditOp(op="remove", line=3)),
        ("verwijder regel 1", EditOp(op="remove", line=1)),
        ("add 2 rol 06-0105-0008", EditOp(op="add", qty=2, unit="rol", sku="06-0105-0008")),
        ("toevoegen 0601050008 4 mtr", EditOp(op="add", qty=4, unit="mtr", sku="06-0105-0008")),
        ("sku 1 06-0104-0323", EditOp(op="sku", line=1, sku="06-0104-0323")),
        ("line 1 unit rol", EditOp(op="unit", line=1, unit="rol")),
        ("customer COMP-004", EditOp(op="customer", value="COMP-004")),
        ("klant comp-012", EditOp(op="customer", value="COMP-012")),
        ("ref PO-123", EditOp(op="reference", value="PO-123")),
        ("delivery 2025-06-03", EditOp(op="delivery", day=date(2025, 6, 3), value="2025-06-03")),
        ("levering 3-6-2025", EditOp(op="delivery", day=date(2025, 6, 3), value="3-6-2025")),
        ("note deliver at the back door", EditOp(op="note", value="deliver at the back door")),
    ],
)
def test_commands_in_english_and_dutch(text, expected):
    assert parse_command(text) == expected


def test_prose_is_not_a_command():
    ops, rest = parse_commands("APPROVE\nline 2 qty 5\nthanks, looks good\n\nremove 1")
    assert [o.op for o in ops] == ["qty", "remove"]
    assert rest == ["APPROVE", "thanks, looks good"]
    assert parse_command("delivery whenever you can") is None


@pytest.mark.parametrize(
    "text, picks",
    [
        ("1b", [(1, "b")]),
        ("line 1 b", [(1, "b")]),
        ("regel 1 b", [(1, "b")]),
        ("1b 3a", [(1, "b"), (3, "a")]),
        ("1B, 2c.", [(1, "b"), (2, "c")]),
        ("1d", []),  # three choices at most
        ("1 b rol", []),
        ("12", []),
    ],
)
def test_picks_of_lettered_alternatives(text, picks):
    ops, rest = parse_commands(text)
    assert [(op.line, op.value) for op in ops if op.op == "pick"] == picks
    assert rest == ([] if picks else [text])


def test_a_pick_with_an_approval_approves_after_the_pick():
    from mailorder.mail.decisions import decide

    decision = decide("APPROVE\n1b 3a\n\nThanks", "RE: [MO-4 v1] x")
    assert decision.kind == "approve" and decision.text == "1b 3a"
