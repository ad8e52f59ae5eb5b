"""The typed result of reading one attachment: sourced text lines, tables with column roles, issues.

Owns the data shapes (Document, Table, SourcedRow, SourcedLine), the reading limits, and the
Collector every format reader writes into (it numbers sources and enforces the row limit).
`Document.as_order_text()` renders the result as lines an email-body extractor can read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["pdf", "xlsx", "csv", "docx", "image", "unknown"]
Role = Literal["sku", "description", "qty", "unit", "price", "amount", "position"]
ROLES: tuple[Role, ...] = ("sku", "description", "qty", "unit", "price", "amount", "position")
# what an order line is made of, in the order as_order_text renders it
ORDER_ROLES: tuple[Role, ...] = ("sku", "description", "qty", "unit")
# how as_order_text names those columns: Dutch words the email extractor knows as a header
ORDER_HEADER = {"sku": "artikel", "description": "omschrijving", "qty": "aantal", "unit": "eenheid"}


@dataclass(frozen=True)
class Limits:
    """Bounds on one attachment; reading stops (with an issue) instead of running long."""

    max_bytes: int = 10 * 1024 * 1024
    max_pages: int = 30
    max_rows: int = 2000  # table rows plus text lines, over the whole document
    max_uncompressed: int = 50 * 1024 * 1024  # ZIP members, PDF streams, image pixels
    max_zip_members: int = 2000
    max_columns: int = 64  # cells read per spreadsheet row


@dataclass(frozen=True)
class SourcedLine:
    text: str
    source: str  # e.g. "PO-7781.pdf p1 l3"


@dataclass
class SourcedRow:
    cells: list[str]
    source: str  # e.g. "PO-7781.pdf p1 r2"


@dataclass
class Table:
    header: list[str]
    columns: dict[str, int]  # role -> column index
    rows: list[SourcedRow] = field(default_factory=list)
    source: str = ""  # where the header row is, e.g. "PO-7781.pdf p1 header"

    def cell(self, row: SourcedRow, role: str) -> str:
        index = self.columns.get(role)
        if index is None or index >= len(row.cells):
            return ""
        return row.cells[index]


@dataclass
class Document:
    filename: str
    kind: Kind = "unknown"
    text_lines: list[SourcedLine] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    reference: str | None = None
    delivery_date: str | None = None  # ISO yyyy-mm-dd when a full date was read, else the text
    issues: list[str] = field(default_factory=list)
    pages: int | None = None
    needs_ocr: bool = False

    def as_order_text(self, with_header: bool = True) -> list[SourcedLine]:
        """Lines an email-style extractor reads like a body: per table an optional header line
        ("artikel | omschrijving | aantal | eenheid"), then one line per row with the cells in
        role order sku, description, qty, unit (price, amount, position and unknown columns are
        dropped; an empty cell becomes "-" so columns stay aligned); then the text lines outside
        tables that look like order lines (an article code, or a quantity with a unit)."""
        from .fields import is_field_line
        from .tables import format_quantity, is_totals_text, looks_like_order_line

        out: list[SourcedLine] = []
        for table in self.tables:
            roles = [role for role in ORDER_ROLES if role in table.columns]
            if not roles:
                continue
            if with_header:
                header = " | ".join(ORDER_HEADER[role] for role in roles)
                out.append(SourcedLine(header, table.source or f"{self.filename} header"))
            for row in table.rows:
                parts = []
                for role in roles:
                    value = table.cell(row, role)
                    if role == "qty":
                        value = format_quantity(value)
                    parts.append(value.replace("|", "/") or "-")  # a pipe inside a cell would split it
                out.append(SourcedLine(" | ".join(parts), row.source))
        for line in self.text_lines:
            text = line.text
            if looks_like_order_line(text) and not is_totals_text(text) and not is_field_line(text):
                out.append(line)
        return out


_UNSAFE = re.compile(r"[\x00-\x1f\x7f]+")
MAX_LINE_CHARS = 1000  # a longer text line or cell is cut (with "…"): no order line is that long
MAX_CELL_CHARS = 500


def _capped(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def display_name(filename: str | None) -> str:
    """The file's own name for messages: no directories, no control characters."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub(" ", name).strip()
    return name[:120] or "attachment"


class Collector:
    """Where a reader puts lines and rows: numbers the sources, keeps within max_rows."""

    def __init__(self, document: Document, limits: Limits) -> None:
        self.document = document
        self.limits = limits
        self.used = 0
        self.full = False
        self._lines: dict[str, int] = {}
        self._rows: dict[str, int] = {}

    def source(self, scope: str, suffix: str) -> str:
        return " ".join(part for part in (self.document.filename, scope, suffix) if part)

    def room(self) -> bool:
        if self.used < self.limits.max_rows:
            return True
        if not self.full:
            self.full = True
            limit = self.limits.max_rows
            self.issue(f"more than {limit} rows; only the first {limit} were read")
        return False

    def issue(self, text: str) -> None:
        message = f"{self.document.filename}: {text}"
        if message not in self.document.issues:
            self.document.issues.append(message)

    def add_text(self, text: str, scope: str = "", row_no: int | None = None) -> None:
        text = _capped(" ".join(text.split()) if "\n" in text else text.strip(), MAX_LINE_CHARS)
        if not text or not self.room():
            return
        self.used += 1
        if row_no is None:
            self._lines[scope] = self._lines.get(scope, 0) + 1
            suffix = f"l{self._lines[scope]}"
        else:
            suffix = f"r{row_no}"
        self.document.text_lines.append(SourcedLine(text, self.source(scope, suffix)))

    def add_row(self, table: Table, cells: list[str], scope: str = "", row_no: int | None = None) -> bool:
        if not self.room():
            return False
        self.used += 1
        if row_no is None:
            self._rows[scope] = self._rows.get(scope, 0) + 1
            row_no = self._rows[scope]
        if not any(known is table for known in self.document.tables):
            self.document.tables.append(table)
        cells = [_capped(cell, MAX_CELL_CHARS) for cell in cells]
        table.rows.append(SourcedRow(cells, self.source(scope, f"r{row_no}")))
        return True
