"""Reading order attachments: bytes in, a typed Document out (pure: no network, no database).

`read_document(filename, content_type, data)` sniffs what the bytes really are (magic bytes
decide; the name and declared type only word the messages), guards against oversized and
bomb-like files, and hands the bytes to one reader per format: pdf.py (text layer, ruled and
positioned tables), spreadsheet.py (xlsx, csv), word.py (docx), ocr.py (scans and images,
only with Tesseract installed). It never raises: every problem is an issue naming the file.
"""

from __future__ import annotations

import contextlib
import os

from .fields import find_delivery_date, find_reference
from .models import Document, Kind, Limits, SourcedLine, SourcedRow, Table, display_name
from .sniff import check_zip, is_encrypted_office, sniff

__all__ = ["Document", "Limits", "SourcedLine", "SourcedRow", "Table", "read_document"]

_NAMED_KINDS = {
    ".pdf": "a PDF",
    ".xlsx": "an Excel file",
    ".xlsm": "an Excel file",
    ".xltx": "an Excel file",
    ".xls": "an Excel file",
    ".csv": "a CSV file",
    ".tsv": "a CSV file",
    ".txt": "a text file",
    ".docx": "a Word file",
    ".docm": "a Word file",
    ".doc": "a Word file",
    ".png": "an image",
    ".jpg": "an image",
    ".jpeg": "an image",
    ".tif": "an image",
    ".tiff": "an image",
}
_SNIFFED_AS = {
    "pdf": "a PDF",
    "zip": "a ZIP archive",
    "ole": "an old Microsoft Office file",
    "png": "a PNG image",
    "jpeg": "a JPEG image",
    "tiff": "a TIFF image",
    "gif": "a GIF image",
    "bmp": "a BMP image",
    "webp": "a WebP image",
    "text": "plain text",
    "binary": "binary data",
}
_TEXT_TYPES = (
    "text/csv",
    "text/plain",
    "text/tab-separated-values",
    "application/csv",
    "text/comma-separated-values",
    "application/vnd.ms-excel",
)
_IMAGE_KINDS = ("png", "jpeg", "tiff", "gif", "bmp", "webp")
DEFAULT_LIMITS = Limits()


def read_document(filename: str, content_type: str, data: bytes, limits: Limits = DEFAULT_LIMITS) -> Document:
    """Text lines and tables of one attachment; never raises (problems become issues)."""
    name = display_name(filename)
    try:
        document = _read(name, (content_type or "").lower().split(";")[0].strip(), data or b"", limits)
    except Exception as exc:  # noqa: BLE001 - last line of defence: a reader bug is an issue, not a crash
        document = Document(filename=name, issues=[f"{name}: could not be read ({type(exc).__name__})"])
    if document.text_lines or document.tables:
        lines = document.text_lines + [
            SourcedLine("  ".join(r.cells), r.source) for t in document.tables for r in t.rows
        ]
        with contextlib.suppress(Exception):  # the fields are extras; the lines stay
            document.reference = find_reference(document.text_lines) or find_reference(lines)
            document.delivery_date = find_delivery_date(document.text_lines)
    return document


def _read(name: str, content_type: str, data: bytes, limits: Limits) -> Document:
    extension = os.path.splitext(name)[1].lower()
    if not data:
        return _problem(name, "unknown", "is empty (0 bytes)")
    if len(data) > limits.max_bytes:
        too_big = f"is {_size(len(data))}, over the {_size(limits.max_bytes)} limit; not read"
        return _problem(name, "unknown", too_big)
    magic = sniff(data)
    mismatch = _mismatch(name, extension, magic)
    if magic == "pdf":
        from .pdf import read_pdf

        document = read_pdf(name, data, limits)
    elif magic == "zip":
        document = _read_zip(name, extension, data, limits)
    elif magic == "ole":
        document = _problem(name, "unknown", _ole_problem(extension, data))
    elif magic in _IMAGE_KINDS:
        from .ocr import read_image

        document = read_image(name, data, limits, magic)
    elif magic == "text" and (extension in (".csv", ".tsv", ".txt") or content_type in _TEXT_TYPES):
        from .spreadsheet import read_csv

        document = read_csv(name, data, limits)
    elif magic == "text":
        declared = content_type or extension or "text"
        document = _problem(name, "unknown", f"is an unsupported file type ({declared}); not read")
    else:
        document = _problem(name, "unknown", "is an unknown file type; not read")
    if mismatch:
        document.issues.insert(0, mismatch)
    return document


def _read_zip(name: str, extension: str, data: bytes, limits: Limits) -> Document:
    check = check_zip(data, limits)
    kind: Kind = "xlsx" if check.kind == "xlsx" else "docx" if check.kind == "docx" else "unknown"
    if check.problem:
        return _problem(name, kind, check.problem)
    if check.kind == "xlsx":
        from .spreadsheet import read_xlsx

        return read_xlsx(name, data, limits)
    if check.kind == "docx":
        from .word import read_docx

        return read_docx(name, data, limits)
    if check.kind == "opendocument":
        return _problem(
            name,
            "unknown",
            "is an OpenDocument file (LibreOffice); not supported, ask for PDF, Excel .xlsx or CSV",
        )
    return _problem(name, "unknown", "is a ZIP archive, not an Excel or Word file; not read")


def _ole_problem(extension: str, data: bytes) -> str:
    if is_encrypted_office(data):
        return "is password protected (encrypted Office file); ask for an unprotected copy"
    if extension in (".xls", ".xlt"):
        return "old Excel 97-2003 .xls is not supported; ask for .xlsx, CSV or PDF"
    if extension in (".doc", ".dot"):
        return "old Word 97-2003 .doc is not supported; ask for .docx or PDF"
    if extension == ".msg":
        return "an Outlook .msg message is not supported; ask to forward it as an email"
    return "an old Microsoft Office file (97-2003 format) is not supported; ask for PDF, .xlsx or .docx"


def _mismatch(name: str, extension: str, magic: str) -> str | None:
    claimed = _NAMED_KINDS.get(extension)
    actual = _SNIFFED_AS.get(magic)
    if claimed is None or actual is None:
        return None
    expected = {
        ".pdf": {"pdf"},
        ".csv": {"text"},
        ".tsv": {"text"},
        ".txt": {"text"},
        ".png": {"png"},
        ".jpg": {"jpeg"},
        ".jpeg": {"jpeg"},
        ".tif": {"tiff"},
        ".tiff": {"tiff"},
        ".doc": {"ole"},
        ".xls": {"ole"},
    }.get(extension, {"zip", "ole"})
    if magic in expected:
        return None
    return f"{name}: is {actual}, not {claimed} as its name says"


def _problem(name: str, kind: Kind, text: str) -> Document:
    return Document(filename=name, kind=kind, issues=[f"{name}: {text}"])


def _size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    return f"{size / 1024:.0f} KB" if size >= 1024 else f"{size} bytes"
