"""mail.documents: order attachments (PDF, xlsx, CSV, docx, scans) read into sourced lines and tables.

Fixtures are written by tests/fixtures/documents/make_documents.py; bad files never raise and
always give an issue naming the file; limits hold; the OCR-absent path is explicit.
"""

from __future__ import annotations

import importlib.util
import io
import json
import random
import struct
import zipfile
from pathlib import Path

import pytest

from mailorder.mail.documents import Document, Limits, SourcedLine, SourcedRow, Table, ocr, read_document
from mailorder.mail.documents.fields import find_delivery_date, find_reference, parse_date
from mailorder.mail.documents.sniff import check_zip, sniff
from mailorder.mail.documents.tables import (
    detect_header,
    format_quantity,
    header_role,
    is_totals_text,
    parse_number,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "documents"
CATALOG = Path(__file__).resolve().parent.parent / "data" / "products.json"
GOOD = [
    "PO-7781.pdf",
    "Bestelling-4500012873.pdf",
    "PO-7790.pdf",
    "purchase-order-123.pdf",
    "bestelling.xlsx",
    "bestelling.csv",
    "Bestellung-BE-2026-0415.docx",
]


def _make_documents():
    spec = importlib.util.spec_from_file_location("make_documents", FIXTURES / "make_documents.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MAKE = _make_documents()


def read(name: str, content_type: str = "application/octet-stream", limits: Limits | None = None) -> Document:
    data = (FIXTURES / name).read_bytes()
    return read_document(name, content_type, data, limits or Limits())


def only_table(doc: Document) -> Table:
    assert len(doc.tables) == 1, [t.header for t in doc.tables]
    return doc.tables[0]


def column(table: Table, role: str) -> list[str]:
    return [table.cell(row, role) for row in table.rows]


@pytest.fixture(autouse=True)
def no_tesseract(monkeypatch):
    """Tests see the machine without Tesseract unless they fake it."""
    monkeypatch.setattr(ocr.shutil, "which", lambda name: None)


# --- good fixtures ----------------------------------------------------------------------------------
def test_positioned_columns_pdf_po_7781():
    doc = read("PO-7781.pdf", "application/pdf")
    assert (doc.kind, doc.pages, doc.issues, doc.needs_ocr) == ("pdf", 1, [], False)
    assert doc.reference == "PO-7781"
    assert doc.delivery_date == "2026-03-12"
    table = only_table(doc)
    assert table.columns == {
        "position": 0,
        "sku": 1,
        "description": 2,
        "qty": 3,
        "unit": 4,
        "price": 5,
        "amount": 6,
    }
    assert column(table, "sku") == [sku for sku, _ in MAKE.PO_7781_LINES]
    assert column(table, "qty") == ["5", "12"]
    assert column(table, "unit") == ["plaat", "plaat"]
    assert column(table, "description")[0] == "VIVAK® PETG helder 2050 mm x 3050 mm 2 mm"
    assert [r.source for r in table.rows] == ["PO-7781.pdf p1 r1", "PO-7781.pdf p1 r2"]
    texts = [line.text for line in doc.text_lines]
    assert "Inkooporder PO-7781" in texts and any(t.startswith("Totaal") for t in texts)
    order = doc.as_order_text()
    assert order[0] == SourcedLine("artikel | omschrijving | aantal | eenheid", "PO-7781.pdf p1 header")
    assert order[1] == SourcedLine(
        "06-0206-9044 | VIVAK® PETG helder 2050 mm x 3050 mm 2 mm | 5 | plaat", "PO-7781.pdf p1 r1"
    )
    assert len(order) == 3  # totals, address and the closing sentence are no order lines


def test_ruled_table_over_two_pages_with_repeated_header_and_totals():
    doc = read("Bestelling-4500012873.pdf")
    assert (doc.kind, doc.pages, doc.issues) == ("pdf", 2, [])
    assert doc.reference == "4500012873"
    assert doc.delivery_date == "2026-03-16"
    table = only_table(doc)
    assert table.columns == {"sku": 0, "description": 1, "qty": 2, "unit": 3, "price": 4, "amount": 5}
    assert column(table, "sku") == MAKE.RULED_SKUS  # the repeated header is no row
    sources = [r.source for r in table.rows]
    assert sources[:2] == ["Bestelling-4500012873.pdf p1 r1", "Bestelling-4500012873.pdf p1 r2"]
    on_page_2 = [s for s in sources if " p2 " in s]
    assert on_page_2 and on_page_2[0] == "Bestelling-4500012873.pdf p2 r1"
    assert all(parse_number(q) for q in column(table, "qty"))
    flat = " ".join(" ".join(r.cells) for r in table.rows)
    assert "Subtotaal" not in flat and "BTW" not in flat and "Totaal" not in flat
    # a description wrapped inside its ruled cell is one cell
    assert "ORACAL® 651 Intermediate Cal 050 donkerblauw glanzend 1260 mm x 50 M 70 µ" in column(
        table, "description"
    )


def test_positioned_columns_continue_on_a_page_without_header():
    doc = read("PO-7790.pdf")
    assert (doc.pages, doc.issues, doc.reference, doc.delivery_date) == (2, [], "PO-7790", "2026-03-19")
    table = only_table(doc)
    assert column(table, "sku") == [sku for sku, _ in MAKE.PO_7790_LINES]
    assert [r.source.split(" ", 1)[1] for r in table.rows] == ["p1 r1", "p1 r2", "p1 r3", "p2 r1", "p2 r2"]
    assert column(table, "description")[1] == (
        "ORACAL® 970RA Premium Wrapping Cast 070M zwart mat 1520 mm x 25 M 110 µ"
    )  # wrapped over two printed lines
    assert not any("Totaal" in " ".join(r.cells) for r in table.rows)


def test_english_pdf_with_columns_in_another_order():
    doc = read("purchase-order-123.pdf")
    assert doc.issues == []
    assert doc.reference == "123"
    assert doc.delivery_date == "2026-03-20"
    table = only_table(doc)
    assert table.header == ["Description", "Qty", "Item code", "Unit price", "Amount"]
    assert table.columns == {"description": 0, "qty": 1, "sku": 2, "price": 3, "amount": 4}
    assert column(table, "sku") == [sku for sku, _ in MAKE.ENGLISH_LINES]
    assert column(table, "qty") == ["25", "2", "6"]
    assert all("Shipping" not in " ".join(r.cells) and "VAT" not in " ".join(r.cells) for r in table.rows)
    order = doc.as_order_text()
    assert order[0].text == "artikel | omschrijving | aantal"
    assert order[2].text == "06-0303-3843 | ORAGUARD® 215 transparant glanzend 1520 mm x 50 M 50 | 2"


def test_xlsx_first_sheet_with_a_header_and_empty_rows_skipped():
    doc = read("bestelling.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert (doc.kind, doc.issues) == ("xlsx", [])
    assert doc.reference == "IO-2026-0311"
    assert doc.delivery_date == "2026-03-18"
    table = only_table(doc)
    assert table.source == "bestelling.xlsx Bestelling r4"
    assert column(table, "sku") == [sku for sku, _ in MAKE.XLSX_LINES]
    assert column(table, "qty") == ["4", "10", "50"]
    assert column(table, "price")[0] == "64,94"  # numbers written with a decimal comma
    assert [r.source for r in table.rows] == [f"bestelling.xlsx Bestelling r{n}" for n in (5, 6, 8)]
    assert SourcedLine("Klant: Standbouw Twente B.V.", "bestelling.xlsx Info r2") in doc.text_lines


def test_csv_semicolons_decimal_comma_cp1252():
    doc = read("bestelling.csv", "text/csv")
    assert (doc.kind, doc.issues) == ("csv", [])
    table = only_table(doc)
    assert column(table, "qty") == ["12,5", "7,25", "3"]
    assert [parse_number(q) for q in column(table, "qty")] == [12.5, 7.25, 3.0]
    assert column(table, "description")[0].startswith("ORACAL® 651")  # ® decoded from Windows-1252
    assert [r.source for r in table.rows] == ["bestelling.csv r2", "bestelling.csv r3", "bestelling.csv r4"]
    assert SourcedLine("Totaal  91,83", "bestelling.csv r5") in doc.text_lines
    assert doc.as_order_text()[1].text.endswith("| 12,5 | mtr")


@pytest.mark.parametrize(
    "text, delimiter",
    [
        ("Artikel,Omschrijving,Aantal\r\n06-0206-9044,VIVAK helder,5\r\n", ","),
        ("Artikel\tOmschrijving\tAantal\n06-0206-9044\tVIVAK helder\t5\n", "\t"),
        ('\ufeffArtikel;Omschrijving;Aantal\n06-0206-9044;"VIVAK; helder";5\n', ";"),
    ],
)
def test_csv_delimiters_and_utf8_bom(text, delimiter):
    doc = read_document("x.csv", "text/csv", text.encode("utf-8"))
    table = only_table(doc)
    assert table.header[0] == "Artikel"
    assert column(table, "qty") == ["5"]
    assert column(table, "sku") == ["06-0206-9044"]


def test_docx_german_table_and_paragraphs():
    doc = read("Bestellung-BE-2026-0415.docx")
    assert (doc.kind, doc.issues) == ("docx", [])
    assert doc.reference == "BE-2026-0415"
    assert doc.delivery_date == "2026-03-23"
    table = only_table(doc)
    assert table.columns == {"position": 0, "sku": 1, "description": 2, "qty": 3, "unit": 4, "price": 5}
    assert column(table, "sku") == [sku for sku, _ in MAKE.DOCX_LINES]
    assert [r.source for r in table.rows] == [
        "Bestellung-BE-2026-0415.docx t1 r1",
        "Bestellung-BE-2026-0415.docx t1 r2",
    ]
    assert not any("MwSt" in " ".join(r.cells) for r in table.rows)
    assert doc.text_lines[1] == SourcedLine("Bestellnummer: BE-2026-0415", "Bestellung-BE-2026-0415.docx l2")


def test_order_text_uses_catalog_skus_and_readable_quantities():
    catalog = {p["sku"] for p in json.loads(CATALOG.read_text(encoding="utf-8"))}
    for name in GOOD:
        doc = read(name)
        rows = [
            line
            for line in doc.as_order_text()
            if not line.source.endswith("header") and not line.text.startswith("artikel |")
        ]
        assert rows, name
        for line in rows:
            cells = line.text.split(" | ")
            assert cells[0] in catalog, (name, line)
            assert parse_number(cells[2 if len(cells) > 2 else 1]) is not None, (name, line)


# --- bad files --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, expected",
    [
        ("order-99.pdf", "order-99.pdf: not a readable PDF (file is damaged)"),
        ("encrypted.pdf", "encrypted.pdf: not a readable PDF (password protected)"),
        ("zip-bomb.xlsx", "zip-bomb.xlsx: unpacks to 60 MB (limit 50 MB); not opened"),
        ("empty.pdf", "empty.pdf: is empty (0 bytes)"),
        ("image-as.pdf", "image-as.pdf: is a PNG image, not a PDF as its name says"),
    ],
)
def test_bad_fixture_gives_an_issue_naming_the_file(name, expected):
    doc = read(name, "application/pdf")
    assert doc.issues[0] == expected
    assert doc.tables == [] and doc.text_lines == [] and doc.reference is None


def test_zip_bomb_is_refused_before_openpyxl(monkeypatch):
    import openpyxl

    def boom(*args, **kwargs):
        raise AssertionError("openpyxl must not open a zip bomb")

    monkeypatch.setattr(openpyxl, "load_workbook", boom)
    doc = read("zip-bomb.xlsx")
    assert doc.kind == "xlsx" and "not opened" in doc.issues[0]


def _liar_zip(data: bytes, member: str, payload: bytes) -> bytes:
    """`data` with one member replaced by `payload`, while the ZIP still declares the old size."""
    source = zipfile.ZipFile(io.BytesIO(data))
    declared = source.getinfo(member).file_size
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, payload if info.filename == member else source.read(info.filename))
    patched = bytearray(out.getvalue())
    for signature, name_at, size_at, header in ((b"PK\x03\x04", 26, 22, 30), (b"PK\x01\x02", 28, 24, 46)):
        at = patched.find(signature)
        while at >= 0:
            length = struct.unpack_from("<H", patched, at + name_at)[0]
            if bytes(patched[at + header : at + header + length]) == member.encode():
                struct.pack_into("<I", patched, at + size_at, declared)
            at = patched.find(signature, at + 4)
    return bytes(patched)


def test_zip_member_lying_about_its_size_cannot_inflate_past_it():
    xlsx = (FIXTURES / "bestelling.xlsx").read_bytes()
    bomb = b'<?xml version="1.0"?><worksheet>' + b"<c/>" * (8 * 1024 * 1024)  # 32 MB, declared small
    data = _liar_zip(xlsx, "xl/worksheets/sheet2.xml", bomb)
    assert len(data) < 200_000 and check_zip(data, Limits()).problem is None  # the directory looks fine
    doc = read_document("liar.xlsx", "", data)
    assert doc.issues and doc.issues[-1].startswith("liar.xlsx: ")
    assert doc.tables == []


XLSX_MAIN = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def test_macro_workbook_is_read_as_data():
    xlsx = zipfile.ZipFile(io.BytesIO((FIXTURES / "bestelling.xlsx").read_bytes()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in xlsx.infolist():
            content = xlsx.read(info.filename)
            if info.filename == "[Content_Types].xml":
                content = content.replace(XLSX_MAIN, b"application/vnd.ms-excel.sheet.macroEnabled.main+xml")
            target.writestr(info.filename, content)
        target.writestr("xl/vbaProject.bin", OLE + b"Sub AutoOpen()" * 50)
    doc = read_document("bestelling.xlsm", "application/vnd.ms-excel.sheet.macroEnabled.12", out.getvalue())
    assert doc.issues == []
    assert column(only_table(doc), "sku") == [sku for sku, _ in MAKE.XLSX_LINES]


@pytest.mark.parametrize(
    "name, data, expected",
    [
        ("order.xls", OLE + b"\0" * 600, "old Excel 97-2003 .xls is not supported"),
        ("order.doc", OLE + b"\0" * 600, "old Word 97-2003 .doc is not supported"),
        ("locked.xlsx", OLE + "EncryptedPackage".encode("utf-16-le"), "password protected"),
        ("data.bin", bytes(range(256)) * 4, "unknown file type"),
        ("page.html", b"<html><body>Bestelling</body></html>", "unsupported file type"),
        ("archive.zip", None, "ZIP archive, not an Excel or Word file"),
        ("broken.xlsx", b"PK\x03\x04" + b"\0" * 100, "not a readable ZIP package"),
        ("x.pdf", b"%PDF-1.7\n" + b"\xff" * 5000, "not a readable PDF"),
        ("big.csv", b"a;b\n" * 10, "over the"),
    ],
)
def test_unsupported_and_broken_files(name, data, expected):
    if data is None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("readme.txt", "hello")
        data = buffer.getvalue()
    limits = Limits(max_bytes=30) if name == "big.csv" else Limits()
    doc = read_document(name, "application/octet-stream", data, limits)
    assert doc.issues and all(issue.startswith(f"{name}: ") for issue in doc.issues)
    assert expected in " ".join(doc.issues)


def test_content_decides_not_the_name():
    pdf = (FIXTURES / "PO-7781.pdf").read_bytes()
    doc = read_document("PO-7781.xlsx", "application/vnd.ms-excel", pdf)
    assert doc.kind == "pdf" and len(only_table(doc).rows) == 2
    assert doc.issues == ["PO-7781.xlsx: is a PDF, not an Excel file as its name says"]
    xlsx = (FIXTURES / "bestelling.xlsx").read_bytes()
    doc = read_document("C:\\fakepath\\bestelling.pdf", "application/pdf", xlsx)
    assert doc.filename == "bestelling.pdf" and doc.kind == "xlsx" and len(only_table(doc).rows) == 3


def test_damaged_copies_of_every_fixture_never_raise():
    rng = random.Random(7781)
    for name in GOOD:
        data = (FIXTURES / name).read_bytes()
        variants = [data[: len(data) * k // 5] for k in (1, 2, 3, 4)]
        for _ in range(3):
            damaged = bytearray(data)
            for _ in range(20):
                damaged[rng.randrange(len(damaged))] = rng.randrange(256)
            variants.append(bytes(damaged))
        for variant in variants:
            doc = read_document(name, "", variant)
            assert isinstance(doc, Document)
            assert all(issue.startswith(f"{name}: ") for issue in doc.issues), doc.issues


# --- limits -----------------------------------------------------------------------------------------
def test_page_limit():
    doc = read("Bestelling-4500012873.pdf", limits=Limits(max_pages=1))
    assert doc.pages == 2
    assert doc.issues == ["Bestelling-4500012873.pdf: has 2 pages; only the first 1 were read"]
    rows = only_table(doc).rows
    assert rows and all(" p1 " in r.source for r in rows)


def test_huge_page_count_reads_only_the_first_pages():
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, invariant=1)
    for number in range(1, 301):
        c.drawString(50, 800, f"Pagina {number}: 06-0206-9044 VIVAK 1 plaat")
        c.showPage()
    c.save()
    doc = read_document("many.pdf", "application/pdf", buffer.getvalue())
    assert doc.pages == 300
    assert doc.issues == ["many.pdf: has 300 pages; only the first 30 were read"]
    assert doc.text_lines[-1].source == "many.pdf p30 l1"


def test_row_limit():
    doc = read("Bestelling-4500012873.pdf", limits=Limits(max_rows=5))
    assert sum(len(t.rows) for t in doc.tables) + len(doc.text_lines) == 5
    assert "Bestelling-4500012873.pdf: more than 5 rows; only the first 5 were read" in doc.issues
    doc = read("bestelling.csv", limits=Limits(max_rows=2))  # a header row is not counted
    assert len(doc.tables[0].rows) == 2 and "more than 2 rows" in doc.issues[0]


def test_byte_limit():
    doc = read("PO-7781.pdf", limits=Limits(max_bytes=1000))
    assert doc.issues == ["PO-7781.pdf: is 2 KB, over the 1000 bytes limit; not read"]
    assert doc.tables == []


def test_uncompressed_limits():
    doc = read("bestelling.xlsx", limits=Limits(max_uncompressed=10_000))
    assert doc.issues[0].startswith("bestelling.xlsx: unpacks to ") and doc.tables == []
    doc = read("bestelling.xlsx", limits=Limits(max_zip_members=3))
    assert "parts inside (limit 3)" in doc.issues[0]
    doc = read("scan-PO-5520.pdf", limits=Limits(max_uncompressed=1024 * 1024))
    assert doc.issues == ["scan-PO-5520.pdf: its compressed content unpacks to more than 1 MB; not read"]


# --- OCR --------------------------------------------------------------------------------------------
def test_scanned_pdf_without_tesseract_needs_ocr():
    doc = read("scan-PO-5520.pdf")
    assert doc.kind == "pdf" and doc.pages == 1 and doc.needs_ocr
    assert doc.tables == [] and doc.text_lines == []
    assert doc.issues == [
        "scan-PO-5520.pdf: attachment needs OCR (a scan without a text layer; OCR is not available here)"
    ]


def test_image_without_tesseract_needs_ocr():
    png = (FIXTURES / "image-as.pdf").read_bytes()
    doc = read_document("scan.png", "image/png", png)
    assert doc.kind == "image" and doc.needs_ocr
    assert doc.issues == [
        "scan.png: attachment needs OCR (an image, no text layer; OCR is not available here)"
    ]


def _tesseract_dict(lines: list[list[tuple[str, int]]]) -> dict[str, list]:
    """Tesseract-style word boxes: each line a list of (word, left) at 60 px line spacing."""
    data: dict[str, list] = {k: [] for k in ("text", "conf", "left", "top", "width", "height")}
    for number, words in enumerate(lines):
        for text, left in words:
            for key, value in (
                ("text", text),
                ("conf", 91),
                ("left", left),
                ("top", 300 + 60 * number),
                ("width", 19 * len(text)),
                ("height", 34),
            ):
                data[key].append(value)
    return data


def test_scanned_pdf_with_tesseract_goes_through_the_same_layout(monkeypatch):
    monkeypatch.setattr(ocr, "tesseract_available", lambda: True)
    seen = []

    def fake_tesseract(image):
        seen.append(image.size)
        return _tesseract_dict(
            [
                [("Inkooporder", 200), ("PO-5520", 430)],
                [],
                [("Artikelnummer", 200), ("Omschrijving", 500), ("Aantal", 1000)],
                [
                    ("06-0206-9044", 200),
                    ("VIVAK", 500),
                    ("PETG", 620),
                    ("helder", 720),
                    ("2", 850),
                    ("mm", 880),
                    ("4", 1060),
                ],
            ]
        )

    monkeypatch.setattr(ocr, "image_to_data", fake_tesseract)
    doc = read("scan-PO-5520.pdf")
    assert seen and seen[0][0] > 2000  # rendered at 300 dpi
    assert not doc.needs_ocr and doc.reference == "PO-5520"
    table = only_table(doc)
    assert (column(table, "sku"), column(table, "qty")) == (["06-0206-9044"], ["4"])
    assert table.rows[0].source == "scan-PO-5520.pdf p1 r1"
    assert doc.issues == ["scan-PO-5520.pdf: read by OCR; check the lines against the attachment"]


# --- the parts --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "cell, role",
    [
        ("Artikel", "sku"),
        ("Art.nr", "sku"),
        ("Artikelnummer", "sku"),
        ("Omschrijving", "description"),
        ("Aantal", "qty"),
        ("Eenheid", "unit"),
        ("Prijs", "price"),
        ("Bedrag", "amount"),
        ("Item", "sku"),
        ("Code", "sku"),
        ("SKU", "sku"),
        ("Description", "description"),
        ("Qty", "qty"),
        ("Quantity", "qty"),
        ("Unit", "unit"),
        ("Unit price", "price"),
        ("Amount", "amount"),
        ("Item code", "sku"),
        ("Bezeichnung", "description"),
        ("Menge", "qty"),
        ("Einheit", "unit"),
        ("Preis", "price"),
        ("Betrag", "amount"),
        ("Gesamtpreis", "amount"),
        ("Ihre Art.-Nr.", "sku"),
        ("Mengeneinheit", "unit"),
        ("Pos", "position"),
        ("Nr", "position"),
        ("Pos.", "position"),
        ("#", "position"),
        ("Artikelomschrijving", "description"),
        ("Prijs per eenheid", "price"),
        ("Totaal", "amount"),
        ("Leverdatum", None),
        ("Graag leveren voor het aantal van 5 stuks", None),
    ],
)
def test_header_roles(cell, role):
    assert header_role(cell) == role


def test_header_detection():
    assert detect_header(["Pos", "Art.nr", "Omschrijving", "Aantal"]) == {
        "position": 0,
        "sku": 1,
        "description": 2,
        "qty": 3,
    }
    assert detect_header(["Menge", "Bezeichnung"]) == {"qty": 0, "description": 1}
    assert detect_header(["06-0206-9044", "VIVAK", "5"]) is None
    assert detect_header(["Datum", "Leverdatum"]) is None
    assert detect_header(["Prijs", "Bedrag"]) is None  # no quantity, no article and description


@pytest.mark.parametrize(
    "text, value",
    [
        ("1.234,56", 1234.56),
        ("1,234.56", 1234.56),
        ("12,5", 12.5),
        ("2.5", 2.5),
        ("1.000", 1000.0),
        ("0.500", 0.5),
        ("€ 12,-", 12.0),
        ("-3", -3.0),
        ("25", 25.0),
        ("1.250.000", 1250000.0),
        ("06-0206-9044", None),
        ("2050x3050", None),
        ("", None),
        ("abc", None),
        ("1.2.3", None),
    ],
)
def test_parse_number(text, value):
    assert parse_number(text) == value


def test_quantities_and_totals():
    assert format_quantity("1.000") == "1000"
    assert format_quantity("12,50 mtr") == "12,5 mtr"
    assert format_quantity("06-0206-9044") == "06-0206-9044"
    for text in (
        "Subtotaal",
        "Sub-totaal",
        "BTW 21%",
        "VAT 20%",
        "MwSt 19%",
        "Totaal excl. BTW",
        "Shipping",
        "Verzendkosten",
        "Zwischensumme",
        "Gesamtbetrag",
        "Total",
    ):
        assert is_totals_text(text), text
    for text in ("VIVAK helder", "Transportfolie 500 mm", "06-0206-9044"):
        assert not is_totals_text(text), text


def test_reference_and_delivery_labels():
    def lines(*texts: str) -> list[SourcedLine]:
        return [SourcedLine(t, "x") for t in texts]

    assert find_reference(lines("Inkooporder PO-7781")) == "PO-7781"
    assert find_reference(lines("Bestelnummer: 4500012873")) == "4500012873"
    assert find_reference(lines("Purchase order no. 123")) == "123"
    assert find_reference(lines("Bestellnummer BE-77/12")) == "BE-77/12"
    assert find_reference(lines("PURCHASE ORDER", "Datum 02-03-2026")) is None
    assert find_delivery_date(lines("Leverdatum: 12-03-2026")) == "2026-03-12"
    assert find_delivery_date(lines("Delivery date", "March 20, 2026")) == "2026-03-20"
    assert find_delivery_date(lines("Liefertermin: KW 14")) == "week 14"
    assert find_delivery_date(lines("Datum: 02-03-2026")) is None
    assert parse_date("19. März 2026") == "2026-03-19"


def test_order_text_keeps_order_like_text_lines():
    roles = {"position": 0, "qty": 1, "description": 2, "price": 3}
    row = SourcedRow(["1", "1.000", "Navigator A4", "9,95"], "o.pdf p1 r1")
    table = Table(["Nr", "Aantal", "Omschrijving", "Prijs"], roles, [row], source="o.pdf p1 header")
    doc = Document(
        "o.pdf",
        "pdf",
        text_lines=[
            SourcedLine("Graag ook 3 rollen ORACAL 651 zwart", "o.pdf p1 l4"),
            SourcedLine("Datum: 02-03-2026", "o.pdf p1 l1"),
            SourcedLine("Totaal 12 stuks", "o.pdf p1 l9"),
            SourcedLine("06-0102-3331", "o.pdf p1 l5"),
        ],
        tables=[table],
    )
    assert [line.text for line in doc.as_order_text()] == [
        "omschrijving | aantal",
        "Navigator A4 | 1000",
        "Graag ook 3 rollen ORACAL 651 zwart",
        "06-0102-3331",
    ]
    assert doc.as_order_text(with_header=False)[0].text == "Navigator A4 | 1000"


def test_sniff_magic_bytes():
    assert sniff(b"") == "empty"
    assert sniff(b"%PDF-1.4 ...") == "pdf"
    assert sniff(b"PK\x03\x04rest") == "zip"
    assert sniff(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1") == "ole"
    assert sniff(b"\x89PNG\r\n\x1a\nxxxx") == "png"
    assert sniff(b"\xff\xd8\xff\xe0") == "jpeg"
    assert sniff(b"II*\x00....") == "tiff"
    assert sniff(b"Artikel;Aantal\n") == "text"


def test_fixture_script_is_deterministic():
    first, second = MAKE.build(), MAKE.build()
    assert first == second
    assert all(len(data) < 100_000 for data in first.values())
