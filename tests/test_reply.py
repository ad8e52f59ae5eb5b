"""mail.reply: the rep's new words and the decision, over a corpus of real-client replies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailorder.domain import ParsedEmail
from mailorder.mail.decisions import Decision
from mailorder.mail.decisions import read_decision as parse_decision
from mailorder.mail.parse import parse_email
from mailorder.mail.reply_text import reply_new_text

FIXTURES = Path(__file__).parent / "fixtures" / "replies"
EXPECTED: dict[str, dict] = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))
QUOTE_WORDS = ("REJECT <reason>", "post the order", "ORDER MO-12", "€ 649,85", "06-0403-0244")


def test_corpus_is_large_enough():
    assert len(EXPECTED) >= 30
    assert {p.name for p in FIXTURES.glob("*.eml")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_decision(name: str):
    expected = EXPECTED[name]
    email = parse_email((FIXTURES / name).read_bytes())
    decision = parse_decision(email)
    assert decision.kind == expected["kind"], reply_new_text(email)
    if "reason" in expected or decision.kind == "reject":
        assert decision.reason == expected.get("reason")
    new_text = reply_new_text(email)
    for word in QUOTE_WORDS:
        assert word not in new_text, f"quoted summary leaked into new text: {new_text!r}"
    assert "iPhone" not in new_text and "Outlook for" not in new_text
    if "text_contains" in expected:
        assert expected["text_contains"] in new_text


def _plain(text: str, subject: str = "RE: [MO-1 v1] x", html: str = "") -> ParsedEmail:
    return ParsedEmail(message_id="<m@x>", subject=subject, text=text, html=html)


@pytest.mark.parametrize(
    "text,kind",
    [
        ("APPROVE", "approve"),
        ("approve.", "approve"),
        ("Approved!", "approve"),
        ("GOEDGEKEURD", "approve"),
        ("akkoord", "approve"),
        ("**Akkoord**", "approve"),
        ("ok", "unknown"),
        ("OK!", "unknown"),
        ("👍", "unknown"),
        ("thanks", "unknown"),
        ("Approve?", "unknown"),
        ("approve not", "unknown"),
        ("disapprove", "unknown"),
        ("approvedly", "unknown"),
        ("", "unknown"),
        ("STATUS", "status"),
        ("Status?", "status"),
        ("REJECT", "reject"),
        ("afkeuren", "reject"),
        ("Reject?", "unknown"),
    ],
)
def test_first_line_commands(text: str, kind: str):
    assert parse_decision(_plain(text)).kind == kind


def test_reject_reason_stops_at_signature_and_keeps_rest_text():
    decision = parse_decision(
        _plain("REJECT: wrong SKU on line 2\nand the date is wrong\n\nKind regards,\nJan\nSales")
    )
    assert decision == Decision(
        "reject", "wrong SKU on line 2\nand the date is wrong", "Kind regards,\nJan\nSales", "body"
    )
    assert parse_decision(_plain("Reject reasonable? no: x")).reason == "reasonable? no: x"


def test_approve_keeps_following_text_for_edit_commands():
    decision = parse_decision(_plain("APPROVE\nline 2 qty 5\n"))
    assert decision.kind == "approve" and decision.text == "line 2 qty 5"
    unknown = parse_decision(_plain("line 2 qty 5\nremove 3"))
    assert unknown.kind == "unknown" and unknown.text == "line 2 qty 5\nremove 3"


def test_voting_subjects():
    assert parse_decision(_plain("", subject="Approve: [MO-3 v2] Company")).kind == "approve"
    assert parse_decision(_plain("", subject="RE: Goedkeuren: [MO-3 v2] Company")).kind == "approve"
    rejected = parse_decision(_plain("too expensive", subject="Reject: [MO-3 v2] Company"))
    assert rejected.kind == "reject" and rejected.reason == "too expensive"
    assert rejected.source == "subject"
    # a body command beats the subject
    assert parse_decision(_plain("REJECT no", subject="Approve: [MO-3 v2]")).kind == "reject"
    # a customer subject that merely mentions approval is not a vote
    assert parse_decision(_plain("", subject="RE: [MO-3 v2] Approved supplier list")).kind == "unknown"


def test_quoted_only_approve_never_counts():
    text = "Not sure yet.\n\nOn Mon, 2 Jun 2025 at 10:00, Orders <orders@example.com> wrote:\n> APPROVE\n"
    assert parse_decision(_plain(text)).kind == "unknown"
    assert reply_new_text(_plain("> APPROVE\n> REJECT x\n")) == ""


def test_wrapped_and_dutch_attributions():
    for attribution in [
        "On Mon, Jun 2, 2025 at 10:15 AM Orders <\norders@example.com> wrote:",
        "Op ma 2 jun. 2025 om 10:15 schreef Orders <orders@example.com>:",
        "Op 2 jun 2025 om 10:15 heeft Orders <orders@example.com> het volgende\ngeschreven:",
        "Am 02.06.2025 um 10:15 schrieb Orders:",
    ]:
        text = f"APPROVE\n\n{attribution}\n\nThis is the quoted summary, APPROVE or REJECT.\n"
        assert reply_new_text(_plain(text)) == "APPROVE", attribution


def test_outlook_header_block_without_separator():
    text = (
        "Goedgekeurd\n\nVan: Orders <orders@example.com>\nVerzonden: maandag 2 juni 2025 10:15\n"
        "Aan: Jan\nOnderwerp: [MO-1 v1] x\n\nREJECT <reason> ..."
    )
    assert reply_new_text(_plain(text)) == "Goedgekeurd"


def test_html_cut_at_quote_markers_and_bottom_post():
    html = (
        '<div>Looks fine</div><div>APPROVE</div><div class="gmail_quote">On x wrote:'
        "<blockquote>REJECT</blockquote></div>"
    )
    assert reply_new_text(_plain("", html=html)) == "Looks fine\nAPPROVE"
    bottom = (
        '<div class="gmail_quote"><div class="gmail_attr">On x wrote:</div>'
        '<blockquote class="gmail_quote">APPROVE or REJECT</blockquote></div><div>REJECT too late</div>'
    )
    decision = parse_decision(_plain("", html=bottom))
    assert decision.kind == "reject" and decision.reason == "too late"


def test_mobile_signatures_removed():
    for signature in [
        "Sent from my iPhone",
        "Verzonden vanaf mijn iPhone",
        "Verstuurd vanaf mijn Samsung Galaxy",
        "Get Outlook for Android",
        "Sent from Outlook for iOS",
    ]:
        assert reply_new_text(_plain(f"APPROVE\n\n{signature}")) == "APPROVE"


def test_library_baseline_for_report():
    """mail-parser-reply alone on the corpus (for comparison; our parser must do at least as well)."""
    from mailparser_reply import EmailReplyParser

    library_hits = ours = 0
    for name, expected in EXPECTED.items():
        email = parse_email((FIXTURES / name).read_bytes())
        text = EmailReplyParser(languages=["en", "nl", "de"]).parse_reply(text=email.body) or ""
        library_hits += not any(word in text for word in QUOTE_WORDS)
        ours += parse_decision(email).kind == expected["kind"]
    assert ours == len(EXPECTED)
    assert library_hits <= len(EXPECTED)


def test_reject_reason_paragraphs_and_name_signature():
    two_paragraphs = parse_decision(
        _plain(
            "REJECT the price is wrong.\n\nThe customer has a contract; "
            "use price list 4.\n\nJan de Vries\nT 030 123 45 67"
        )
    )
    assert two_paragraphs.reason == ("the price is wrong.\n\nThe customer has a contract; use price list 4.")
    contact_only = parse_decision(_plain("REJECT duplicate\n\nmob: 06-12345678"))
    assert contact_only.reason == "duplicate"


def test_html_signature_blocks_are_dropped():
    html = (
        '<div dir="ltr">REJECT wrong width<br clear="all"><div><br></div>'
        '<span class="gmail_signature_prefix">-- </span><br><div dir="ltr" class="gmail_signature">'
        '<div>Jan de Vries<br>Sales</div></div></div><br><div class="gmail_quote">'
        '<div class="gmail_attr">On x wrote:</div><blockquote>APPROVE</blockquote></div>'
    )
    decision = parse_decision(_plain("", html=html))
    assert decision.kind == "reject" and decision.reason == "wrong width"


def test_subject_tag_after_command_is_not_text():
    tagged = _plain("APPROVE [MO-12 v1]\nline 1 qty 2", subject="RE: [MO-12 v1] x")
    assert parse_decision(tagged).text == "line 1 qty 2"
