"""PDF attachments with pdfplumber: ruled tables, positioned columns, text lines, per page.

Owns opening a PDF safely (Flate-bomb guard, encrypted and damaged files as issues), reading
at most max_pages pages without walking the rest of the page tree, ruled tables from
pdfplumber's line-based table finder, the remaining words through layout.PageLayout, and
handing pages without a text layer to OCR (or marking the document as needing OCR).
"""

from __future__ import annotations

import contextlib
import io
import logging
from typing import Any

from . import ocr
from .layout import PageLayout, RuledBlock, Word
from .models import Collector, Document, Limits
from .sniff import pdf_inflated_size

_MAX_EDGES = 4000  # ruling lines on a page above which the table finder is not run
_MAX_CHARS = 60_000  # characters on one page above which the page is skipped
_WORD_SETTINGS = {"x_tolerance": 2.5, "y_tolerance": 2.5, "keep_blank_chars": False, "use_text_flow": False}

logging.getLogger("pdfminer").setLevel(logging.ERROR)  # damaged files are reported as issues instead


def read_pdf(name: str, data: bytes, limits: Limits) -> Document:
    document = Document(filename=name, kind="pdf")
    out = Collector(document, limits)
    inflated = pdf_inflated_size(data, limits.max_uncompressed)
    if inflated > limits.max_uncompressed:
        limit = limits.max_uncompressed // (1024 * 1024)
        out.issue(f"its compressed content unpacks to more than {limit} MB; not read")
        return document
    try:
        import pdfplumber
    except ImportError:  # pragma: no cover - a dependency of the package
        out.issue("PDF reading is not installed (pdfplumber)")
        return document
    try:
        pdf = pdfplumber.open(io.BytesIO(data), raise_unicode_errors=False)
    except Exception as exc:  # noqa: BLE001 - pdfminer raises many kinds on damaged input
        out.issue(f"not a readable PDF ({_why(exc)})")
        return document
    try:
        _read_pages(pdf, out, limits)
    finally:
        with contextlib.suppress(Exception):  # closing must not turn a result into an exception
            pdf.flush_cache()
    return document


def _why(exc: BaseException) -> str:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        nested = current.args[0] if current.args and isinstance(current.args[0], BaseException) else None
        current = nested or current.__cause__ or current.__context__
    names = " ".join(type(e).__name__ for e in seen)
    if "Password" in names or "Encrypt" in names:
        return "password protected"
    return "file is damaged"


def _page_count(pdf: Any) -> int | None:
    try:
        from pdfminer.pdftypes import resolve1

        count = resolve1(resolve1(pdf.doc.catalog["Pages"])["Count"])
        return count if isinstance(count, int) and count >= 0 else None
    except Exception:  # noqa: BLE001 - a missing or broken page tree counts as unknown
        return None


def _read_pages(pdf: Any, out: Collector, limits: Limits) -> None:
    from pdfminer.pdfpage import PDFPage
    from pdfplumber.page import Page

    document = out.document
    total = _page_count(pdf)
    layout = PageLayout(out)
    without_text: list[int] = []
    by_ocr: list[int] = []
    read = 0
    doctop = 0.0
    more = False
    try:
        pages = PDFPage.create_pages(pdf.doc)
        for number in range(1, limits.max_pages + 2):
            try:
                page_object = next(pages)
            except StopIteration:
                break
            if number > limits.max_pages:
                more = True
                break
            read += 1
            page = None
            try:
                page = Page(pdf, page_object, page_number=number, initial_doctop=doctop)
                doctop += float(page.height)
                if not out.room():
                    continue
                outcome = _read_page(page, number, layout, out, limits)
                if outcome == "no text":
                    without_text.append(number)
                elif outcome == "ocr":
                    by_ocr.append(number)
            except Exception as exc:  # noqa: BLE001 - one bad page does not lose the others
                out.issue(f"page {number} could not be read ({_why(exc)})")
            finally:
                if page is not None:
                    page.close()
    except Exception as exc:  # noqa: BLE001 - a broken page tree
        out.issue(
            f"not a readable PDF ({_why(exc)})" if read == 0 else f"pages after {read} could not be read"
        )
    document.pages = total if total is not None and total >= read else read
    if read == 0 and not document.issues:
        out.issue("not a readable PDF (file is damaged)")
    if more or (total is not None and total > limits.max_pages):
        shown = f"has {total} pages" if total is not None and total > limits.max_pages else "has more pages"
        out.issue(f"{shown}; only the first {limits.max_pages} were read")
    if by_ocr:
        which = "" if len(by_ocr) == read else f"{_pages(by_ocr)} "
        out.issue(f"{which}read by OCR; check the lines against the attachment")
    if without_text:
        document.needs_ocr = True
        if len(without_text) == read:
            why = "a scan without a text layer"
        else:
            why = f"{_pages(without_text)} {'has' if len(without_text) == 1 else 'have'} no text layer"
        out.issue(f"attachment needs OCR ({why}; OCR is not available here)")


def _pages(numbers: list[int]) -> str:
    return ("page " if len(numbers) == 1 else "pages ") + ", ".join(str(n) for n in numbers)


def _read_page(page: Any, number: int, layout: PageLayout, out: Collector, limits: Limits) -> str:
    scope = f"p{number}"
    chars = page.chars
    if not chars:
        if ocr.tesseract_available():
            words = ocr.ocr_pdf_page(page, limits)
            if words:
                layout.page(scope, words)
                return "ocr"
        return "no text"
    if len(chars) > _MAX_CHARS:
        out.issue(f"page {number} holds over {_MAX_CHARS} characters; skipped")
        return "skipped"
    page = _without_double_chars(page, chars)
    ruled: list[RuledBlock] = []
    regions: list[tuple[float, float, float, float]] = []
    if len(page.edges) <= _MAX_EDGES:
        for found in page.find_tables():
            rows = found.extract()
            if len(rows) < 2 or max(len(r) for r in rows) < 2 or _column_only(rows):
                continue
            ruled.append(RuledBlock(float(found.bbox[1]), rows))
            regions.append(tuple(float(v) for v in found.bbox))  # type: ignore[arg-type]
    words = []
    for w in page.extract_words(**_WORD_SETTINGS):
        centre_x, centre_y = (w["x0"] + w["x1"]) / 2, (w["top"] + w["bottom"]) / 2
        if any(x0 <= centre_x <= x1 and top <= centre_y <= bottom for x0, top, x1, bottom in regions):
            continue
        words.append(Word(w["text"], float(w["x0"]), float(w["x1"]), float(w["top"]), float(w["bottom"])))
    layout.page(scope, words, ruled)
    return "text"


def _without_double_chars(page: Any, chars: list[dict[str, Any]]) -> Any:
    """Drops characters printed twice at (nearly) the same spot ('fake bold'), which would
    otherwise read as 'VVIIVVAAKK'. pdfplumber's dedupe_chars does this too, but sorts slowly."""
    seen: set[tuple[str, int, int]] = set()
    doubles: set[int] = set()
    for char in chars:
        x, y = int(char["x0"] * 2), int(char["top"] * 2)  # half-point cells; neighbours count too
        if any((char["text"], x + dx, y + dy) in seen for dx in (-1, 0, 1) for dy in (-1, 0, 1)):
            doubles.add(id(char))
        seen.add((char["text"], x, y))
    if not doubles:
        return page
    return page.filter(lambda obj: obj.get("object_type") != "char" or id(obj) not in doubles)


def _column_only(rows: list[list[str | None]]) -> bool:
    """Ruled columns without row lines: one 'cell' holds several rows' numbers. Such a box is
    read from word positions instead."""
    from .tables import parse_number

    for row in rows[1:]:
        for cell in row:
            parts = [p for p in (cell or "").split("\n") if p.strip()]
            if len(parts) >= 2 and all(parse_number(p) is not None for p in parts):
                return True
    return False
