"""Spreadsheet attachments: Excel .xlsx/.xlsm with openpyxl, and CSV/TSV text exports.

Owns: opening a workbook read-only with cached values only (formulas are not evaluated,
macros never run or load), reading visible sheets in order up to the first one with an order
header, formatting cell values (dates as ISO, numbers with a decimal comma), and for CSV the
encoding (utf-8, utf-8-sig, utf-16, cp1252) and the delimiter (; , tab |) guessed from the text.
Sources are the spreadsheet's own row numbers: "bestelling.xlsx Bestelling r6", "order.csv r3".
"""

from __future__ import annotations

import contextlib
import csv
import io
from datetime import date, datetime, time
from typing import Any

from .models import Collector, Document, Limits
from .tables import GridTables, format_number


def read_xlsx(name: str, data: bytes, limits: Limits) -> Document:
    """The caller has run sniff.check_zip on `data` first."""
    document = Document(filename=name, kind="xlsx")
    out = Collector(document, limits)
    try:
        from openpyxl import load_workbook
    except ImportError:  # pragma: no cover - a dependency of the package
        out.issue("Excel reading is not installed (openpyxl)")
        return document
    try:
        workbook = load_workbook(
            io.BytesIO(data), read_only=True, data_only=True, keep_vba=False, keep_links=False
        )
    except Exception:  # noqa: BLE001 - openpyxl raises many kinds on damaged input
        out.issue("not a readable Excel file (file is damaged)")
        return document
    try:
        for sheet in workbook.worksheets:
            if getattr(sheet, "sheet_state", "visible") != "visible":
                continue
            if _read_sheet(sheet, out, limits) or not out.room():
                break
    except Exception:  # noqa: BLE001 - a damaged sheet part
        out.issue("the workbook could not be read completely (file is damaged)")
    finally:
        with contextlib.suppress(Exception):  # closing must not raise
            workbook.close()
    return document


def _read_sheet(sheet: Any, out: Collector, limits: Limits) -> bool:
    """Feeds one sheet's rows; True when it held an order table (later sheets are not read)."""
    grid = GridTables(out)
    tables_before = len(out.document.tables)
    for row_no, values in enumerate(sheet.iter_rows(max_col=limits.max_columns, values_only=True), start=1):
        if row_no > limits.max_rows:
            out.issue(
                f"sheet {sheet.title} has more than {limits.max_rows} rows; "
                f"only the first {limits.max_rows} were read"
            )
            break
        cells = [cell_text(v) for v in values]
        if not any(cells):
            continue
        if not out.room():
            break
        grid.feed(list(cells), sheet.title, row_no)
    return len(out.document.tables) > tables_before


def cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "ja" if value else "nee"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0, 0) else value.isoformat(" ", "minutes")
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_number(value)
    return " ".join(str(value).split())


# --- CSV --------------------------------------------------------------------------------------------
_DELIMITERS = (";", "\t", ",", "|")


def decode_text(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def guess_delimiter(text: str) -> str | None:
    """The delimiter that splits the first lines into the same number (>1) of fields most
    consistently; ties go to ; then tab then , (a comma is also the Dutch decimal mark)."""
    sample = [line for line in text.splitlines()[:30] if line.strip()]
    if not sample:
        return None
    best: tuple[float, int, int] | None = None
    chosen = None
    for rank, delimiter in enumerate(_DELIMITERS):
        try:
            counts = [len(row) for row in csv.reader(sample, delimiter=delimiter)]
        except csv.Error:
            continue
        widths = [c for c in counts if c > 1]
        if not widths:
            continue
        mode = max(set(widths), key=widths.count)
        score = (widths.count(mode) / len(counts), mode, -rank)
        if best is None or score > best:
            best, chosen = score, delimiter
    return chosen if best is not None and best[0] >= 0.5 else None


def read_csv(name: str, data: bytes, limits: Limits) -> Document:
    document = Document(filename=name, kind="csv")
    out = Collector(document, limits)
    text = decode_text(data)
    delimiter = guess_delimiter(text)
    grid = GridTables(out)
    if delimiter is None:
        for line_no, line in enumerate(text.splitlines(), start=1):
            if not out.room():
                break
            out.add_text(line, "", line_no)
        return document
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        for record_no, row in enumerate(reader, start=1):
            if not out.room():
                break
            grid.feed(list(row[: limits.max_columns]), "", record_no)
    except csv.Error:
        out.issue("the CSV file could not be read completely (a malformed or oversized field)")
    return document
