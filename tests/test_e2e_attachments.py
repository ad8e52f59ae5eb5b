"""Purchase orders in attachments, end to end: a customer mails only a PDF or an Excel order; the
rep's summary shows the lines read from it with their source, the PO number as the reference and
the original file attached; APPROVE posts the quantities. A damaged PDF becomes a draft that
names the file, and the agent goes on with the next email."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest

from mailorder.mail.documents import ocr
from mailorder.store.models import DraftStatus
from tests.loop_harness import Loop, catalog, known_contact, order_email

pytestmark = pytest.mark.e2e

DOCUMENTS = Path(__file__).resolve().parent / "fixtures" / "documents"
PO_7781 = [("06-0206-9044", 5), ("06-0201-1932", 12)]  # tests/fixtures/documents/make_documents.py
XLSX = [("06-0202-7428", 4), ("06-0203-3650", 10), ("06-0106-2768", 50)]


@pytest.fixture(autouse=True)
def no_tesseract(monkeypatch):
    monkeypatch.setattr(ocr.shutil, "which", lambda name: None)


def with_file(message: EmailMessage, name: str, maintype: str, subtype: str) -> EmailMessage:
    message.add_attachment((DOCUMENTS / name).read_bytes(), maintype=maintype, subtype=subtype, filename=name)
    return message


def attached_files(summary: EmailMessage) -> dict[str, tuple[str, bytes]]:
    return {
        part.get_filename(): (part.get_content_type(), part.get_content())
        for part in summary.iter_attachments()
    }


async def approve_and_confirm(loop: Loop, summary: EmailMessage) -> dict:
    await loop.reply(summary, "APPROVE")
    await loop.poll_until(lambda: loop.drafts()[0].status == DraftStatus.CONFIRMED)
    [order] = loop.erp_orders()
    return order


async def test_a_pdf_purchase_order_is_read_summarised_with_the_file_and_posted(tmp_path, clock):
    sender, company = known_contact()
    async with Loop(tmp_path, clock) as loop:
        message = with_file(
            order_email(sender, "PO", "see attached PO\n"), "PO-7781.pdf", "application", "pdf"
        )
        await loop.send(message)
        [summary] = await loop.poll_until(loop.rep_mail)
        plain = summary.get_body(("plain",)).get_content()
        html = summary.get_body(("html",)).get_content()
        for sku, _ in PO_7781:
            assert sku in plain and sku in html
        assert "PO-7781.pdf p1 r1" in plain and "PO-7781.pdf p1 r2" in plain  # each line's source
        assert "Reference: PO-7781" in plain
        assert "PO-7781.pdf: read, order lines: 2" in plain
        files = attached_files(summary)
        assert files["PO-7781.pdf"] == ("application/pdf", (DOCUMENTS / "PO-7781.pdf").read_bytes())
        draft = loop.drafts()[0]
        assert draft.customer_id == company
        assert loop.payload()["reference"] == "PO-7781"
        assert loop.payload()["delivery_date"] == "2026-03-12"

        order = await approve_and_confirm(loop, summary)
        assert sorted((ln["sku"], ln["quantity"]) for ln in order["products"]) == sorted(PO_7781)
        assert order["reference"] == "PO-7781"


async def test_an_excel_order_is_read_and_posted(tmp_path, clock):
    sender, _ = known_contact()
    async with Loop(tmp_path, clock) as loop:
        message = with_file(
            order_email(sender, "Bestelling", "Zie bijlage.\n\nMet vriendelijke groet,\nAnna\n"),
            "bestelling.xlsx",
            "application",
            "vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        await loop.send(message)
        [summary] = await loop.poll_until(loop.rep_mail)
        plain = summary.get_body(("plain",)).get_content()
        for sku, _ in XLSX:
            assert sku in plain
        assert "bestelling.xlsx Bestelling r5" in plain  # sheet and row
        assert "Reference: IO-2026-0311" in plain
        assert "bestelling.xlsx" in attached_files(summary)

        order = await approve_and_confirm(loop, summary)
        assert sorted((ln["sku"], ln["quantity"]) for ln in order["products"]) == sorted(XLSX)


async def test_a_damaged_pdf_is_named_on_the_draft_and_the_agent_goes_on(tmp_path, clock):
    sender, _ = known_contact()
    products = [p for p in catalog() if p.get("active", True)]
    async with Loop(tmp_path, clock) as loop:
        damaged = with_file(
            order_email(sender, "PO 99", "see attached PO\n"), "order-99.pdf", "application", "pdf"
        )
        await loop.send(damaged)
        [summary] = await loop.poll_until(loop.rep_mail)
        plain = summary.get_body(("plain",)).get_content()
        assert "order-99.pdf could not be read (file is damaged): please check the original" in plain
        assert "BLOCKING: order-99.pdf" in plain
        assert "order-99.pdf" in attached_files(summary)  # the rep can try the original
        payload = loop.payload()
        assert payload["lines"] == []
        assert any(i["code"] == "attachment_problem" and i["blocking"] for i in payload["issues"])
        assert payload["attachments"] == [
            {"filename": "order-99.pdf", "read": False, "lines": 0, "problem": "file is damaged"}
        ]

        await loop.send(order_email(sender, "normal order", f"Graag bestellen:\n\n3x {products[0]['sku']}\n"))
        summaries = await loop.poll_until(lambda: len(loop.rep_mail()) == 2 and loop.rep_mail())
        normal = next(m for m in summaries if "normal order" in str(m["Subject"]))
        assert products[0]["sku"] in normal.get_body(("plain",)).get_content()
        assert list(normal.iter_attachments()) == []
        assert loop.drafts()[0].status == DraftStatus.AWAITING_REVIEW


async def test_a_product_corrected_on_a_pdf_line_is_learned_for_the_next_order_file(tmp_path, clock):
    """The alias is keyed by the row's words, not by the file and place ("PO-7781.pdf p1 r1: "),
    so the customer's next purchase order, in a file of another name, gets the taught product."""
    from sqlalchemy import select

    from mailorder.store.aliases import Alias

    sender, _ = known_contact()
    taught = next(p["sku"] for p in catalog() if p.get("active", True) and p["sku"] not in dict(PO_7781))
    async with Loop(tmp_path, clock) as loop:
        first = with_file(order_email(sender, "PO", "see attached PO\n"), "PO-7781.pdf", "application", "pdf")
        await loop.send(first)
        [summary] = await loop.poll_until(loop.rep_mail)
        await loop.reply(summary, f"sku 1 {taught}")
        await loop.poll_until(lambda: loop.drafts()[0].version == 2)
        with loop.sessions() as session:
            [alias] = session.scalars(select(Alias)).all()
        assert alias.sku == taught and "pdf" not in alias.source_key and "p1 r1" not in alias.source_key

        second = order_email(sender, "PO", "see attached PO\n")
        second.add_attachment(
            (DOCUMENTS / "PO-7781.pdf").read_bytes(),
            maintype="application",
            subtype="pdf",
            filename="PO-7790.pdf",
        )
        await loop.send(second)
        await loop.poll_until(lambda: len(loop.drafts()) == 2)
        lines = loop.payload(1)["lines"]
        assert lines[0]["sku"] == taught, lines
        assert lines[1]["sku"] == PO_7781[1][0]
