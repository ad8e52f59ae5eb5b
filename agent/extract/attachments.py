"""Order files attached to an email (PDF, Excel, CSV, Word, scans) as order sources.

mail.parse keeps the bytes of an email's order files (within the attachment limits); this module
reads them with mail.documents (each file once: the results are cached, keyed by its content),
turns their table rows into order text for the same rules extractor the body goes through, each
line keeping where it came from ("PO-7781.pdf p1 r2: ..."), takes the document's PO number and
delivery date, and says what became of every order file: read with N lines, read without order
lines, or not read and why (an issue on the draft naming the file, blocking when the draft has no
lines). It also picks the files a rep's summary carries, so the rep can check the original.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import TYPE_CHECKING

from mailorder.agent.extract.rules import extract_rules
from mailorder.domain import (
    Attachment,
    AttachmentNote,
    Extraction,
    Issue,
    IssueCode,
    LineRequest,
    ParsedEmail,
)
from mailorder.mail import parse
from mailorder.mail.clean import CleanBody
from mailorder.mail.compose import FileAttachment
from mailorder.mail.documents import Document, Limits, SourcedLine, read_document
from mailorder.mail.documents.models import display_name
from mailorder.mail.documents.sniff import check_zip, sniff

if TYPE_CHECKING:
    from mailorder.agent.config import Settings

log = logging.getLogger(__name__)

OCR_CONFIDENCE = 0.8  # a line read by OCR is checked by the rep, however well it matched
_CACHE_SIZE = 64  # documents kept after reading (the nodes of one email each need them)
_TRUNCATED = re.compile(r"only the first \d+")
_NOT_READABLE = re.compile(r"not a readable [\w ]+? \((?P<why>.+)\)")
# the place _sourced puts before a line read from a file: "PO-7781.pdf p1 r2: ", "order.xlsx Blad1
# r4: ", "scan.png l3: " or, when the line's place is unknown, the file's name ("order.csv: ")
_FILE_SOURCE = re.compile(
    r"^[^\n:]*\.(?:pdf|xlsx|xlsm|xls|csv|tsv|txt|docx|doc|png|jpe?g|tiff?|gif|bmp|webp|heic)"
    r"(?: [^\n:]*)?: ",
    re.I,
)
_MACRO_EXTENSIONS = (".xlsm", ".xltm", ".docm", ".dotm")
_SENT_AS = {  # what a file really is (sniffed) -> the content type a summary declares for it
    "pdf": "application/pdf",
    "png": "image/png",
    "jpeg": "image/jpeg",
    "tiff": "image/tiff",
    "text": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


# --- limits (process-wide, from the settings) ----------------------------------------------------
_limits = Limits()


def use_attachment_settings(settings: Settings) -> None:
    """Read order files within the settings' limits from now on (`serve` and `eval` call this,
    like the prompts folder): bytes kept by mail.parse, and pages and rows read per file."""
    global _limits
    parse.use_attachment_limits(
        parse.AttachmentLimits(
            max_bytes=settings.attachment_max_bytes,
            max_total=settings.attachment_max_total,
            max_count=settings.attachment_max_count,
        )
    )
    _limits = replace(
        Limits(),
        max_bytes=settings.attachment_max_bytes,
        max_pages=settings.attachment_max_pages,
        max_rows=settings.attachment_max_rows,
    )


def document_limits() -> Limits:
    return _limits


# --- reading ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Reading:
    """One order file of an email: the attachment, its name as messages show it, what was read."""

    attachment: Attachment
    name: str
    document: Document | None  # None when mail.parse did not keep its bytes (a limit)

    @property
    def readable(self) -> bool:
        return self.document is not None and bool(self.document.text_lines or self.document.tables)

    def order_text(self) -> list[SourcedLine]:
        return self.document.as_order_text() if self.document is not None else []


_cache: OrderedDict[tuple[str, str, str, Limits], Document] = OrderedDict()
_cache_lock = threading.Lock()


def order_files(email: ParsedEmail) -> list[Attachment]:
    """The email's attachments that can hold an order (PDF, Excel, CSV, Word, attached images)."""
    return [a for a in email.attachments if a.order_source]


def read_attachments(email: ParsedEmail) -> list[Reading]:
    """Every order file of the email, read (never raises; a bad file is a Reading with issues).
    Blocking: from async code use `read_attachments_async`."""
    readings = []
    for attachment, name in file_names(email):
        if attachment.data is None:
            readings.append(Reading(attachment, name, None))
            continue
        readings.append(Reading(attachment, name, _read(name, attachment)))
    return readings


async def read_attachments_async(email: ParsedEmail) -> list[Reading]:
    """`read_attachments` in a worker thread when there is something to read (a 30-page PDF
    must not stall the event loop), else at once."""
    if not any(a.data for a in order_files(email)):
        return read_attachments(email)
    return await asyncio.to_thread(read_attachments, email)


def _read(name: str, attachment: Attachment) -> Document:
    data = attachment.data or b""
    limits = _limits
    key = (hashlib.sha256(data).hexdigest(), name, attachment.content_type, limits)
    with _cache_lock:
        known = _cache.get(key)
        if known is not None:
            _cache.move_to_end(key)
            return known
    document = read_document(name, attachment.content_type, data, limits)
    with _cache_lock:
        _cache[key] = document
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return document


def clear_cache() -> None:
    """Forget the documents read so far (tests)."""
    with _cache_lock:
        _cache.clear()


def file_names(email: ParsedEmail) -> list[tuple[Attachment, str]]:
    """The order files with the names messages use: the file's own name (no folders, no control
    characters), made unique ("order.pdf", "order.pdf (2)") so a line's source names one file."""
    named: list[tuple[Attachment, str]] = []
    seen: dict[str, int] = {}
    for attachment in order_files(email):
        name = display_name(attachment.filename or _fallback_name(attachment))
        seen[name] = seen.get(name, 0) + 1
        named.append((attachment, name if seen[name] == 1 else f"{name} ({seen[name]})"))
    return named


def _fallback_name(attachment: Attachment) -> str:
    kind = attachment.content_type.rpartition("/")[2] or "file"
    return f"attachment.{kind}" if kind.isalnum() and len(kind) <= 5 else "attachment"


def attachment_order_text(email: ParsedEmail) -> str:
    """The order lines of the email's readable order files as text (for triage); "" when none."""
    try:
        return "\n".join(line.text for reading in read_attachments(email) for line in reading.order_text())
    except Exception:  # triage goes on with the email's words
        log.warning("order files of %s could not be read for triage", email.message_id, exc_info=True)
        return ""


# --- extraction ------------------------------------------------------------------------------------
def extract_attachments(
    email: ParsedEmail,
    readings: Sequence[Reading],
    toolbox_or_catalog: object,
    *,
    received: datetime,
    customer_id: str | None = None,
) -> list[tuple[Reading, Extraction]]:
    """Each readable order file through the rules extractor, as if its rows were an email body;
    every line's source_text starts with where it came from ("PO-7781.pdf p1 r2: ...")."""
    found = []
    for reading in readings:
        lines = reading.order_text()
        if not lines:
            continue
        text = "\n".join(line.text for line in lines)
        as_body = email.model_copy(
            update={"subject": "", "text": text, "html": "", "html_text": "", "attachments": []}
        )
        try:
            extraction = extract_rules(
                as_body,
                CleanBody(text=text, new_text=text),
                toolbox_or_catalog,
                received=received,
                customer_id=customer_id,
            )
        except Exception as exc:  # noqa: BLE001 - one file's text must not cost the email its draft
            log.warning("reading the lines of %s in %s: %r", reading.name, email.message_id, exc)
            note = f"review: {reading.name}: its lines could not be read ({type(exc).__name__})"
            found.append((reading, Extraction(notes=[note])))
            continue
        sources: dict[str, str] = {}
        for line in lines:
            sources.setdefault(line.text.strip(), line.source)
        by_ocr = reading.document is not None and any("OCR" in issue for issue in reading.document.issues)
        for request in extraction.lines:
            _sourced(request, sources, reading.name, by_ocr)
        extraction.notes = [_file_note(reading.name, note) for note in extraction.notes]
        found.append((reading, extraction))
    return found


def without_file_source(source_text: str) -> str:
    """A line's own words without the file and place _sourced put before them (what a learned
    alias must be keyed by: the next order file has another name, the row its words)."""
    return _FILE_SOURCE.sub("", source_text, count=1)


def _sourced(request: LineRequest, sources: dict[str, str], name: str, by_ocr: bool) -> None:
    first = next((part.strip() for part in request.source_text.split("\n") if part.strip()), "")
    source = sources.get(first) or name
    request.source_text = f"{source}: {request.source_text}"
    if by_ocr:
        request.confidence = min(request.confidence, OCR_CONFIDENCE)


def _file_note(name: str, note: str) -> str:
    if note.startswith("review:"):
        return f"review: {name}: {note.removeprefix('review:').strip()}"
    return f"{name}: {note}"


def merge_extractions(body: Extraction, found: Sequence[tuple[Reading, Extraction]]) -> Extraction:
    """The body's extraction with the order files' lines added (a body line that repeats a file's
    line is dropped), the file's PO number as the reference and its delivery date when the body
    gives none."""
    if not found:
        return body
    file_lines = [line for _, extraction in found for line in extraction.lines]
    kept = [line for line in body.lines if not any(_same_line(line, other) for other in file_lines)]
    merged = body.model_copy(deep=True)
    merged.lines = [*kept, *file_lines]
    if file_lines and not body.method.startswith("rules"):
        merged.method = f"{body.method}; attached files by rules"  # the summary says who read what
    if len(kept) < len(body.lines):
        merged.notes.append(f"{len(body.lines) - len(kept)} line(s) of the email repeat the attachment's")
    for _, extraction in found:
        merged.notes.extend(extraction.notes)
    documents = [(reading.name, reading.document) for reading, _ in found if reading.document is not None]
    po = next(((name, d.reference) for name, d in documents if d.reference), None)
    if po is not None:
        name, number = po
        if body.reference and body.reference.casefold() != number.casefold():
            merged.notes.append(
                f"review: the email's reference {body.reference} differs from the PO number {number} "
                f"of {name} (the draft takes the PO number)"
            )
        merged.reference = number
    if merged.delivery_date is None:
        merged.delivery_date = next(
            (day for _, d in documents if (day := _iso_date(d.delivery_date)) is not None), None
        )
    return merged


def _same_line(line: LineRequest, other: LineRequest) -> bool:
    return (
        bool(line.sku)
        and line.sku == other.sku
        and line.qty == other.qty
        and (line.unit == other.unit or line.unit is None or other.unit is None)
    )


def _iso_date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:  # "week 12": a week is left to the rep
        return None


# --- what became of each file: notes for the summary, issues for the draft -------------------------
def attachment_report(
    readings: Sequence[Reading], source_texts: Sequence[str]
) -> tuple[list[AttachmentNote], list[Issue]]:
    """One note per order file and the issues a draft carries for them. A file that could not be
    read is a non-blocking issue naming it, blocking when the draft has no lines (nothing else was
    read); a file read only in part (page or row limit) blocks, like a cut email."""
    notes: list[AttachmentNote] = []
    issues: list[Issue] = []
    no_lines = not source_texts
    owners = [_owner(text, [r.name for r in readings]) for text in source_texts]
    for reading in readings:
        lines = owners.count(reading.name)
        document = reading.document
        if document is None:
            why = reading.attachment.not_kept or "not kept"
            notes.append(AttachmentNote(filename=reading.name, read=False, problem=why))
            issues.append(_issue(f"{reading.name} was not read ({why}): please check the original", no_lines))
            continue
        if not reading.readable:
            why = _why(reading.name, document.issues)
            notes.append(AttachmentNote(filename=reading.name, read=False, problem=why))
            issues.append(_issue(_unread_message(reading.name, document.issues), no_lines))
            continue
        problems = [_bare(reading.name, text) for text in document.issues]
        notes.append(
            AttachmentNote(filename=reading.name, read=True, lines=lines, problem="; ".join(problems) or None)
        )
        for text in document.issues:
            if _TRUNCATED.search(text):
                issues.append(
                    Issue(code=IssueCode.TOO_LONG, message=f"{text}: check the original before posting")
                )
            else:
                issues.append(_issue(text, blocking=False))
    return notes, issues


def _owner(source_text: str, names: Sequence[str]) -> str | None:
    """The file a line came from: the longest name its source starts with ("order.pdf (2) p1 r3:"
    is the second order.pdf's)."""
    found = [n for n in names if source_text.startswith((f"{n} ", f"{n}:"))]
    return max(found, key=len) if found else None


def _issue(message: str, blocking: bool) -> Issue:
    return Issue(code=IssueCode.ATTACHMENT_PROBLEM, message=message, blocking=blocking)


def _bare(name: str, text: str) -> str:
    return text.removeprefix(f"{name}: ")


def _main_problem(name: str, issues: Sequence[str]) -> str:
    """The issue that says why a file was not read (not the note that its name claims another type)."""
    return _bare(name, next((i for i in issues if not i.endswith("as its name says")), issues[0]))


def _why(name: str, issues: Sequence[str]) -> str:
    """Why a file was not read, in a few words ("file is damaged", "password protected")."""
    if not issues:
        return "no text found"
    text = _main_problem(name, issues)
    found = _NOT_READABLE.fullmatch(text)
    return found.group("why") if found else re.sub(r"; not (?:read|opened)$", "", text)


def _unread_message(name: str, issues: Sequence[str]) -> str:
    """ "order-99.pdf could not be read (file is damaged): please check the original"."""
    if not issues:
        return f"{name} could not be read (no text found): please check the original"
    text = _main_problem(name, issues)
    if _NOT_READABLE.fullmatch(text):
        return f"{name} could not be read ({_why(name, issues)}): please check the original"
    text = re.sub(r"; not (?:read|opened)$", "", text)
    if text.startswith("is "):
        text = "it " + text
    return f"{name} could not be read: {text}; please check the original"


# --- the files a summary carries -------------------------------------------------------------------
def summary_files(email: ParsedEmail, budget: int) -> tuple[list[FileAttachment], list[str]]:
    """The email's order files for the rep's summary, within `budget` bytes in all: only files
    that are what they claim to be by their bytes (PDF, an Office file that is safe to open,
    CSV, an image), never macro-enabled ones; declared as what they are. Also the names of the
    order files left out, each with why."""
    attached: list[FileAttachment] = []
    left_out: list[str] = []
    used = 0
    for attachment, name in file_names(email):
        data = attachment.data
        if data is None:
            left_out.append(f"{name} ({attachment.not_kept or 'not kept'})")
            continue
        content_type = _sent_as(name, data)
        if content_type is None:
            left_out.append(f"{name} (not a safe file to pass on)")
        elif used + len(data) > budget:
            left_out.append(f"{name} (too large to attach)")
        else:
            attached.append(FileAttachment(filename=name, content_type=content_type, data=data))
            used += len(data)
    return attached, left_out


def _sent_as(name: str, data: bytes) -> str | None:
    if not data or os.path.splitext(name)[1].lower() in _MACRO_EXTENSIONS:
        return None
    kind = sniff(data)
    if kind == "zip":
        check = check_zip(data, _limits)
        kind = check.kind if check.problem is None else "unsafe"
    return _SENT_AS.get(kind)
