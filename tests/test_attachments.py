"""Order files attached to emails: what mail.parse keeps, how the pipeline reads them (each line
with its source, the PO number as the reference), what a bad file does to the draft, triage of
"see attached PO", the files a summary carries, and the data/attachments sample dataset."""

from __future__ import annotations

import importlib.util
import io
import json
import random
import sys
import zipfile
from datetime import UTC, datetime
from email.message import EmailMessage

import httpx
import pytest

from mailorder.agent.config import Settings
from mailorder.agent.evaluation.dataset import load_emails, record_to_message
from mailorder.agent.evaluation.harness import run_eval
from mailorder.agent.extract import attachments
from mailorder.agent.workflow.pipeline import analyse_email, triage_email
from mailorder.domain import Extraction, IssueCode, TriageLabel
from mailorder.mail import parse
from mailorder.mail.compose import FileAttachment, build_message
from mailorder.mail.documents import Document, Limits, SourcedRow, Table, ocr
from mailorder.mail.parse import AttachmentLimits, parse_email
from mailorder.mail.render import RenderedMail
from mailorder.mock_erp.app import create_app
from mailorder.tools.erp_client import ErpClient
from mailorder.tools.toolbox import Toolbox
from tests.conftest import ROOT

DOCUMENTS = ROOT / "tests" / "fixtures" / "documents"
DATASET = ROOT / "data" / "attachments"
SENDER = "jeroen@signshop-delft.example"  # a contact of COMP-101 in data/
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PDF = ("application", "pdf")
XLSX = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@pytest.fixture(autouse=True)
def no_tesseract(monkeypatch):
    monkeypatch.setattr(ocr.shutil, "which", lambda name: None)


@pytest.fixture(autouse=True)
def fresh_readings():
    """Every test reads its files itself (the reading cache is keyed by content)."""
    attachments.clear_cache()
    yield
    attachments.clear_cache()


@pytest.fixture
def default_limits():
    """Tests that change the process-wide limits get the defaults back."""
    yield
    attachments.use_attachment_settings(Settings())


@pytest.fixture
async def toolbox():
    erp = ErpClient("http://erp", transport=httpx.ASGITransport(app=create_app(ROOT / "data")))
    try:
        yield await Toolbox.create(erp)
    finally:
        await erp.aclose()


def email_with(
    body: str, *files: tuple[str, bytes, tuple[str, str]], subject: str = "PO", inline: bool = False
) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = SENDER, "orders@example.com", subject
    message["Message-ID"] = f"<{random.random()}@klant.example>"
    message["Date"] = "Mon, 02 Mar 2026 08:30:00 +0100"
    message.set_content(body)
    for name, data, (maintype, subtype) in files:
        message.add_attachment(
            data,
            maintype=maintype,
            subtype=subtype,
            filename=name,
            disposition="inline" if inline else "attachment",
        )
    return message.as_bytes()


def fixture(name: str, kind: tuple[str, str] = PDF) -> tuple[str, bytes, tuple[str, str]]:
    return name, (DOCUMENTS / name).read_bytes(), kind


# --- mail.parse keeps the bytes of order files, within limits --------------------------------------
def test_the_bytes_of_order_files_are_kept_and_of_other_files_not():
    logo = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
    message = EmailMessage()
    message["From"], message["Subject"] = SENDER, "PO"
    message.set_content("see attached")
    message.add_alternative("<p>see attached</p><img src='cid:logo'>", subtype="html")
    message.get_payload()[1].add_related(logo, maintype="image", subtype="png", cid="<logo>")
    for name, data, (maintype, subtype) in (
        fixture("PO-7781.pdf"),
        fixture("bestelling.xlsx", XLSX),
        fixture("bestelling.csv", ("text", "csv")),
        ("photo.jpg", b"\xff\xd8\xff" + b"1" * 50, ("image", "jpeg")),
        ("image001.png", logo, ("image", "png")),
        ("invite.ics", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", ("text", "calendar")),
    ):
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    email = parse_email(message.as_bytes())
    kept = {a.filename: a.data for a in email.attachments if a.order_source}
    assert set(kept) == {"PO-7781.pdf", "bestelling.xlsx", "bestelling.csv", "photo.jpg"}
    assert kept["PO-7781.pdf"] == (DOCUMENTS / "PO-7781.pdf").read_bytes()
    others = [a for a in email.attachments if not a.order_source]
    assert {a.filename for a in others} == {None, "image001.png", "invite.ics"}  # logo, signature, invite
    assert all(a.data is None and a.not_kept is None for a in others)
    # the bytes never travel in dumps (audit, JSON): name, type and size do
    dumped = next(a for a in email.model_dump()["attachments"] if a["filename"] == "PO-7781.pdf")
    assert "data" not in dumped and dumped["order_source"] and dumped["size"] == len(kept["PO-7781.pdf"])


def test_an_apple_mail_inline_pdf_is_an_order_file():
    email = parse_email(email_with("zie bijlage", fixture("PO-7781.pdf"), inline=True))
    [pdf] = email.attachments
    assert pdf.order_source and pdf.data


def test_attachment_limits_per_file_total_and_count():
    files = [(f"PO-{i}.pdf", b"%PDF-1.4 " + bytes([i]) * 991, PDF) for i in range(5)]
    raw = email_with("see attached", *files)
    limits = AttachmentLimits(max_bytes=1000, max_total=2500, max_count=10)
    email = parse_email(raw, attachments=limits)
    assert [a.data is not None for a in email.attachments] == [True, True, False, False, False]
    assert email.attachments[2].not_kept == "over the 2500 bytes limit for all attachments"
    email = parse_email(raw, attachments=AttachmentLimits(max_bytes=999, max_total=10**6, max_count=10))
    assert all(a.data is None for a in email.attachments)
    assert email.attachments[0].not_kept == "over the 999 bytes limit per attachment"
    email = parse_email(raw, attachments=AttachmentLimits(max_count=2))
    assert [a.data is not None for a in email.attachments] == [True, True, False, False, False]
    assert email.attachments[4].not_kept == "over the limit of 2 attachments per email"
    assert all(a.size == 1000 for a in email.attachments)  # sizes are known either way


def test_the_process_wide_limits_come_from_the_settings(default_limits):
    attachments.use_attachment_settings(
        Settings(
            attachment_max_bytes=500, attachment_max_count=3, attachment_max_pages=2, attachment_max_rows=9
        )
    )
    assert parse.attachment_limits() == AttachmentLimits(
        max_bytes=500, max_total=20 * 1024 * 1024, max_count=3
    )
    assert attachments.document_limits() == Limits(max_bytes=500, max_pages=2, max_rows=9)
    email = parse_email(email_with("see attached", fixture("PO-7781.pdf")))
    assert email.attachments[0].not_kept == "over the 500 bytes limit per attachment"


def test_settings_refuse_limits_below_one():
    with pytest.raises(ValueError, match="at least 1"):
        Settings(attachment_max_pages=0)


def test_parsing_never_raises_on_broken_attachments():
    rng = random.Random(7)
    good = email_with("see attached", fixture("PO-7781.pdf"), fixture("bestelling.xlsx", XLSX))
    for _ in range(200):
        raw = bytearray(good)
        for _ in range(rng.randint(1, 30)):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        cut = bytes(raw[: rng.randint(0, len(raw))])
        for variant in (bytes(raw), cut):
            email = parse_email(variant)
            assert all(a.data is None or len(a.data) == a.size for a in email.attachments)
    broken_base64 = (
        b"From: a@klant.example\r\nSubject: PO\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--b\r\nContent-Type: application/pdf; "
        b'name="x.pdf"\r\nContent-Disposition: attachment; filename="x.pdf"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n%%%not base64===\r\n--b--\r\n"
    )
    [pdf] = parse_email(broken_base64).attachments
    assert pdf.order_source and pdf.filename == "x.pdf"


# --- the pipeline: attachment lines carry their source ---------------------------------------------
async def test_pdf_lines_carry_their_source_and_the_po_number_is_the_reference(toolbox):
    email = parse_email(email_with("see attached PO", fixture("PO-7781.pdf")))
    analysis = await analyse_email(email, toolbox, now=NOW)
    assert analysis.triage.label == TriageLabel.ORDER
    draft = analysis.draft
    assert [(ln.sku, ln.qty, ln.unit) for ln in draft.lines] == [
        ("06-0206-9044", 5, "plaat"),
        ("06-0201-1932", 12, "plaat"),
    ]
    assert draft.lines[0].source_text.startswith("PO-7781.pdf p1 r1: 06-0206-9044 | VIVAK")
    assert draft.lines[1].source_text.startswith("PO-7781.pdf p1 r2: ")
    assert (draft.reference, str(draft.delivery_date)) == ("PO-7781", "2026-03-12")
    assert [(n.filename, n.read, n.lines, n.problem) for n in draft.attachments] == [
        ("PO-7781.pdf", True, 2, None)
    ]
    assert not draft.issues


async def test_with_a_model_the_files_are_still_read_by_the_rules(toolbox):
    seen = []

    async def model(email, body, toolbox):
        seen.append(body.text)
        return Extraction(lines=[], method="fake-model via OpenAI-compatible API")

    email = parse_email(email_with("see attached PO", fixture("PO-7781.pdf")))
    draft = (await analyse_email(email, toolbox, now=NOW, llm_extractor=model)).draft
    assert seen == ["see attached PO"]  # the model reads the email's words
    assert [ln.sku for ln in draft.lines] == ["06-0206-9044", "06-0201-1932"]
    assert draft.extraction_method == "fake-model via OpenAI-compatible API; attached files by rules"


async def test_body_lines_and_attachment_lines_together(toolbox):
    email = parse_email(
        email_with(
            "Zie bijlage, en graag ook 2x 06-0206-9044 erbij.\nReferentie: project Noord",
            fixture("bestelling.xlsx", XLSX),
            subject="Bestelling",
        )
    )
    draft = (await analyse_email(email, toolbox, now=NOW)).draft
    assert [(ln.sku, ln.qty) for ln in draft.lines] == [
        ("06-0206-9044", 2),  # from the email's own text
        ("06-0202-7428", 4),
        ("06-0203-3650", 10),
        ("06-0106-2768", 50),
    ]
    assert draft.lines[0].source_text == "Zie bijlage, en graag ook 2x 06-0206-9044 erbij."
    assert [ln.source_text.split(":")[0] for ln in draft.lines[1:]] == [
        "bestelling.xlsx Bestelling r5",
        "bestelling.xlsx Bestelling r6",
        "bestelling.xlsx Bestelling r8",  # the sheet's own row numbers (an empty row before it)
    ]
    assert draft.reference == "IO-2026-0311"  # the file's PO number; the email's own is noted
    assert any("reference project differs" in i.message and not i.blocking for i in draft.issues)


async def test_a_body_line_the_attachment_repeats_is_taken_once(toolbox):
    email = parse_email(
        email_with("Zie bijlage: 5 plaat 06-0206-9044 en 12 plaat 06-0201-1932", fixture("PO-7781.pdf"))
    )
    draft = (await analyse_email(email, toolbox, now=NOW)).draft
    assert sorted((ln.sku, ln.qty) for ln in draft.lines) == [("06-0201-1932", 12), ("06-0206-9044", 5)]
    assert all(ln.source_text.startswith("PO-7781.pdf") for ln in draft.lines)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("order-99.pdf", "order-99.pdf could not be read (file is damaged): please check the original"),
        ("encrypted.pdf", "encrypted.pdf could not be read (password protected): please check the original"),
        ("empty.pdf", "empty.pdf could not be read: it is empty (0 bytes); please check the original"),
        ("zip-bomb.xlsx", "zip-bomb.xlsx could not be read: unpacks to 60 MB (limit 50 MB); please check"),
        ("scan-PO-5520.pdf", "scan-PO-5520.pdf could not be read: attachment needs OCR"),
    ],
)
async def test_a_bad_file_alone_blocks_the_draft_and_names_the_file(toolbox, name, message):
    email = parse_email(email_with("see attached PO", fixture(name)))
    analysis = await analyse_email(email, toolbox, now=NOW)
    assert analysis.triage.label == TriageLabel.ORDER
    draft = analysis.draft
    assert draft.lines == []
    [problem] = [i for i in draft.issues if i.code == IssueCode.ATTACHMENT_PROBLEM]
    assert problem.blocking and problem.message.startswith(message)
    [note] = draft.attachments
    assert (note.filename, note.read) == (name, False) and note.problem


async def test_a_bad_file_beside_readable_lines_does_not_block(toolbox):
    email = parse_email(email_with("see attached PO", fixture("PO-7781.pdf"), fixture("order-99.pdf")))
    draft = (await analyse_email(email, toolbox, now=NOW)).draft
    assert len(draft.lines) == 2
    [problem] = [i for i in draft.issues if i.code == IssueCode.ATTACHMENT_PROBLEM]
    assert not problem.blocking and "order-99.pdf" in problem.message
    assert not draft.blocking_issues


def _with_macros(xlsx: bytes) -> bytes:
    source, out = zipfile.ZipFile(io.BytesIO(xlsx)), io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for info in source.infolist():
            archive.writestr(info, source.read(info.filename))
        archive.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0" + b"\x00" * 100)
    return out.getvalue()


async def test_macros_are_never_run_nor_passed_on_and_a_wrong_type_is_only_noted(toolbox):
    xlsx = (DOCUMENTS / "bestelling.xlsx").read_bytes()
    email = parse_email(
        email_with(
            "see attached PO",
            ("bestelling.xlsm", _with_macros(xlsx), ("application", "vnd.ms-excel.sheet.macroenabled.12")),
            ("order.pdf", xlsx, PDF),  # an Excel file named and declared as a PDF
        )
    )
    draft = (await analyse_email(email, toolbox, now=NOW)).draft
    assert len(draft.lines) == 6  # both read as the workbooks they are (openpyxl never runs macros)
    [note] = [i for i in draft.issues if i.code == IssueCode.ATTACHMENT_PROBLEM]
    assert not note.blocking and note.message == "order.pdf: is a ZIP archive, not a PDF as its name says"
    files, left_out = attachments.summary_files(email, budget=10**6)
    assert [(f.filename, f.content_type) for f in files] == [("order.pdf", XLSX[0] + "/" + XLSX[1])]
    assert left_out == ["bestelling.xlsm (not a safe file to pass on)"]


async def test_two_files_of_one_name_are_told_apart(toolbox):
    email = parse_email(
        email_with("see attached PO", fixture("PO-7781.pdf"), ("PO-7781.pdf", b"%PDF-1.4 broken", PDF))
    )
    draft = (await analyse_email(email, toolbox, now=NOW)).draft
    assert [(n.filename, n.read, n.lines) for n in draft.attachments] == [
        ("PO-7781.pdf", True, 2),
        ("PO-7781.pdf (2)", False, 0),
    ]
    [problem] = [i for i in draft.issues if i.code == IssueCode.ATTACHMENT_PROBLEM]
    assert problem.message.startswith("PO-7781.pdf (2) could not be read (file is damaged)")


async def test_a_damaged_file_of_another_type_than_its_name_says(toolbox):
    email = parse_email(email_with("see attached PO", ("order.xlsx", b"%PDF-1.4 broken", XLSX)))
    draft = (await analyse_email(email, toolbox, now=NOW)).draft
    [problem] = [i for i in draft.issues if i.code == IssueCode.ATTACHMENT_PROBLEM]
    assert problem.blocking
    assert problem.message == "order.xlsx could not be read (file is damaged): please check the original"


async def test_a_file_over_the_limits_is_named_not_read(toolbox, default_limits):
    attachments.use_attachment_settings(Settings(attachment_max_bytes=1000))
    email = parse_email(email_with("see attached PO", fixture("PO-7781.pdf")))
    draft = (await analyse_email(email, toolbox, now=NOW)).draft
    [problem] = [i for i in draft.issues if i.code == IssueCode.ATTACHMENT_PROBLEM]
    assert problem.blocking
    assert problem.message == (
        "PO-7781.pdf was not read (over the 1000 bytes limit per attachment): please check the original"
    )


async def test_a_file_read_only_in_part_cannot_post(toolbox, default_limits):
    attachments.use_attachment_settings(Settings(attachment_max_pages=1))
    email = parse_email(email_with("see attached PO", fixture("PO-7790.pdf")))
    draft = (await analyse_email(email, toolbox, now=NOW)).draft
    assert len(draft.lines) == 3  # page 1 only
    [cut] = [i for i in draft.issues if i.code == IssueCode.TOO_LONG]
    assert cut.blocking and cut.message.startswith("PO-7790.pdf: has 2 pages; only the first 1 were read")


async def test_ocr_lines_are_checked_by_the_rep(toolbox, monkeypatch):
    """A scan read by OCR (Tesseract installed) gives lines, never confident ones."""

    def read_by_ocr(name, content_type, data, limits):
        document = Document(filename=name, kind="pdf", issues=[f"{name}: read by OCR; check the lines"])
        table = Table(
            header=["Artikelnummer", "Aantal"], columns={"sku": 0, "qty": 1}, source=f"{name} p1 header"
        )
        table.rows.append(SourcedRow(["06-0206-9044", "4"], f"{name} p1 r1"))
        document.tables.append(table)
        return document

    monkeypatch.setattr(attachments, "read_document", read_by_ocr)
    attachments.clear_cache()
    email = parse_email(email_with("zie bijlage", fixture("scan-PO-5520.pdf"), subject="Bestelling"))
    draft = (await analyse_email(email, toolbox, now=NOW)).draft
    [line] = draft.lines
    assert (line.sku, line.qty) == ("06-0206-9044", 4)
    assert line.confidence <= attachments.OCR_CONFIDENCE and draft.needs_review
    assert line.source_text.startswith("scan-PO-5520.pdf p1 r1: ")
    assert any("read by OCR" in i.message and not i.blocking for i in draft.issues)


# --- triage sees an attachment-only order as an order ------------------------------------------------
@pytest.mark.parametrize(
    ("subject", "body", "file", "label"),
    [
        ("PO", "see attached PO", "PO-7781.pdf", TriageLabel.ORDER),
        ("Bestelling 4500012873", "zie bijlage", "PO-7781.pdf", TriageLabel.ORDER),
        ("Bestellung", "Anbei unsere Bestellung", "Bestellung-BE-2026-0415.docx", TriageLabel.ORDER),
        ("Documenten", "", "bestelling.csv", TriageLabel.ORDER),  # no words: the file's lines decide
        ("Order 5512", "PO attached, please confirm the delivery date", "PO-7781.pdf", TriageLabel.ORDER),
        (
            "Bestelling",
            "Bijgaand onze bestelling. Graag orderbevestiging retour.",
            "PO-7781.pdf",
            TriageLabel.ORDER,
        ),
        ("Factuur 2026-0042", "In de bijlage vindt u onze factuur.", "PO-7781.pdf", TriageLabel.OTHER),
        ("Levering", "De platen zijn beschadigd, zie bijlage.", "PO-7781.pdf", TriageLabel.COMPLAINT),
        ("Scan", "", "scan-PO-5520.pdf", TriageLabel.OTHER),  # nothing says order, nothing readable
        (
            "Vraag",
            "Wanneer wordt onze bestelling (zie bijlage) geleverd?",
            "PO-7781.pdf",
            TriageLabel.ORDER_STATUS,
        ),
    ],
)
def test_triage_of_emails_with_an_order_file(subject, body, file, label):
    email = parse_email(email_with(body or " ", fixture(file), subject=subject))
    assert triage_email(email)[0].label == label


def test_see_attached_without_a_file_is_no_order():
    assert triage_email(parse_email(email_with("see attached PO")))[0].label != TriageLabel.ORDER


def test_triage_reads_files_only_when_the_words_leave_it_open(monkeypatch):
    calls = []
    real = attachments.attachment_order_text
    monkeypatch.setattr(attachments, "attachment_order_text", lambda email: calls.append(1) or real(email))
    triage_email(parse_email(email_with("see attached PO", fixture("PO-7781.pdf"))))
    assert calls == []
    triage_email(parse_email(email_with(" ", fixture("PO-7781.pdf"), subject="Scan")))
    assert calls == [1]


# --- the files a summary carries ----------------------------------------------------------------------
def test_the_summary_carries_order_files_that_are_what_they_claim_within_a_budget():
    macro = io.BytesIO()
    with zipfile.ZipFile(macro, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    email = parse_email(
        email_with(
            "see attached",
            fixture("PO-7781.pdf", ("application", "octet-stream")),
            fixture("order-99.pdf"),
            fixture("zip-bomb.xlsx", XLSX),
            ("macros.xlsm", macro.getvalue(), ("application", "vnd.ms-excel.sheet.macroenabled.12")),
            fixture("bestelling.csv", ("text", "csv")),
        )
    )
    files, left_out = attachments.summary_files(email, budget=3000)
    assert [(f.filename, f.content_type) for f in files] == [
        ("PO-7781.pdf", "application/pdf"),  # declared as what it is
        ("order-99.pdf", "application/pdf"),  # damaged, but the rep may open it
        ("bestelling.csv", "text/csv"),
    ]
    assert left_out == [
        "zip-bomb.xlsx (not a safe file to pass on)",
        "macros.xlsm (not a safe file to pass on)",
    ]
    files, left_out = attachments.summary_files(email, budget=1000)
    assert [f.filename for f in files] == ["order-99.pdf", "bestelling.csv"]
    assert "PO-7781.pdf (too large to attach)" in left_out


def test_build_message_attaches_files_after_the_text():
    rendered = RenderedMail(subject="[MO-1 v1] x", text="plain body", html="<p>html body</p>")
    data = (DOCUMENTS / "PO-7781.pdf").read_bytes()
    message = build_message(
        rendered,
        from_addr="orders@example.com",
        to=["rep@example.com"],
        message_id="<mo.summary.1.v1@example.com>",
        attachments=[FileAttachment('PO "7781"\r\nX-Evil: 1.pdf', "application/pdf", data)],
    )
    assert message.get_content_type() == "multipart/mixed"
    assert message.get_body(("plain",)).get_content().strip() == "plain body"
    assert "html body" in message.get_body(("html",)).get_content()
    [part] = list(message.iter_attachments())
    assert part.get_content() == data and part.get_content_type() == "application/pdf"
    assert part.get_filename() == "PO 7781 X-Evil: 1.pdf"
    assert b"\r\nX-Evil" not in message.as_bytes()


# --- the sample dataset ------------------------------------------------------------------------------
def _generator():
    spec = importlib.util.spec_from_file_location("make_attachments", DATASET / "make_attachments.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_attachments"] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules["make_attachments"]
    return module


def test_the_dataset_files_are_what_the_generator_writes(tmp_path):
    written = _generator().write(tmp_path)
    for name in written:
        assert (tmp_path / name).read_bytes() == (DATASET / name).read_bytes(), name
    for file in (DATASET / "attachments").iterdir():
        assert file.stat().st_size < 100_000, file.name
    assert (DATASET / "products.json").resolve() == (ROOT / "data" / "products.json").resolve()


def test_dataset_records_carry_their_attachments_into_the_mime_message():
    records = load_emails(DATASET)
    assert len(records) >= 15 and all(r["attachments"] for r in records)
    email = parse_email(record_to_message(records[0]).as_bytes())
    [po] = [a for a in email.attachments if a.order_source]
    assert po.data == (DATASET / records[0]["attachments"][0]["path"]).read_bytes()
    assert "attachments" not in load_emails(ROOT / "data")[0]  # records without files stay as they were


def test_an_attachment_path_must_stay_inside_the_dataset(tmp_path):
    record = {"email_id": "x", "attachments": [{"filename": "p.pdf", "path": "../../etc/passwd"}]}
    with pytest.raises(ValueError, match="leaves the dataset folder"):
        record_to_message(record, dataset_dir=tmp_path)


async def test_eval_reads_the_attachments_through_the_production_path(tmp_path):
    report = await run_eval(DATASET, tmp_path / "pred.jsonl", results_dir=None)
    metrics = report.metrics
    assert metrics["n_emails"] >= 15 and metrics["n_order_emails"] >= 12
    assert metrics["triage_accuracy"] == 1.0
    assert metrics["line_f1"] >= 0.95
    assert metrics["unsafe_automation_rate"] == 0.0
    predictions = {
        p["email_id"]: p for p in map(json.loads, (tmp_path / "pred.jsonl").read_text().splitlines())
    }
    emails = {e["subject"]: e["email_id"] for e in json.loads((DATASET / "emails.json").read_text())}
    damaged = predictions[emails["PO 99"]]
    assert damaged["is_order"] and damaged["lines"] == [] and damaged["needs_review"]
