"""mail.render + mail.compose: what the agent sends."""

from __future__ import annotations

from datetime import UTC, date, datetime
from email import policy
from email.parser import BytesParser
from urllib.parse import unquote

import pytest

from mailorder.agent.review.wire import format_block, format_tag
from mailorder.domain import Candidate, Customer, Draft, DraftLine, Issue, IssueCode, ParsedEmail, TriageLabel
from mailorder.mail import i18n
from mailorder.mail.compose import build_message, make_message_id, thread_references
from mailorder.mail.decisions import read_decision as parse_decision
from mailorder.mail.parse import parse_email
from mailorder.mail.render import (
    ConfirmationContext,
    NoticeContext,
    RenderedMail,
    SummaryContext,
    render_confirmation,
    render_notice,
    render_summary,
    reply_subject,
)

ORIGINAL = ParsedEmail(
    message_id="<orig@customer.nl>",
    subject="Bestelling 2 juni",
    sender="contact9@example.com",
    sender_name="Person Person",
    date=datetime(2025, 6, 2, 9, 30, tzinfo=UTC),
    references=["<root@customer.nl>"],
    text="Goedemorgen,\n\nGraag leveren:\n3 mtr 751-063 <script>x</script>\n2x lus120 cyaan\n\n"
    "Met vriendelijke groet,\nPerson",
)


def _draft(
    customer: Customer | None = Customer(
        company_id="COMP-004", company_name="Company D & Zn", contact_email="contact9@example.com"
    ),
) -> Draft:
    return Draft(
        customer=customer,
        reference="PO-123",
        delivery_date=date(2025, 6, 3),
        lines=[
            DraftLine(
                sku="06-0104-0221",
                product_name="ORACAL 751C 063 limegroen 1260 mm x 50 M",
                qty=2.5,
                unit="mtr",
                unit_price=9.95,
                line_total=24.88,
                confidence=0.95,
                source_text="3 mtr 751-063 <b>",
                reference="Neef",
            ),
            DraftLine(
                sku=None,
                qty=2,
                unit=None,
                confidence=0.2,
                source_text="2x lus120 cyaan",
                candidates=[
                    Candidate(sku="11-0001-0001", name="LUS-120 cyaan 1L", score=70, base_unit="stuks")
                ],
            ),
        ],
        total=1234.5,
        issues=[
            Issue(code=IssueCode.PRODUCT_NOT_IDENTIFIED, message="line not identified", line=2),
            Issue(code=IssueCode.LOW_CONFIDENCE, message="check me", blocking=False),
        ],
        extraction_method="gpt-4.1-mini",
        prompt_version="extract-v3",
        confidence=0.5,
    )


def _summary_ctx(**kw) -> SummaryContext:
    base = (
        dict(
            draft_id=12,
            version=1,
            draft=_draft(),
            original=ORIGINAL,
            rep="rep@example.com",
            reply_address="orders+tok@example.com",
            agent_address="orders@example.com",
            triage=TriageLabel.ORDER,
        )
        | kw
    )
    wired = dict(
        tag=format_tag(12, base["version"]), edit_block=format_block(12, base["version"], base["draft"])
    )
    return SummaryContext(**(wired | base))


def _notice(draft_id: int, version: int, **kw) -> NoticeContext:
    current = kw.get("current_version")
    return NoticeContext(
        draft_id=draft_id,
        version=version,
        tag=format_tag(draft_id, version),
        current_tag=format_tag(draft_id, current) if current else None,
        **kw,
    )


def test_formatting_helpers():
    assert i18n.money(1234.5, "nl") == "€\xa01.234,50" and i18n.money(1234.5, "en") == "€1,234.50"
    assert i18n.money(1234.5, "de") == "1.234,50\xa0€" and i18n.money(None, "nl") == "€\xa00,00"
    assert i18n.number(3, "nl") == "3" and i18n.number(2.5, "nl") == "2,5" and i18n.number(2.5, "en") == "2.5"
    assert i18n.number(1500, "nl") == "1500" and i18n.number(None, "en") == "?"
    assert (
        i18n.day(date(2025, 6, 3), "nl") == "3 jun 2025" and i18n.day(date(2025, 6, 3), "en") == "3 Jun 2025"
    )
    assert reply_subject("Bestelling") == "Re: Bestelling" and reply_subject("RE: x") == "RE: x"
    assert i18n.language("NL-be") == "nl" and i18n.language("fr", default="de") == "de"


def test_summary_subject_and_content():
    mail = render_summary(_summary_ctx())
    assert mail.subject == "[MO-12 v1] Company D & Zn – Bestelling 2 juni"
    for part in (mail.text, mail.html):
        for needle in (
            "COMP-004",
            "PO-123",
            "3 Jun 2025",
            "06-0104-0221",
            "€1,234.50",
            "gpt-4.1-mini",
            "extract-v3",
            "11-0001-0001",
            "line not identified",
            "contact9@example.com",
            "APPROVE",
            "REJECT",
        ):
            assert needle in part, needle
    assert "&lt;script&gt;" in mail.html and "<script>" not in mail.html  # original escaped
    assert "Company D &amp; Zn" in mail.html
    assert "&lt;b&gt;" in mail.html  # source text escaped


def test_summary_html_is_email_safe():
    html = render_summary(_summary_ctx()).html
    assert "<style" not in html and "flex" not in html and "<link" not in html
    assert "max-width:680px" in html and "http://" not in html and "https://" not in html


def test_summary_mailto_buttons():
    html = render_summary(_summary_ctx()).html
    assert "mailto:orders+tok@example.com?subject=APPROVE%20%5BMO-12%20v1%5D&amp;body=APPROVE" in html
    assert unquote("REJECT%20reason%3A%20") in unquote(html)


def test_summary_edit_block_in_text():
    text = render_summary(_summary_ctx()).text
    block = format_block(12, 1, _draft())
    assert block in text
    lines = block.splitlines()
    assert lines[0] == "--- ORDER MO-12 v1 (edit below, keep this line) ---"
    assert lines[1:4] == ["customer: COMP-004", "reference: PO-123", "delivery: 2025-06-03"]
    assert lines[4].startswith("1 | 06-0104-0221 | 2.5 | mtr | ORACAL")
    assert lines[5].startswith("2 | ? | 2 | ? | 2x lus120")
    assert lines[-1] == "--- END ORDER MO-12 ---"


def test_summary_unknown_customer_and_changes():
    ctx = _summary_ctx(
        draft=_draft(customer=None),
        version=2,
        changes=["line 1 qty 2 → 2,5"],
        customer_hints=[Customer(company_id="COMP-007", company_name="Company G")],
    )
    mail = render_summary(ctx)
    assert mail.subject.startswith("[MO-12 v2] Unknown customer – ")
    for part in (mail.text, mail.html):
        assert "customer COMP-NNN" in part and "COMP-007" in part and "line 1 qty 2" in part
    assert "customer: ?" in mail.text


def test_summary_quoted_in_reply_does_not_count_as_decision():
    mail = render_summary(_summary_ctx())
    quoted = "\n".join("> " + line for line in mail.text.splitlines())
    reply = ParsedEmail(
        message_id="<r@x>",
        subject="RE: " + mail.subject,
        text="On Mon, 2 Jun 2025, Orders <orders@example.com> wrote:\n" + quoted,
    )
    assert parse_decision(reply).kind == "unknown"


def test_confirmation_language_and_content():
    ctx = ConfirmationContext(
        erp_order_id="SO-778", draft=_draft(), original=ORIGINAL, agent_address="orders@example.com"
    )
    mail = render_confirmation(ctx)
    assert mail.subject == "Re: Bestelling 2 juni"
    assert "SO-778" in mail.text and "Bedankt" in mail.text and "PO-123" in mail.text
    assert "06-0104-0221" in mail.html and "€\xa01.234,50" in mail.html
    english = ORIGINAL.model_copy(
        update={"subject": "Order", "text": "Hello, please send us 2 rolls. Thanks and kind regards"}
    )
    assert i18n.guess_language(english.subject + english.text) == "en"
    mail_en = render_confirmation(ctx.model_copy(update={"original": english}))
    assert "Thank you for your order" in mail_en.text and "SO-778" in mail_en.html


@pytest.mark.parametrize(
    "kind,ctx,needles",
    [
        ("not_understood", _notice(5, 2, received_text="ok 👍"), ["ok 👍", "APPROVE", "REJECT"]),
        (
            "refused",
            _notice(5, 1, reason="outdated version", current_version=3),
            ["outdated version", "[MO-5 v3]"],
        ),
        ("erp_error", _notice(5, 2, reason="SKU 06-0000-0000 <unknown>"), ["SKU 06-0000-0000", "stays open"]),
        ("erp_unavailable", _notice(5, 2, attempts=5, reason="timeout"), ["5 attempts", "timeout"]),
        ("status", _notice(5, 2, status="waiting for approval"), ["waiting for approval"]),
        ("posted", _notice(5, 2, erp_order_id="SO-9"), ["SO-9"]),
    ],
)
def test_notices(kind, ctx, needles):
    mail = render_notice(kind, ctx)
    assert mail.subject.startswith(f"[MO-5 v{ctx.version}] ")
    for needle in needles:
        assert needle in mail.text, needle
    assert "<unknown>" not in mail.html


def test_notice_unknown_kind():
    with pytest.raises(ValueError):
        render_notice("nonsense", _notice(1, 1))  # type: ignore[arg-type]


def test_make_message_id_deterministic_and_safe():
    assert make_message_id("summary", 12, "v1", domain="Example.com") == "<mo.summary.12.v1@example.com>"
    assert make_message_id("notice", "a b/c", domain="x.nl") == "<mo.notice.a-b-c@x.nl>"


def test_build_message_headers_and_parts():
    rendered = RenderedMail(subject="[MO-12 v1] Café – x", text="APPROVE?\n", html="<p>hé</p>")
    refs = [f"<r{i}@x>" for i in range(30)]
    msg = build_message(
        rendered,
        from_addr="Orders <orders@example.com>",
        to=["rep@example.com"],
        reply_to="orders+tok@example.com",
        message_id="<mo.summary.12.v1@example.com>",
        in_reply_to="<orig@customer.nl>",
        references=refs,
        extra_headers={"X-Mailorder-Draft": "12"},
        date=datetime(2025, 6, 2, 10, 0, tzinfo=UTC),
    )
    raw = msg.as_bytes(policy=policy.SMTP)
    back = BytesParser(policy=policy.default).parsebytes(raw)
    assert back["Auto-Submitted"] == "auto-generated" and back["X-Mailorder"] is None  # the outbox signs it
    assert back["Message-ID"] == "<mo.summary.12.v1@example.com>"
    assert back["In-Reply-To"] == "<orig@customer.nl>" and back["X-Mailorder-Draft"] == "12"
    assert back.get_content_type() == "multipart/alternative"
    chain = str(back["References"]).split()
    assert len(chain) == 20 and chain[0] == "<r0@x>" and chain[-1] == "<orig@customer.nl>"
    parsed = parse_email(raw)
    assert parsed.subject == "[MO-12 v1] Café – x" and parsed.reply_to == ["orders+tok@example.com"]
    assert parsed.text.strip() == "APPROVE?" and parsed.html_text == "hé"
    assert parsed.date == datetime(2025, 6, 2, 10, 0, tzinfo=UTC)


def test_build_message_without_html_or_threading():
    msg = build_message(
        RenderedMail(subject="s", text="t"),
        from_addr="a@b.nl",
        to=["c@d.nl"],
        message_id="<m@b.nl>",
        auto_submitted=False,
    )
    assert msg["In-Reply-To"] is None and msg["References"] is None
    assert msg["Auto-Submitted"] is None
    assert msg.get_content_type() == "text/plain"


def test_thread_references_dedupes():
    assert thread_references(["<a@x>", "<b@x>"], "<b@x>") == ["<a@x>", "<b@x>"]
    assert thread_references([], "<c@x>") == ["<c@x>"]


def test_refusal_reasons_cover_token_errors():
    from mailorder.mail.render import refusal_reason

    for code in ("malformed", "bad signature", "expired", "wrong rep", "outdated version"):
        assert refusal_reason(code) != code
    assert refusal_reason("something new") == "something new"


def test_build_message_strips_linebreaks_from_subject():
    msg = build_message(
        RenderedMail(subject="a\r\nBcc: evil@x.nl", text="t"),
        from_addr="a@b.nl",
        to=["c@d.nl"],
        message_id="<m@b.nl>",
    )
    assert msg["Subject"] == "a Bcc: evil@x.nl" and msg["Bcc"] is None


def test_unquoted_summary_in_unknown_client_is_not_a_decision():
    """If a client quotes without any marker, the summary's own first lines must not decide."""
    mail = render_summary(_summary_ctx())
    from mailorder.mail.html import html_to_text

    for body in (mail.text, html_to_text(mail.html)):
        reply = ParsedEmail(message_id="<r@x>", subject="RE: " + mail.subject, text="\n\n" + body)
        assert parse_decision(reply).kind == "unknown"


def test_a_dutch_rep_reads_a_dutch_summary_with_dutch_commands():
    mail = render_summary(_summary_ctx(language="nl"))
    for part in (mail.text, mail.html):
        assert "AKKOORD" in part and "AFGEWEZEN" in part and "regel 2 aantal 5" in part
        assert "€\xa01.234,50" in part and "3 jun 2025" in part
        assert "APPROVE" not in part and "Total (excl. VAT)" not in part
    assert "Ordervoorstel ter controle" in mail.html and "ZO ANTWOORD JE" in mail.text
    assert "mailto:orders+tok@example.com?subject=AKKOORD" in mail.html
    assert (
        "--- ORDER MO-12 v1" in mail.text and "--- ORDER MO-12 v1" in mail.html
    )  # the block stays machine-readable


def test_every_catalog_entry_is_translated_and_keeps_its_placeholders():
    import re

    from babel.messages.pofile import read_po

    for lang in ("nl", "de"):
        path = i18n.LOCALE_DIR / lang / "LC_MESSAGES" / "mailorder.po"
        with path.open("rb") as po:
            catalog = read_po(po)
        for message in catalog:
            if not message.id:
                continue
            assert message.string, f"{lang}: {message.id!r} has no translation"
            assert set(re.findall(r"%\(\w+\)s", str(message.id))) == set(
                re.findall(r"%\(\w+\)s", str(message.string))
            ), f"{lang}: placeholders differ in {message.id!r}"


def test_confirmations_follow_the_customers_language():
    ctx = ConfirmationContext(erp_order_id="SO-9", draft=_draft(), original=ORIGINAL, agent_address="o@x")
    german = ORIGINAL.model_copy(
        update={
            "subject": "Bestellung",
            "text": "Hallo, wir bestellen bitte folgende Rollen. Mit freundlichen Grüßen",
        }
    )
    mail = render_confirmation(ctx.model_copy(update={"original": german}))
    assert "Vielen Dank für Ihre Bestellung" in mail.text and "1.234,50\xa0€" in mail.text
