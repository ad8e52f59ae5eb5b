"""Word .docx attachments with python-docx: body paragraphs and tables in document order.

Owns walking the body (paragraphs become text lines, each table goes through GridTables),
collapsing horizontally merged cells, and skipping what an order never hides in (headers,
footers, text boxes, nested tables). Sources: "order.docx l3" for the third text line,
"order.docx t1 r2" for the second item row of the first table.
"""

from __future__ import annotations

import io
from typing import Any

from .models import Collector, Document, Limits
from .tables import GridTables


def read_docx(name: str, data: bytes, limits: Limits) -> Document:
    """The caller has run sniff.check_zip on `data` first."""
    document = Document(filename=name, kind="docx")
    out = Collector(document, limits)
    try:
        import docx
    except ImportError:  # pragma: no cover - a dependency of the package
        out.issue("Word reading is not installed (python-docx)")
        return document
    try:
        word = docx.Document(io.BytesIO(data))
    except Exception:  # noqa: BLE001 - python-docx raises many kinds on damaged input
        out.issue("not a readable Word file (file is damaged)")
        return document
    try:
        _read_body(word, out)
    except Exception:  # noqa: BLE001 - a damaged part of the body
        out.issue("the Word file could not be read completely (file is damaged)")
    return document


def _read_body(word: Any, out: Collector) -> None:
    from docx.table import Table as DocxTable
    from docx.text.paragraph import Paragraph

    table_no = 0
    for block in word.iter_inner_content():
        if not out.room():
            return
        if isinstance(block, Paragraph):
            for line in block.text.splitlines():
                out.add_text(line)
        elif isinstance(block, DocxTable):
            table_no += 1
            grid = GridTables(out)
            for row in block.rows:
                if not out.room():
                    return
                grid.feed(_row_cells(row), f"t{table_no}")


def _row_cells(row: Any) -> list[object]:
    """One string per grid cell; a cell merged over several columns counts once."""
    cells: list[object] = []
    previous = None
    for cell in row.cells:
        if previous is not None and cell._tc is previous:
            continue
        previous = cell._tc
        cells.append("\n".join(p.text for p in cell.paragraphs))
    return cells
