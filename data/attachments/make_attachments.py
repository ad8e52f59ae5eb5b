"""Writes the attachments sample dataset: orders whose lines are in an attached file.

Run from the repository root: `.venv/bin/python data/attachments/make_attachments.py`.
Writes the interchange files of ../../shared/eval/README.md (companies, contacts, emails, orders,
order_lines, order_emails; products.json is a symlink to ../products.json) and the order files in
attachments/, each email record naming its files in our `attachments` extension of the format.
Deterministic and rerunnable (reportlab's invariant mode, fixed ZIP timestamps, no randomness);
every file stays under 100 KB. Layouts: positioned columns, a ruled table over two pages with
totals and VAT, an English PO with its columns in another order, a PO without article codes,
Excel (Dutch and English), CSV with semicolons and decimal commas, a German Word table, a PO
beside purchasing terms, a damaged PDF; and three non-orders with files (an invoice, a photo of
a damaged delivery, a delivery note). Needs reportlab, openpyxl, python-docx and Pillow.
"""

from __future__ import annotations

import io
import json
import re
import sys
import uuid
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CATALOG = HERE.parent / "products.json"
FILES = HERE / "attachments"
FIXED_ZIP_TIME = (2026, 3, 2, 9, 0, 0)
FIXED_ISO = "2026-03-02T09:00:00Z"
MAX_FILE_BYTES = 100_000
NAMESPACE = uuid.UUID("6f1c7d2e-3b0a-4c52-9a57-0d1e2f3a4b5c")
ORDERS_INBOX = "orders@example.com"

Products = dict[str, dict[str, Any]]
Line = tuple[str, float, str]  # sku, qty as the customer writes it, unit as the rep books it

COMPANIES = [
    # id, company_id, name, default contact, rep
    (71, "COMP-701", "Letterfabriek Utrecht B.V.", 701, "rep@example.com"),
    (72, "COMP-702", "Standbouw Twente B.V.", 702, None),
    (73, "COMP-703", "Brightline Displays Ltd", 703, "anna.rep@example.com"),
    (74, "COMP-704", "Messebau Köln GmbH", 704, None),
    (75, "COMP-705", "Drukkerij Van Dam", 705, "bram.rep@example.com"),
    (76, "COMP-706", "Reclamestudio Zeeland", 706, None),
    (77, "COMP-707", "Signpoint Antwerpen BV", 707, None),
]
CONTACTS = [
    (701, 71, "inkoop@letterfabriek.example"),
    (702, 72, "bestellingen@standbouw-twente.example"),
    (703, 73, "purchasing@brightline.example"),
    (704, 74, "einkauf@messebau-koeln.example"),
    (705, 75, "karin@drukkerijvandam.example"),
    (706, 76, "info@reclamestudio-zeeland.example"),
    (707, 77, "aankoop@signpoint.example"),
    (708, 71, "erp-noreply@letterfabriek.example"),
]


@dataclass
class File:
    name: str
    content_type: str
    build: Callable[[Products], bytes]


@dataclass
class Mail:
    key: str
    subject: str
    sender: str
    received: str
    body: str
    files: list[File]
    lines: list[Line] = field(default_factory=list)
    is_order: bool = True
    contact_id: int | None = None  # the contact the rep booked it on (unknown senders: 9xxx)
    reference: str = ""
    delivery_date: str | None = None


# --- helpers ----------------------------------------------------------------------------------------
def catalog() -> Products:
    return {p["sku"]: p for p in json.loads(CATALOG.read_text(encoding="utf-8"))}


def money(value: float) -> str:
    """Dutch money format: 1.234,56"""
    text = f"{value:,.2f}"
    return text.replace(",", "_").replace(".", ",").replace("_", ".")


def qty_text(qty: float, comma: bool = True) -> str:
    text = f"{qty:g}"
    return text.replace(".", ",") if comma else text


def short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit].rstrip()


def _canvas(buffer: io.BytesIO, title: str) -> Any:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(buffer, pagesize=A4, invariant=1)
    c.setTitle(title)
    c.setAuthor("mailorder sample data")
    c.setCreator("make_attachments.py")
    return c


def _normalized_zip(data: bytes) -> bytes:
    """The same OOXML package with fixed member timestamps and fixed core-property dates."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(
                    rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(<)",
                    rb"\g<1>" + FIXED_ISO.encode() + rb"\g<2>",
                    content,
                )
            member = zipfile.ZipInfo(info.filename, date_time=FIXED_ZIP_TIME)
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = 0o600 << 16
            target.writestr(member, content)
    return out.getvalue()


# --- PDF layouts ------------------------------------------------------------------------------------
def positioned_pdf(
    title: str,
    header_left: list[str],
    header_right: list[str],
    columns: Sequence[tuple[str, float, str, str]],
    lines: list[Line],
    *,
    footer: str = "",
    with_sku: bool = True,
    sku_style: Callable[[str], str] = lambda sku: sku,
    unit_words: dict[str, str] | None = None,
) -> Callable[[Products], bytes]:
    """Columns placed by x position (no ruling); `columns` = (header, x, align, role) with role in
    pos, sku, description, qty, unit, price, amount. Totals and VAT below the table."""

    def build(products: Products) -> bytes:
        buffer = io.BytesIO()
        c = _canvas(buffer, title)
        c.setFont("Helvetica-Bold", 15)
        c.drawString(50, 795, title)
        c.setFont("Helvetica", 10)
        for i, text in enumerate(header_left):
            c.drawString(50, 772 - 14 * i, text)
        for i, text in enumerate(header_right):
            c.drawString(350, 772 - 14 * i, text)
        y = 690
        c.setFont("Helvetica-Bold", 9)
        for name, x, align, _ in columns:
            (c.drawRightString if align == "r" else c.drawString)(x, y, name)
        c.setFont("Helvetica", 9)
        total = 0.0
        for pos, (sku, qty, unit) in enumerate(lines, start=1):
            y -= 16
            product = products[sku]
            per = next(u["per_base"] for u in product["units"] if u["unit"] == unit)
            price = product["unit_price"] * per
            total += qty * price
            cells = {
                "pos": str(pos * 10),
                "sku": sku_style(sku),
                "description": short(product["name"], 46 if with_sku else 60),
                "qty": qty_text(qty),
                "unit": (unit_words or {}).get(unit, unit),
                "price": money(price),
                "amount": money(qty * price),
            }
            for _, x, align, role in columns:
                (c.drawRightString if align == "r" else c.drawString)(x, y, cells[role])
        y -= 30
        right = max(x for _, x, _, _ in columns)
        for label, value in (("Subtotaal", total), ("BTW 21%", total * 0.21), ("Totaal", total * 1.21)):
            c.drawString(right - 150, y, label)
            c.drawRightString(right, y, money(value))
            y -= 14
        if footer:
            c.drawString(50, y - 30, footer)
        c.showPage()
        c.save()
        return buffer.getvalue()

    return build


def ruled_pdf(title: str, meta: list[str], lines: list[Line]) -> Callable[[Products], bytes]:
    """A ruled table over two pages (header repeated), totals and VAT rows inside the table."""

    def build(products: Products) -> bytes:
        from reportlab.lib import colors
        from reportlab.lib.pagesizes import A4
        from reportlab.lib.styles import getSampleStyleSheet
        from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

        buffer = io.BytesIO()
        doc = SimpleDocTemplate(
            buffer,
            pagesize=A4,
            title=title,
            author="mailorder sample data",
            creator="make_attachments.py",
            invariant=1,
            topMargin=40,
            bottomMargin=40,
        )
        styles = getSampleStyleSheet()
        small = styles["BodyText"].clone("small", fontSize=8, leading=9.5)
        story: list[Any] = [Paragraph(title, styles["Title"])]
        story += [Paragraph(text, styles["BodyText"]) for text in meta]
        story.append(Spacer(1, 12))
        story += [Paragraph(text, small) for text in CONDITIONS]
        story.append(Spacer(1, 260))  # the table starts low on page 1 and runs onto page 2
        rows: list[list[Any]] = [["Art.nr", "Omschrijving", "Aantal", "Eenheid", "Prijs", "Bedrag"]]
        total = 0.0
        for sku, qty, unit in lines:
            product = products[sku]
            per = next(u["per_base"] for u in product["units"] if u["unit"] == unit)
            price = product["unit_price"] * per
            total += qty * price
            rows.append(
                [
                    sku,
                    Paragraph(product["name"], small),
                    qty_text(qty),
                    unit,
                    money(price),
                    money(qty * price),
                ]
            )
        first_total = len(rows)
        rows += [
            ["", "Subtotaal", "", "", "", money(total)],
            ["", "BTW 21%", "", "", "", money(total * 0.21)],
            ["", "Totaal", "", "", "", money(total * 1.21)],
        ]
        table = Table(rows, colWidths=[70, 250, 40, 45, 50, 60], repeatRows=1)
        table.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                    ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8),
                    ("FONT", (0, 1), (-1, -1), "Helvetica", 8),
                    ("ALIGN", (2, 1), (2, -1), "RIGHT"),
                    ("ALIGN", (4, 1), (5, -1), "RIGHT"),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("FONT", (1, first_total), (-1, -1), "Helvetica-Bold", 8),
                ]
            )
        )
        story.append(table)
        story.append(Spacer(1, 12))
        story.append(Paragraph("Betaling binnen 30 dagen na factuurdatum.", styles["BodyText"]))
        doc.build(story)
        return buffer.getvalue()

    return build


CONDITIONS = [
    "Leveren op werkdagen tussen 7.30 en 15.30 uur, melden bij de goederenontvangst (dock 3).",
    "Vermeld ons bestelnummer op pakbon en factuur; deelleveringen alleen na overleg.",
    "Platen liggend op pallet, rollen in de originele doos; beschadigde verpakking wordt geweigerd.",
    "Op deze bestelling zijn onze algemene inkoopvoorwaarden van toepassing.",
]


def english_pdf(number: str, delivery: str, lines: list[Line]) -> Callable[[Products], bytes]:
    """English PO, columns Description, Qty, Item code, Unit price, Amount; shipping and VAT below."""

    def build(products: Products) -> bytes:
        buffer = io.BytesIO()
        c = _canvas(buffer, f"Purchase order {number}")
        c.setFont("Helvetica-Bold", 15)
        c.drawString(50, 790, "PURCHASE ORDER")
        c.setFont("Helvetica", 10)
        c.drawString(50, 770, f"Purchase order no. {number}")
        c.drawString(50, 756, f"Delivery date: {delivery}")
        c.drawString(330, 770, "Brightline Displays Ltd")
        c.drawString(330, 756, "Unit 4, Harbour Park, Dover")
        y = 700
        c.setFont("Helvetica-Bold", 9)
        c.drawString(50, y, "Description")
        c.drawRightString(330, y, "Qty")
        c.drawString(345, y, "Item code")
        c.drawRightString(480, y, "Unit price")
        c.drawRightString(550, y, "Amount")
        c.setFont("Helvetica", 9)
        total = 0.0
        for sku, qty, _ in lines:
            y -= 15
            product = products[sku]
            amount = qty * product["unit_price"]
            total += amount
            c.drawString(50, y, short(product["name"], 52))
            c.drawRightString(330, y, qty_text(qty, comma=False))
            c.drawString(345, y, sku)
            c.drawRightString(480, y, f"{product['unit_price']:,.2f}")
            c.drawRightString(550, y, f"{amount:,.2f}")
        y -= 28
        for label, value in (
            ("Subtotal", total),
            ("Shipping", 45.0),
            ("VAT 20%", (total + 45) * 0.2),
            ("Total", (total + 45) * 1.2),
        ):
            c.drawString(345, y, label)
            c.drawRightString(550, y, f"{value:,.2f}")
            y -= 14
        c.showPage()
        c.save()
        return buffer.getvalue()

    return build


def terms_pdf(products: Products) -> bytes:
    """Purchasing terms: paragraphs of text, no order lines."""
    buffer = io.BytesIO()
    c = _canvas(buffer, "Algemene inkoopvoorwaarden")
    c.setFont("Helvetica-Bold", 13)
    c.drawString(50, 795, "Algemene inkoopvoorwaarden Reclamestudio Zeeland")
    c.setFont("Helvetica", 9)
    clauses = [
        "Artikel 1. Deze voorwaarden gelden voor alle inkooporders van Reclamestudio Zeeland.",
        "Artikel 2. Leveringen vinden plaats op werkdagen tussen 8.00 en 16.00 uur.",
        "Artikel 3. Facturen vermelden altijd ons inkoopordernummer.",
        "Artikel 4. Betaling geschiedt binnen 30 dagen na ontvangst van de factuur.",
        "Artikel 5. Op deze voorwaarden is Nederlands recht van toepassing.",
    ]
    for i, text in enumerate(clauses):
        c.drawString(50, 760 - 18 * i, text)
    c.showPage()
    c.save()
    return buffer.getvalue()


def invoice_pdf(lines: list[Line]) -> Callable[[Products], bytes]:
    """A supplier's invoice to us: it lists articles too, but it is no order."""
    return positioned_pdf(
        "FACTUUR 2026-0042",
        ["Folietechniek Oost B.V.", "Factuurdatum: 10-03-2026"],
        ["Aan: Signmaterials Nederland B.V.", "Vervaldatum: 09-04-2026"],
        [
            ("Artikelnummer", 50, "l", "sku"),
            ("Omschrijving", 130, "l", "description"),
            ("Aantal", 400, "r", "qty"),
            ("Eenheid", 410, "l", "unit"),
            ("Bedrag", 560, "r", "amount"),
        ],
        lines,
        footer="Gelieve te betalen op NL00BANK0123456789 onder vermelding van het factuurnummer.",
    )


def damaged(build: Callable[[Products], bytes], keep: int = 400) -> Callable[[Products], bytes]:
    """A PDF cut off after its first bytes: header and the start of the first object only."""
    return lambda products: build(products)[:keep]


# --- Office and text layouts ----------------------------------------------------------------------
def order_xlsx(
    title: tuple[str, str],
    delivery: tuple[str, datetime],
    header: list[str],
    lines: list[Line],
    unit_words: dict[str, str] | None = None,
) -> Callable[[Products], bytes]:
    """A sheet with a title block, then the order table (sku, description, qty, unit, price, amount)."""

    def build(products: Products) -> bytes:
        from openpyxl import Workbook

        wb = Workbook()
        sheet = wb.active
        sheet.title = "Order"
        sheet.append(list(title))
        sheet.append(list(delivery))
        sheet.append([])
        sheet.append(header)
        for row, (sku, qty, unit) in enumerate(lines, start=5):
            product = products[sku]
            per = next(u["per_base"] for u in product["units"] if u["unit"] == unit)
            sheet.append(
                [
                    sku,
                    product["name"],
                    qty,
                    (unit_words or {}).get(unit, unit),
                    round(product["unit_price"] * per, 2),
                    f"=C{row}*E{row}",
                ]
            )
        sheet.append([None, "Totaal", None, None, None, f"=SUM(F5:F{4 + len(lines)})"])
        wb.properties.creator = "mailorder sample data"
        wb.properties.created = datetime(2026, 3, 2, 9, 0, 0)
        buffer = io.BytesIO()
        wb.save(buffer)
        return _normalized_zip(buffer.getvalue())

    return build


def order_csv(lines: list[Line]) -> Callable[[Products], bytes]:
    """Semicolons, decimal commas, Windows-1252 (the ® and ² of the catalog's names)."""

    def build(products: Products) -> bytes:
        rows = ["Artikelnummer;Omschrijving;Aantal;Eenheid;Prijs per eenheid;Totaal"]
        total = 0.0
        for sku, qty, unit in lines:
            product = products[sku]
            amount = qty * product["unit_price"]
            total += amount
            rows.append(
                f"{sku};{product['name']};{qty_text(qty)};{unit};{money(product['unit_price'])};{money(amount)}"
            )
        rows.append(f";Totaal;;;;{money(total)}")
        return ("\r\n".join(rows) + "\r\n").encode("cp1252")

    return build


def order_docx(number: str, delivery: str, lines: list[Line]) -> Callable[[Products], bytes]:
    """A German order letter: paragraphs, then a table Pos/Artikelnummer/Bezeichnung/Menge/Einheit."""
    german = {"rol": "Rolle", "plaat": "Platte", "stuks": "Stück", "doos": "Karton", "mtr": "m"}

    def build(products: Products) -> bytes:
        from docx import Document

        doc = Document()
        doc.core_properties.author = "mailorder sample data"
        doc.core_properties.created = datetime(2026, 3, 2, 9, 0, 0)
        doc.core_properties.modified = datetime(2026, 3, 2, 9, 0, 0)
        doc.core_properties.last_modified_by = "mailorder sample data"
        doc.core_properties.revision = 1
        doc.add_heading("Bestellung", level=1)
        doc.add_paragraph(f"Bestellnummer: {number}")
        doc.add_paragraph(f"Liefertermin: {delivery}")
        doc.add_paragraph("Sehr geehrte Damen und Herren, hiermit bestellen wir:")
        table = doc.add_table(rows=1, cols=6)
        table.style = "Table Grid"
        for cell, text in zip(
            table.rows[0].cells,
            ["Pos", "Artikelnummer", "Bezeichnung", "Menge", "Einheit", "Preis"],
            strict=False,
        ):
            cell.text = text
        for pos, (sku, qty, unit) in enumerate(lines, start=1):
            product = products[sku]
            cells = table.add_row().cells
            values = [str(pos), sku, product["name"], qty_text(qty), german.get(unit, unit)]
            for cell, text in zip(cells, [*values, money(product["unit_price"])], strict=False):
                cell.text = text
        doc.add_paragraph("Mit freundlichen Grüßen, Messebau Köln GmbH")
        buffer = io.BytesIO()
        doc.save(buffer)
        return _normalized_zip(buffer.getvalue())

    return build


def photo_jpeg(products: Products) -> bytes:
    """A 'photo' of a dented plate: grey with a dark crease (JPEG)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (640, 480), (200, 200, 205))
    draw = ImageDraw.Draw(image)
    for i in range(0, 640, 16):
        draw.line([(i, 0), (i + 40, 480)], fill=(190, 190, 196), width=3)
    draw.line([(120, 300), (360, 220), (520, 260)], fill=(60, 60, 70), width=9)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=60)
    return buffer.getvalue()


# --- the emails -------------------------------------------------------------------------------------
DUTCH_COLUMNS: list[tuple[str, float, str, str]] = [
    ("Pos", 50, "l", "pos"),
    ("Artikelnummer", 80, "l", "sku"),
    ("Omschrijving", 160, "l", "description"),
    ("Aantal", 400, "r", "qty"),
    ("Eenheid", 410, "l", "unit"),
    ("Prijs", 500, "r", "price"),
    ("Bedrag", 560, "r", "amount"),
]

PO_24117: list[Line] = [
    ("06-0206-1516", 6, "plaat"),
    ("06-0201-1255", 10, "plaat"),
    ("06-0202-5648", 4, "plaat"),
]
RULED: list[Line] = [
    ("02-0001-4223", 10, "riem"),
    ("02-0001-1049", 4, "riem"),
    ("05-0400-2865", 36, "rol"),
    ("05-0400-1785", 12, "rol"),
    ("05-0500-2814", 6, "rol"),
    ("06-0104-1334", 50, "mtr"),
    ("06-0104-1311", 25, "mtr"),
    ("06-0100-1163", 10, "mtr"),
    ("06-0105-2276", 2, "rol"),
    ("06-0303-2563", 1, "rol"),
    ("06-0305-1939", 3, "rol"),
    ("06-0305-1544", 50, "mtr"),
    ("06-0203-1209", 5, "plaat"),
    ("06-0203-1566", 2, "plaat"),
    ("06-0201-1349", 8, "plaat"),
    ("06-0202-3985", 6, "plaat"),
    ("06-0206-1093", 4, "plaat"),
    ("06-0401-1001", 2, "stuks"),
    ("06-0401-1021", 2, "stuks"),
    ("06-0401-1532", 2, "stuks"),
    ("06-0500-1783", 5, "stuks"),
    ("06-0500-1983", 1, "stuks"),
]
ENGLISH: list[Line] = [("06-0303-2271", 2, "rol"), ("05-0500-3724", 12, "rol"), ("06-0500-2934", 10, "stuks")]
XLSX_NL: list[Line] = [("06-0104-1276", 2, "rol"), ("06-0100-2144", 30, "mtr"), ("06-0105-1992", 1, "rol")]
XLSX_EN: list[Line] = [("06-0202-2053", 3, "plaat"), ("06-0305-2492", 2, "rol"), ("05-0301-1626", 4, "doos")]
CSV: list[Line] = [("06-0104-1271", 12.5, "mtr"), ("06-0100-1201", 7.25, "mtr"), ("02-0001-1495", 3, "riem")]
DOCX: list[Line] = [("06-0203-1390", 2, "plaat"), ("06-0305-2263", 1, "rol"), ("06-0401-1176", 3, "stuks")]
NO_CODES: list[Line] = [("06-0303-1472", 1, "rol"), ("06-0206-1458", 8, "plaat")]
PLAIN_CODES: list[Line] = [("06-0201-1880", 3, "plaat"), ("06-0203-1011", 2, "plaat")]
WITH_TERMS: list[Line] = [("06-0104-1334", 100, "mtr"), ("05-0400-1962", 24, "rol")]
UNKNOWN: list[Line] = [("06-0202-6247", 2, "plaat"), ("06-0201-1563", 1, "plaat")]
BODY_PLUS: list[Line] = [("06-0303-2155", 1, "rol"), ("05-0500-2544", 6, "rol")]
BODY_EXTRA: Line = ("06-0105-2376", 1, "rol")
AUTOMATIC: list[Line] = [("06-0206-1985", 20, "plaat"), ("06-0203-1566", 3, "plaat")]
INVOICE: list[Line] = [("06-0104-1334", 100, "mtr"), ("06-0303-2155", 2, "rol")]

SIGN_OFF = "\n\nMet vriendelijke groet,\n\n"


def mails() -> list[Mail]:
    return [
        Mail(
            "positioned",
            "Inkooporder PO-24117",
            "inkoop@letterfabriek.example",
            "2026-03-02T08:14:05",
            "Goedemorgen,\n\nZie bijlage." + SIGN_OFF + "Karin de Wit\nLetterfabriek Utrecht B.V.\n",
            [
                File(
                    "PO-24117.pdf",
                    "application/pdf",
                    positioned_pdf(
                        "Inkooporder PO-24117",
                        ["Letterfabriek Utrecht B.V.", "Industrieweg 12, 3542 AD Utrecht"],
                        ["Datum: 02-03-2026", "Leverdatum: 12-03-2026"],
                        DUTCH_COLUMNS,
                        PO_24117,
                        footer="Graag leveren op ons magazijnadres. Vragen? inkoop@letterfabriek.example",
                    ),
                )
            ],
            PO_24117,
            contact_id=701,
            reference="PO-24117",
            delivery_date="2026-03-12",
        ),
        Mail(
            "ruled-two-pages",
            "Bestelling 4500031190",
            "bestellingen@standbouw-twente.example",
            "2026-03-03T10:02:41",
            "Beste,\n\nBijgaand onze bestelling 4500031190. Graag een orderbevestiging retour."
            + SIGN_OFF
            + "Team inkoop\nStandbouw Twente\n",
            [
                File(
                    "Bestelling-4500031190.pdf",
                    "application/pdf",
                    ruled_pdf(
                        "Bestelling",
                        [
                            "Bestelnummer: 4500031190",
                            "Leverdatum: 17-03-2026",
                            "Afleveradres: Hengelosestraat 300, 7521 AM Enschede",
                        ],
                        RULED,
                    ),
                )
            ],
            RULED,
            contact_id=702,
            reference="4500031190",
            delivery_date="2026-03-17",
        ),
        Mail(
            "english-columns",
            "Purchase order 5512",
            "purchasing@brightline.example",
            "2026-03-04T14:30:00",
            "Hello,\n\nPlease find attached our purchase order.\n\n"
            "Kind regards,\nTom Harris\nBrightline Displays\n",
            [File("purchase-order-5512.pdf", "application/pdf", english_pdf("5512", "2026-03-20", ENGLISH))],
            ENGLISH,
            contact_id=703,
            reference="5512",
            delivery_date="2026-03-20",
        ),
        Mail(
            "xlsx-dutch",
            "Bestellijst week 12",
            "bestellingen@standbouw-twente.example",
            "2026-03-05T07:48:12",
            "Hoi,\n\nIn de bijlage de bestellijst voor week 12.\n\nGroet,\nRik\n",
            [
                File(
                    "bestellijst-week12.xlsx",
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    order_xlsx(
                        ("Inkooporder", "IO-2026-0312"),
                        ("Leverdatum", datetime(2026, 3, 18)),
                        ["Art.nr", "Omschrijving", "Aantal", "Eenheid", "Prijs", "Bedrag"],
                        XLSX_NL,
                    ),
                )
            ],
            XLSX_NL,
            contact_id=702,
            reference="IO-2026-0312",
            delivery_date="2026-03-18",
        ),
        Mail(
            "csv-decimal-comma",
            "Bestelling",
            "karin@drukkerijvandam.example",
            "2026-03-06T09:05:33",
            "Zie bijlage." + SIGN_OFF + "Karin\n",
            [File("order.csv", "text/csv", order_csv(CSV))],
            CSV,
            contact_id=705,
        ),
        Mail(
            "docx-german",
            "Bestellung BE-2026-031",
            "einkauf@messebau-koeln.example",
            "2026-03-06T11:20:00",
            "Sehr geehrte Damen und Herren,\n\nanbei unsere Bestellung.\n\nMit freundlichen Grüßen\n"
            "Messebau Köln GmbH\n",
            [
                File(
                    "Bestellung-BE-2026-031.docx",
                    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                    order_docx("BE-2026-031", "24.03.2026", DOCX),
                )
            ],
            DOCX,
            contact_id=704,
            reference="BE-2026-031",
            delivery_date="2026-03-24",
        ),
        Mail(
            "damaged-pdf",
            "PO 99",
            "purchasing@brightline.example",
            "2026-03-09T08:01:10",
            "Hi,\n\nsee attached PO\n\nTom\n",
            [File("order-99.pdf", "application/pdf", damaged(english_pdf("99", "2026-03-25", ENGLISH)))],
            [],
            contact_id=703,
        ),
        Mail(
            "no-article-codes",
            "Inkooporder IO-3390",
            "info@reclamestudio-zeeland.example",
            "2026-03-09T13:45:00",
            "Goedemiddag,\n\nHierbij onze inkooporder, zie bijgevoegd bestand." + SIGN_OFF + "Sanne\n",
            [
                File(
                    "Inkooporder_IO-3390.pdf",
                    "application/pdf",
                    positioned_pdf(
                        "Inkooporder IO-3390",
                        ["Reclamestudio Zeeland", "Havenweg 3, 4381 BA Vlissingen"],
                        ["Datum: 09-03-2026"],
                        [
                            ("Omschrijving", 50, "l", "description"),
                            ("Aantal", 420, "r", "qty"),
                            ("Eenheid", 430, "l", "unit"),
                            ("Bedrag", 560, "r", "amount"),
                        ],
                        NO_CODES,
                        with_sku=False,
                    ),
                )
            ],
            NO_CODES,
            contact_id=706,
            reference="IO-3390",
        ),
        Mail(
            "codes-without-dashes",
            "Bestelbon 2026-118",
            "aankoop@signpoint.example",
            "2026-03-10T10:10:10",
            "Dag,\n\nIn bijlage onze bestelbon." + SIGN_OFF + "Wim\nSignpoint Antwerpen\n",
            [
                File(
                    "Bestelbon-2026-118.pdf",
                    "application/pdf",
                    positioned_pdf(
                        "Bestelbon 2026-118",
                        ["Signpoint Antwerpen BV", "Noorderlaan 100, 2030 Antwerpen"],
                        ["Bestelbon nr.: 2026-118", "Gewenste leverdatum: 19 maart 2026"],
                        [
                            ("Artikelcode", 50, "l", "sku"),
                            ("Benaming", 130, "l", "description"),
                            ("Hoeveelheid", 420, "r", "qty"),
                            ("Eh.", 430, "l", "unit"),
                            ("Totaal", 560, "r", "amount"),
                        ],
                        PLAIN_CODES,
                        sku_style=lambda sku: sku.replace("-", ""),
                        unit_words={"plaat": "platen"},
                    ),
                )
            ],
            PLAIN_CODES,
            contact_id=707,
            reference="2026-118",
            delivery_date="2026-03-19",
        ),
        Mail(
            "xlsx-english",
            "PO 7734",
            "purchasing@brightline.example",
            "2026-03-11T15:02:00",
            "Hi team,\n\nPO 7734 attached, please confirm the delivery date.\n\nThanks,\nTom\n",
            [
                File(
                    "PO_7734.xlsx",
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    order_xlsx(
                        ("Purchase order", "7734"),
                        ("Delivery date", datetime(2026, 3, 27)),
                        ["Item", "Description", "Quantity", "UoM", "Unit price", "Amount"],
                        XLSX_EN,
                        unit_words={"plaat": "sheet", "rol": "roll", "doos": "box"},
                    ),
                )
            ],
            XLSX_EN,
            contact_id=703,
            reference="7734",
            delivery_date="2026-03-27",
        ),
        Mail(
            "beside-terms",
            "Bestelling PO-5561",
            "info@reclamestudio-zeeland.example",
            "2026-03-12T09:30:00",
            "Goedemorgen,\n\nBijgevoegd de inkooporder en onze inkoopvoorwaarden." + SIGN_OFF + "Sanne\n",
            [
                File(
                    "PO-5561.pdf",
                    "application/pdf",
                    positioned_pdf(
                        "Inkooporder PO-5561",
                        ["Reclamestudio Zeeland", "Havenweg 3, 4381 BA Vlissingen"],
                        ["Datum: 12-03-2026", "Leverdatum: 20-03-2026"],
                        DUTCH_COLUMNS,
                        WITH_TERMS,
                    ),
                ),
                File("Algemene-inkoopvoorwaarden.pdf", "application/pdf", terms_pdf),
            ],
            WITH_TERMS,
            contact_id=706,
            reference="PO-5561",
            delivery_date="2026-03-20",
        ),
        Mail(
            "unknown-sender",
            "Inkooporder PO-1208",
            "inkoop@nieuwe-klant.example",
            "2026-03-13T08:40:00",
            "Goedemorgen,\n\nZie de inkooporder in de bijlage. Wij zijn een nieuwe klant."
            + SIGN_OFF
            + "Joost\n",
            [
                File(
                    "PO-1208.pdf",
                    "application/pdf",
                    positioned_pdf(
                        "Inkooporder PO-1208",
                        ["Bord & Letter B.V.", "Dorpsstraat 1, 1234 AB Ergens"],
                        ["Datum: 13-03-2026"],
                        DUTCH_COLUMNS,
                        UNKNOWN,
                    ),
                )
            ],
            UNKNOWN,
            contact_id=9701,
            reference="PO-1208",
        ),
        Mail(
            "attachment-and-body",
            "Bestelling + extra",
            "karin@drukkerijvandam.example",
            "2026-03-16T10:00:00",
            "Hoi,\n\nDe bestelling staat in de bijlage. Graag ook 1x 06-0105-2376 erbij."
            + SIGN_OFF
            + "Karin\n",
            [
                File(
                    "Bestelling-DVD-0316.pdf",
                    "application/pdf",
                    positioned_pdf(
                        "Bestelling DVD-0316",
                        ["Drukkerij Van Dam", "Kerkstraat 7, 5211 AA 's-Hertogenbosch"],
                        ["Ordernummer: DVD-0316"],
                        DUTCH_COLUMNS,
                        BODY_PLUS,
                    ),
                )
            ],
            [*BODY_PLUS, BODY_EXTRA],
            contact_id=705,
            reference="DVD-0316",
        ),
        Mail(
            "purchasing-system",
            "Purchase order 4500031302 from Letterfabriek Utrecht",
            "erp-noreply@letterfabriek.example",
            "2026-03-17T06:00:00",
            "This purchase order was generated automatically. Please find the order document attached.\n"
            "Do not reply to this address; questions go to inkoop@letterfabriek.example.\n",
            [
                File(
                    "PO_4500031302.pdf",
                    "application/pdf",
                    positioned_pdf(
                        "Purchase order 4500031302",
                        ["Letterfabriek Utrecht B.V.", "Industrieweg 12, 3542 AD Utrecht"],
                        ["Order date: 2026-03-17", "Delivery date: 2026-03-26"],
                        [
                            ("Line", 50, "l", "pos"),
                            ("Material", 80, "l", "sku"),
                            ("Description", 160, "l", "description"),
                            ("Quantity", 400, "r", "qty"),
                            ("UoM", 410, "l", "unit"),
                            ("Net value", 560, "r", "amount"),
                        ],
                        AUTOMATIC,
                        unit_words={"plaat": "ST"},
                    ),
                )
            ],
            AUTOMATIC,
            contact_id=708,
            reference="4500031302",
            delivery_date="2026-03-26",
        ),
        # --- not orders -----------------------------------------------------------------------------
        Mail(
            "invoice",
            "Factuur 2026-0042",
            "debiteuren@folietechniek-oost.example",
            "2026-03-10T16:00:00",
            "Geachte heer/mevrouw,\n\nIn de bijlage vindt u onze factuur 2026-0042."
            + SIGN_OFF
            + "Administratie\n",
            [File("Factuur-2026-0042.pdf", "application/pdf", invoice_pdf(INVOICE))],
            is_order=False,
        ),
        Mail(
            "complaint-photo",
            "Beschadigde levering",
            "info@reclamestudio-zeeland.example",
            "2026-03-18T12:12:00",
            "Hallo,\n\nDe platen van gisteren zijn beschadigd aangekomen, zie de foto in de bijlage. "
            "Kunnen jullie dit oplossen?" + SIGN_OFF + "Sanne\n",
            [File("IMG_2041.jpg", "image/jpeg", photo_jpeg)],
            is_order=False,
        ),
        Mail(
            "delivery-note",
            "Pakbon levering 17-03",
            "bestellingen@standbouw-twente.example",
            "2026-03-19T09:00:00",
            "Hoi,\n\nHierbij de getekende pakbon van de levering van 17 maart, ter info.\n\nGroet,\nRik\n",
            [
                File(
                    "pakbon-17-03.pdf",
                    "application/pdf",
                    positioned_pdf(
                        "Pakbon 88123",
                        ["Signmaterials Nederland B.V."],
                        ["Afleverdatum: 17-03-2026"],
                        DUTCH_COLUMNS,
                        XLSX_NL,
                    ),
                )
            ],
            is_order=False,
        ),
    ]


# --- writing ----------------------------------------------------------------------------------------
def build() -> dict[str, Any]:
    """Every file of the dataset: name -> bytes (attachments) or JSON-ready rows (tables)."""
    from reportlab import rl_config

    rl_config.invariant = 1  # fixed creation date and document id
    products = catalog()
    files: dict[str, bytes] = {}
    emails: list[dict[str, Any]] = []
    orders: list[dict[str, Any]] = []
    lines: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    for number, mail in enumerate(mails(), start=1):
        email_id = str(uuid.uuid5(NAMESPACE, mail.key))
        record_files = []
        for file in mail.files:
            files[file.name] = file.build(products)
            record_files.append(
                {"filename": file.name, "content_type": file.content_type, "path": f"attachments/{file.name}"}
            )
        emails.append(
            {
                "id": 7000 + number,
                "email_id": email_id,
                "subject": mail.subject,
                "sender": mail.sender,
                "recipients": ORDERS_INBOX,
                "cc": None,
                "bcc": None,
                "received_date": mail.received,
                "body_text": mail.body,
                "body_html": "",
                "has_attachments": True,
                "receiving_email": ORDERS_INBOX,
                "attachments": record_files,
                "is_order_email": mail.is_order,
                "processing_status": "Completed" if mail.is_order else "Not an order",
            }
        )
        if not mail.is_order:
            continue
        order_id = 9700 + len(orders) + 1
        orders.append(
            {
                "id": order_id,
                "order_number": f"SO-2026-{order_id}",
                "contact_id": mail.contact_id,
                "reference": mail.reference,
                "delivery_date": mail.delivery_date,
                "comment": "",
                "status": "Sent",
                "created_at": mail.received,
            }
        )
        links.append({"id": len(links) + 1, "order_id": order_id, "email_id": email_id})
        for sku, qty, unit in mail.lines:
            product = products[sku]
            lines.append(
                {
                    "id": len(lines) + 1,
                    "order_id": order_id,
                    "sku": sku,
                    "product_name": product["name"],
                    "qty": qty,
                    "unit": unit,
                    "reference": "",
                    "base_unit": product["base_unit"],
                }
            )
    companies = [
        {"id": i, "company_id": c, "company_name": n, "default_contact_id": d, "rep_email": r}
        for i, c, n, d, r in COMPANIES
    ]
    contacts = [
        {"id": i, "company_id": c, "email_address": e, "api_token": None, "api_contact_id": None}
        for i, c, e in CONTACTS
    ]
    return {
        "files": files,
        "companies.json": companies,
        "contacts.json": contacts,
        "emails.json": emails,
        "orders.json": orders,
        "order_lines.json": lines,
        "order_emails.json": links,
    }


def write(target: Path = HERE) -> list[str]:
    built = build()
    (target / "attachments").mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in built.pop("files").items():
        if len(data) > MAX_FILE_BYTES:
            raise SystemExit(f"{name} is {len(data)} bytes, over {MAX_FILE_BYTES}")
        (target / "attachments" / name).write_bytes(data)
        written.append(f"attachments/{name}")
    for name, rows in built.items():
        (target / name).write_text(json.dumps(rows, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        written.append(name)
    products = target / "products.json"
    if not products.exists():
        products.symlink_to("../products.json")
    return written


if __name__ == "__main__":
    for name in write(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE):
        print(name)
