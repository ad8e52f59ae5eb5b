"""Raw RFC 5322 bytes → ParsedEmail. Pure, and never raises on hostile input."""

from __future__ import annotations

import codecs
import hashlib
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import policy
from email.header import decode_header, make_header
from email.headerregistry import (
    AddressHeader,
    ContentTransferEncodingHeader,
    ContentTypeHeader,
    DateHeader,
    MessageIDHeader,
    MIMEVersionHeader,
    UnstructuredHeader,
)
from email.message import Message
from email.parser import BytesParser
from email.utils import format_datetime, getaddresses, parsedate_to_datetime
from typing import cast

from mailorder.domain import Attachment, ParsedEmail
from mailorder.mail.html import html_to_text

log = logging.getLogger(__name__)

SYNTHETIC_DOMAIN = "mailorder.invalid"
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # C0 controls except tab, LF, CR
_LARGE_HEADER = 4000  # characters; longer header values skip the stdlib's structured parser
_MSGID = re.compile(r"<[^<>\s]+>")
_SINGLE_BYTE_CHARSETS = {"ascii", "iso8859_1", "iso8859_15", "cp1252", "iso8859_2", "cp1250"}
_WIDE_CHARSETS = {"utf_16", "utf_16_le", "utf_16_be", "utf_32", "utf_32_le", "utf_32_be"}
_FALLBACK_CHARSETS = ("utf-8", "cp1252")
_KNOWN_HEADERS = (
    "from",
    "to",
    "subject",
    "message-id",
    "date",
    "received",
    "mime-version",
    "content-type",
    "cc",
    "reply-to",
    "in-reply-to",
    "references",
    "return-path",
)


class UnparseableEmail(Exception):
    """The bytes are not an email at all (empty, or neither headers nor body)."""


@dataclass(frozen=True)
class AttachmentLimits:
    """How many bytes of its order files (PDF, Excel, CSV, Word, attached images) a parsed email
    keeps for reading; the other attachments keep only their name, type and size."""

    max_bytes: int = 10 * 1024 * 1024  # one attachment
    max_total: int = 20 * 1024 * 1024  # all kept attachments of one email
    max_count: int = 10  # attachments kept per email


_limits = AttachmentLimits()


def use_attachment_limits(limits: AttachmentLimits) -> None:
    """Keep attachment bytes within these limits from now on (process-wide: `serve` and `eval` set
    them from the settings, like the prompts folder)."""
    global _limits
    _limits = limits


def attachment_limits() -> AttachmentLimits:
    return _limits


def is_parseable(raw: bytes, parsed: ParsedEmail | None = None) -> bool:
    """False for the truly unusable case: nothing, or no headers and no body text.
    Pass `parsed` when the caller parsed the bytes already (parsing is the costly part)."""
    if not raw or not raw.strip():
        return False
    parsed = parsed or parse_email(raw)
    has_headers = any(name in parsed.headers for name in _KNOWN_HEADERS)
    return has_headers or bool(parsed.body.strip()) or bool(parsed.attachments)


def parse_email(
    raw: bytes, *, strict: bool = False, attachments: AttachmentLimits | None = None
) -> ParsedEmail:
    """Parse raw bytes; with strict=True raise UnparseableEmail for unusable input. The bytes of
    order files are kept within `attachments` (default: the process-wide attachment limits)."""
    raw = raw or b""
    if strict and not is_parseable(raw):
        raise UnparseableEmail("empty message or no headers and no body")
    limits = attachments or _limits
    try:
        return _parse(raw, flat=_many_nesting_parts(raw), limits=limits)
    except RecursionError:  # the stdlib parses and walks MIME trees recursively
        log.info("MIME tree too deep for the stdlib parser, reading its parts flat")
        first: Exception | None = None
    except Exception as exc:  # the stdlib can still surprise us: try the simpler reading
        log.warning("email parser failed, reading the parts flat: %r", exc)
        first = exc
    try:
        parsed = _parse(raw, flat=True, limits=limits)
    except Exception as exc:  # last resort: the headers and the raw text
        log.warning("flat email parser failed, keeping headers and raw text only: %r", exc)
        return _headers_and_text(raw, first or exc)
    if first is not None:
        parsed.defects.append(f"parser failure: {type(first).__name__}: {first}")
    return parsed


def synthetic_message_id(raw: bytes) -> str:
    """Deterministic Message-ID for messages that lack one."""
    return f"<{hashlib.sha256(raw).hexdigest()[:32]}@{SYNTHETIC_DOMAIN}>"


def _parse(raw: bytes, *, flat: bool = False, limits: AttachmentLimits | None = None) -> ParsedEmail:
    defects: list[str] = []
    decoded = _Decoded()
    body = _Body(limits)
    if flat:  # any depth: the top message's headers, then every part in document order
        legacy = BytesParser(policy=policy.compat32).parsebytes(raw, headersonly=True)
        parse_defects = _defect_names(legacy)
        headers = _headers(legacy, decoded, defects)
        for part in _flat_parts(raw, defects):
            try:
                _take_part(part, body, defects)
            except Exception as exc:
                defects.append(f"part skipped: {type(exc).__name__}")
    else:
        legacy = BytesParser(policy=policy.compat32).parsebytes(raw)
        # One parse: compat32 reads plain MIME headers exactly as the modern policy would; anything
        # else (encoded words, comments, 8-bit, RFC 2231...) is walked on a modern parse as before.
        tree = legacy if _plain_mime(legacy) else BytesParser(policy=policy.default).parsebytes(raw)
        parse_defects = _defect_names(legacy)  # before the walk: decoding payloads adds more
        headers = _headers(legacy, decoded, defects)
        _walk(tree, body, defects)
    body.text, body.html = body.text.replace("\x00", ""), body.html.replace("\x00", "")  # NULs: noise
    defects.extend(parse_defects)
    return _email(raw, legacy, headers, body, defects, decoded)


def _email(
    raw: bytes, legacy: Message, headers: dict[str, str], body: _Body, defects: list[str], decoded: _Decoded
) -> ParsedEmail:
    message_id = _first_msgid(headers.get("message-id", "")) or synthetic_message_id(raw)
    references = _MSGID.findall(headers.get("references", ""))
    return ParsedEmail(
        message_id=message_id,
        subject=_one_line(headers.get("subject", "")),
        sender=_sender(legacy, headers.get("from", "")),
        sender_name=_one_line(_display_name(headers.get("from", ""))),
        to=_addresses(_all(legacy, decoded, "to")),
        cc=_addresses(_all(legacy, decoded, "cc")),
        reply_to=_addresses(headers.get("reply-to", "")),
        date=_date(headers.get("date", ""), _received_dates(legacy), defects),
        in_reply_to=_first_msgid(headers.get("in-reply-to", "")),
        references=references,
        text=body.text,
        html=body.html,
        html_text=html_to_text(body.html) if body.html else "",
        headers=headers,
        attachments=body.attachments,
        defects=_unique(defects),
        size=len(raw),
    )


def _headers_and_text(raw: bytes, exc: Exception) -> ParsedEmail:
    """What is left when no MIME reading works: the headers still (a message never loses its
    sender, subject or Message-ID to a bad body), the body as raw text."""
    defects = [f"parser failure: {type(exc).__name__}: {exc}"]
    end = _header_block_end(raw, 0, len(raw))
    try:
        legacy = BytesParser(policy=policy.compat32).parsebytes(raw[:end], headersonly=True)
        headers = _headers(legacy, _Decoded(), defects)
    except Exception as header_exc:
        defects.append(f"headers unreadable: {type(header_exc).__name__}")
        legacy, headers, end = Message(), {}, 0
    body = _Body()
    body.text = _decode_bytes(raw[end:], None, defects).replace("\x00", "")
    try:
        return _email(raw, legacy, headers, body, defects, _Decoded())
    except Exception as email_exc:
        return ParsedEmail(
            message_id=synthetic_message_id(raw),
            text=_decode_bytes(raw, None, []),
            size=len(raw),
            defects=[*defects, f"headers unreadable: {type(email_exc).__name__}"],
        )


# ---- headers ---------------------------------------------------------------------------------


def _headers(message: Message, decoded: _Decoded, defects: list[str]) -> dict[str, str]:
    """lower-case name → first value, decoded; falls back to compat32 per header. One pass over
    the headers (a per-name lookup is quadratic in the header count: thousands of headers)."""
    result: dict[str, str] = {}
    for name, raw_value in message.raw_items():
        key = str(name).strip().lower()
        if not key or key in result:
            continue
        result[key] = _CONTROL_CHARS.sub("", _header_value(decoded, name, raw_value, defects))
    return result


def _header_value(decoded: _Decoded, name: str, raw_value: object, defects: list[str]) -> str:
    if len(str(raw_value)) > _LARGE_HEADER:  # the stdlib's structured parsers are superlinear
        return _decode_legacy(raw_value)
    try:
        return decoded.modern(name, raw_value)
    except Exception as exc:
        defects.append(f"header {name.strip().lower()}: {type(exc).__name__}")
    return _decode_legacy(raw_value)


class _Decoded:
    """The modern policy's decoded header values, each (name, raw value) decoded once per message."""

    def __init__(self) -> None:
        self._values: dict[tuple[str, str], str | Exception] = {}

    def modern(self, name: str, raw_value: object) -> str:
        key = (name, cast(str, raw_value))
        value = self._values.get(key)
        if value is None:
            try:
                value = _modern_value(name, raw_value)
            except Exception as exc:
                value = exc
            self._values[key] = value
        if isinstance(value, Exception):
            raise value
        return value


def _decode_legacy(value: object) -> str:
    """Decode an RFC 2047 header value by hand (compat32 path)."""
    if not isinstance(value, str):
        value = str(value)
    value = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    try:
        return str(make_header(decode_header(value)))
    except Exception:
        return value


def _all(message: Message, decoded: _Decoded, key: str) -> str:
    """All occurrences of an address header, comma-joined (To/Cc may repeat)."""
    legacy_values = message.get_all(key) or []
    if sum(len(str(v)) for v in legacy_values) > _LARGE_HEADER:
        return ", ".join(_decode_legacy(v) for v in legacy_values)
    try:
        values = [decoded.modern(name, value) for name, value in message.raw_items() if name.lower() == key]
    except Exception:
        values = [_decode_legacy(v) for v in legacy_values]
    return ", ".join(values)


def _addresses(value: str) -> list[str]:
    if not value:
        return []
    try:
        pairs = getaddresses([value])
    except Exception:
        pairs = []
    found = [addr.strip().lower() for _, addr in pairs if "@" in addr]
    if not found:  # getaddresses gave up: pick anything that looks like an address
        found = [m.lower() for m in re.findall(r"[\w.+'-]+@[\w.-]+\w", value)]
    return _unique(found)


_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"|\((?:[^()\\]|\\.)*\)')
_ANGLE_ADDRESS = re.compile(r"<\s*([^<>\s]+@[^<>\s]+?)\s*>")


def _sender(legacy: Message, decoded: str) -> str:
    """The From address, read from the raw header first: a display name (quoted, or an encoded
    word that decodes to an address or a line break) must never become the sender."""
    try:
        raw = legacy.get("from")
    except Exception:
        raw = None
    if raw is not None:
        raw = str(raw).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        angle = _ANGLE_ADDRESS.search(_QUOTED.sub(" ", raw))
        if angle:
            return angle.group(1).lower()
    found = _addresses(decoded)
    return found[0] if found else ""


def _display_name(value: str) -> str:
    try:
        pairs = getaddresses([value]) if value else []
    except Exception:
        return ""
    return pairs[0][0].strip() if pairs else ""


def _first_msgid(value: str) -> str | None:
    if not value:
        return None
    match = _MSGID.search(value)
    if match:
        return match.group(0)
    token = value.strip().split()[0] if value.strip() else ""
    return f"<{token}>" if "@" in token else None


# a Date outside these (local time as written) is a broken clock or a forgery; compared without
# the zone, as converting year 9999 -1200 (or year 1 +0100) to UTC overflows
EARLIEST_DATE, LATEST_DATE = datetime(1970, 1, 2), datetime(2100, 1, 1)
FUTURE_SLACK = timedelta(days=1)  # a Date later than the message's own Received stamps plus this


def _date(value: str, received: list[datetime], defects: list[str]) -> datetime | None:
    """The Date header, or None (with a defect) when it is unusable: unparseable, out of the sane
    range (year 9999 overflows any date arithmetic downstream), or after the newest Received
    stamp of the message itself. Callers fall back to the time the message was received."""
    if not value:
        return None
    parsed = _parse_date(value)
    if parsed is None:
        defects.append("unusable date: unparseable")
        return None
    if not _in_range(parsed):
        defects.append(f"unusable date: year {parsed.year} out of range")
        return None
    if received and parsed > max(received) + FUTURE_SLACK:
        defects.append("unusable date: after the message was received")
        return None
    return parsed


def _parse_date(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value)
    except Exception:
        return None
    if parsed is None:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _in_range(moment: datetime) -> bool:
    return EARLIEST_DATE <= moment.replace(tzinfo=None) < LATEST_DATE


def _received_dates(message: Message) -> list[datetime]:
    """The timestamps MTAs wrote on the way in (after the last ';' of each Received header)."""
    found: list[datetime] = []
    try:
        values = message.get_all("received") or []
    except Exception:
        return found
    for value in values[:50]:
        stamp = _parse_date(str(value).rpartition(";")[2].strip())
        if stamp is not None and _in_range(stamp):
            found.append(stamp)
    return found


def _one_line(value: str) -> str:
    """One line without control characters (a NUL or CR in a subject must never reach a header)."""
    return re.sub(r"\s+", " ", _CONTROL_CHARS.sub("", value)).strip()


# ---- plain header values: decoded as the modern policy would, without its header registry ------
# The registry costs 10-70 µs per header. Plain ASCII values of the common kinds (no encoded
# words, comments or escapes) are decoded directly; tests/test_parse.py checks that both agree.


def _modern_value(name: str, raw_value: object) -> str:
    """str(policy.default.header_fetch_parse(name, raw_value))"""
    if isinstance(raw_value, str) and raw_value.isascii() and "=?" not in raw_value:
        plain = _PLAIN_DECODERS.get(name.lower(), _unfolded)
        value = plain(raw_value.replace("\r", "").replace("\n", "")) if plain else None
        if value is not None:
            return value
    return str(policy.default.header_fetch_parse(name, cast(str, raw_value)))  # str or a Header object


def _unfolded(value: str) -> str:
    return value  # unstructured: the registry only unfolds


_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_DOT_ATOM = rf"{_ATEXT}(?:\.{_ATEXT})*"
_ADDR_SPEC = rf"{_DOT_ATOM}@{_DOT_ATOM}"
_QUOTED_WORDS = r'"[!#-\[\]-~]+(?: [!#-\[\]-~]+)*"'  # no escapes, single inner spaces
_MAILBOX = re.compile(
    rf"[ \t]*(?:(?P<name>{_ATEXT}(?: {_ATEXT})*|{_QUOTED_WORDS})[ \t]*"
    rf"<(?P<named>{_ADDR_SPEC})>|(?P<angle><)?(?P<bare>{_ADDR_SPEC})(?(angle)>))[ \t]*"
)
_SPECIALS = set('()<>@,:;.\\"[]')  # email._header_value_parser.SPECIALS


def _plain_addresses(value: str) -> str | None:
    """Rendered as the registry does: 'Name <a@b>' (quoted only when the name holds specials) or
    'a@b', joined by ', '."""
    rendered, pos = [], 0
    while True:
        match = _MAILBOX.match(value, pos)
        if not match:
            return None
        name = match.group("name")
        if name is None:
            rendered.append(match.group("bare"))
        else:
            name = name[1:-1] if name.startswith('"') else name
            name = f'"{name}"' if not _SPECIALS.isdisjoint(name) else name
            rendered.append(f"{name} <{match.group('named')}>")
        pos = match.end()
        if pos == len(value):
            return ", ".join(rendered)
        if value[pos] != ",":
            return None
        pos += 1


def _plain_date(value: str) -> str | None:
    try:
        return format_datetime(parsedate_to_datetime(value))
    except Exception:
        return None  # the registry keeps the raw text (and a defect)


_FWS = r"[ \t\r\n]*"  # CR/LF only ever appear folded (followed by a space or tab)
_TOKEN = r"[A-Za-z0-9!#$%&+.^_`{|}~-]+"  # RFC 2045 token without ' and * (RFC 2231 syntax)
_ATTRIBUTE = r"[A-Za-z0-9!#$&+.^_`{|}~-]+"  # and without % in parameter names
_PARAMS = rf'(?:;{_FWS}{_ATTRIBUTE}=(?:{_TOKEN}|"[ !#-\[\]-~]+"){_FWS})*(?:;{_FWS})?'
_PARAM = re.compile(rf';{_FWS}({_ATTRIBUTE})=({_TOKEN}|"[^"]*")')
_PLAIN = {
    "content-type": re.compile(rf"{_FWS}{_TOKEN}/{_TOKEN}{_FWS}{_PARAMS}"),
    "content-disposition": re.compile(rf"{_FWS}{_TOKEN}{_FWS}{_PARAMS}"),
    "content-transfer-encoding": re.compile(rf"[ \t]*{_TOKEN}[ \t]*"),
    "message-id": re.compile(rf"[ \t]*<{_ADDR_SPEC}>[ \t]*"),
    "mime-version": re.compile(r"[ \t]*[0-9]+\.[0-9]+[ \t]*"),
}


def _plain_content_type(value: str) -> str | None:
    """The registry renders the parameters anew: first of each name, '; '-joined, values quoted."""
    if not _PLAIN["content-type"].fullmatch(value):
        return None
    head, semicolon, params = value.partition(";")
    if not semicolon:
        return value
    first: dict[str, str] = {}
    for match in _PARAM.finditer(semicolon + params):
        first.setdefault(match.group(1), match.group(2).strip('"'))
    rendered = "; ".join(f'{name}="{value}"' for name, value in first.items())
    return f"{head}; {rendered}" if rendered else head + ";"


def _kept_if_plain(name: str) -> Callable[[str], str | None]:
    return lambda value: value if _PLAIN[name].fullmatch(value) else None


_PLAIN_BY_KIND = (
    (UnstructuredHeader, _unfolded),
    (AddressHeader, _plain_addresses),
    (DateHeader, _plain_date),
    (ContentTypeHeader, _plain_content_type),
    (MessageIDHeader, _kept_if_plain("message-id")),
    (MIMEVersionHeader, _kept_if_plain("mime-version")),
    (ContentTransferEncodingHeader, _kept_if_plain("content-transfer-encoding")),
)
_PLAIN_DECODERS = {
    name: next((decode for base, decode in _PLAIN_BY_KIND if issubclass(kind, base)), None)
    for name, kind in policy.default.header_factory.registry.items()  # type: ignore[attr-defined]
}


# ---- body ------------------------------------------------------------------------------------


class _Body:
    def __init__(self, limits: AttachmentLimits | None = None) -> None:
        self.text = ""
        self.html = ""
        self.attachments: list[Attachment] = []
        self.limits = limits or _limits
        self.kept_bytes = 0
        self.kept_count = 0

    def attach(self, part: Message, content_type: str) -> None:
        """An attachment: its name, type and size; an order file's bytes too, within the limits."""
        payload = part.get_payload(decode=True) if content_type != "message/rfc822" else None
        data = payload if isinstance(payload, bytes) else b""
        filename = _filename(part)
        attachment = Attachment(filename=filename, content_type=content_type, size=len(data))
        if _order_source(part, filename, content_type):
            attachment.order_source = True
            limits = self.limits
            if len(data) > limits.max_bytes:
                attachment.not_kept = f"over the {_megabytes(limits.max_bytes)} limit per attachment"
            elif self.kept_count >= limits.max_count:
                attachment.not_kept = f"over the limit of {limits.max_count} attachments per email"
            elif self.kept_bytes + len(data) > limits.max_total:
                attachment.not_kept = f"over the {_megabytes(limits.max_total)} limit for all attachments"
            else:
                attachment.data = data
                self.kept_bytes += len(data)
                self.kept_count += 1
        self.attachments.append(attachment)


# files that can hold an order: by name, or by declared type when the name says nothing
_ORDER_EXTENSIONS = (".pdf", ".xlsx", ".xlsm", ".xls", ".csv", ".tsv", ".docx", ".docm", ".doc")
_ORDER_TYPES = (
    "application/pdf",
    "application/x-pdf",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-excel",
    "application/vnd.ms-excel.sheet.macroenabled.12",
    "text/csv",
    "application/csv",
    "text/comma-separated-values",
    "text/tab-separated-values",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/msword",
)
_IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
_IMAGE_TYPES = ("image/png", "image/jpeg", "image/jpg", "image/pjpeg", "image/tiff")
# what mail clients call the pictures of a signature (image001.png, Outlook-abc12.png)
_SIGNATURE_IMAGE = re.compile(r"^(?:image\d{3}|outlook-[\w-]+)\.\w+$", re.I)


def _order_source(part: Message, filename: str | None, content_type: str) -> bool:
    """A PDF, Excel, CSV or Word file (also inline: Apple Mail shows PDFs inline), or an image
    attached as a file: a photo or scan of an order, not a logo in a signature."""
    name = (filename or "").strip().lower()
    if name.endswith(_ORDER_EXTENSIONS) or (
        not name.endswith(_IMAGE_EXTENSIONS) and content_type in _ORDER_TYPES
    ):
        return True
    if not (name.endswith(_IMAGE_EXTENSIONS) or content_type in _IMAGE_TYPES):
        return False
    try:
        disposition = (part.get_content_disposition() or "").lower()
        content_id = part.get("content-id")
    except Exception:
        return False
    return disposition == "attachment" and not content_id and not _SIGNATURE_IMAGE.match(name)


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB" if size >= 1024 * 1024 else f"{size} bytes"


_MIME_HEADERS = ("content-type", "content-disposition", "content-transfer-encoding")  # what the walk reads


def _plain_mime(message: Message) -> bool:
    """True when every part's MIME headers (the first of each name: what Message.get reads) are
    plain ASCII syntax, without encoded words, comments, escapes or RFC 2231 sections."""
    try:
        for part in message.walk():
            seen: set[str] = set()
            for name, value in part.raw_items():
                key = name.lower()
                if key not in _MIME_HEADERS or key in seen:
                    continue
                seen.add(key)
                if not isinstance(value, str) or "=?" in value or not _PLAIN[key].fullmatch(value):
                    return False
    except Exception:
        return False
    return True


def _walk(message: Message, body: _Body, defects: list[str]) -> None:
    for part in _iter_parts(message, defects):
        try:
            _take_part(part, body, defects)
        except Exception as exc:
            defects.append(f"part skipped: {type(exc).__name__}")


def _iter_parts(message: Message, defects: list[str]) -> Iterator[Message]:
    try:
        yield from message.walk()
    except Exception as exc:
        defects.append(f"walk stopped: {type(exc).__name__}")


def _take_part(part: Message, body: _Body, defects: list[str]) -> None:
    if part.is_multipart():
        return
    content_type = _content_type(part)
    if content_type.startswith("multipart/"):  # a multipart whose boundary is missing or never used
        if not body.text:
            body.text = _salvage_broken_multipart(_decode_part(part, defects))
            defects.append("broken multipart: body read as text")
        return
    if content_type == "message/rfc822" or _is_attachment(part, content_type):
        body.attach(part, content_type)
        return
    if content_type == "text/plain" and not body.text:
        body.text = _decode_part(part, defects)
    elif content_type == "text/html" and not body.html:
        body.html = _decode_part(part, defects)
    elif content_type in ("text/plain", "text/html"):
        return  # later inline text parts: ignore (signatures, footers added by gateways)
    else:
        body.attach(part, content_type)


# ---- deep MIME: the parts read flat ------------------------------------------------------------
# The stdlib parses (feedparser) and walks (Message.walk) a MIME tree recursively: a few hundred
# nested multiparts exhaust the stack. Past FLAT_MIME_PARTS nesting parts, or when the
# stdlib recurses too deep anyway, every part is found by one scan for the delimiter lines of the
# boundaries the message declares: linear in its size, whatever the depth, headers kept.

FLAT_MIME_PARTS = 64
_BOUNDARY_PARAM = re.compile(rb'(?i)\bboundary\s*=\s*(?:"([^"\r\n]*)"|([^\s;"]+))')
_DELIMITER = re.compile(rb"(?m)^--([^\r\n]*?)[ \t]*\r?$")
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")


def _many_nesting_parts(raw: bytes) -> bool:
    """More nesting parts (multiparts by their boundary, attached messages) than the stdlib's
    recursive parser should be trusted with: decided on the bytes, so a message parses the same
    at any stack depth. (Counted, not parsed: a few ms for a 20 MB message.)"""
    lowered = raw.lower()
    return lowered.count(b"boundary") + lowered.count(b"message/") > FLAT_MIME_PARTS


def _header_block_end(raw: bytes, start: int, end: int) -> int:
    """Where the body of the part starting at `start` begins (after its blank line)."""
    for newline in (b"\r\n", b"\n"):
        if raw.startswith(newline, start):
            return start + len(newline)  # no headers at all
    match = _BLANK_LINE.search(raw, start, end)
    return match.end() if match else end


def _flat_parts(raw: bytes, defects: list[str]) -> Iterator[Message]:
    """Every leaf part of the message in document order (what Message.walk() would reach)."""
    declared = {m.group(1) if m.group(1) is not None else m.group(2) for m in _BOUNDARY_PARAM.finditer(raw)}
    declared.discard(b"")
    used: set[bytes] = set()
    spans: list[tuple[int, int]] = []
    start: int | None = 0  # the top message is the first part; None while in an epilogue
    for match in _DELIMITER.finditer(raw, _header_block_end(raw, 0, len(raw))):
        name = match.group(1)
        closing = name not in declared
        if closing and not (name.endswith(b"--") and name[:-2] in declared):
            continue  # a line that only looks like a delimiter
        used.add(name[:-2] if closing else name)
        if start is not None:  # the line break before a delimiter belongs to the delimiter
            end = match.start()
            end -= 1 if raw[end - 1 : end] == b"\n" else 0
            end -= 1 if raw[end - 1 : end] == b"\r" else 0
            spans.append((start, max(start, end)))
        after = match.end()
        start = None if closing else after + (1 if raw[after : after + 1] == b"\n" else 0)
    if start is not None:
        spans.append((start, len(raw)))
    defects.append("deep MIME structure: parts read flat")
    for start, end in spans:
        leaf = _flat_leaf(raw, start, end, used)
        if leaf is not None:
            yield leaf


def _flat_leaf(raw: bytes, start: int, end: int, used: set[bytes]) -> Message | None:
    """The part at raw[start:end] as a Message without nested parts; None for a container (its
    parts come as their own spans). Like the stdlib, a message/* part is read through to the
    message inside it (message/delivery-status holds header blocks only: skipped)."""
    while True:
        body = _header_block_end(raw, start, end)
        part = BytesParser(policy=policy.compat32).parsebytes(raw[start:body], headersonly=True)
        content_type = _content_type(part)
        if content_type.startswith("multipart/"):
            boundary = part.get_param("boundary")
            if isinstance(boundary, str) and boundary.encode("utf-8", "surrogateescape") in used:
                return None
            # a boundary that never occurs: the stdlib reads such a part as one text payload
        elif content_type == "message/delivery-status":
            return None
        elif content_type.startswith("message/") and start < body < end:
            start = body
            continue
        headers_only = content_type.startswith("message/")  # (an empty attached message)
        return BytesParser(policy=policy.compat32).parsebytes(raw[start:end], headersonly=headers_only)


# ---- content fingerprint -----------------------------------------------------------------------

# What makes two deliveries the same message: its content headers and its body. Trace headers
# (Received, Delivered-To, Return-Path, X-Original-To, spam scores...) differ per route and are
# left out; so are header folding, CRLF versus LF and trailing blank lines, which relays change.
FINGERPRINT_HEADERS = (
    b"from",
    b"sender",
    b"reply-to",
    b"to",
    b"cc",
    b"subject",
    b"date",
    b"in-reply-to",
    b"references",
    b"mime-version",
    b"content-type",
    b"content-transfer-encoding",
    b"content-disposition",
)
_FOLD = re.compile(rb"\r?\n(?=[ \t])")
_WHITESPACE = re.compile(rb"\s+")


def content_fingerprint(raw: bytes) -> str:
    """sha256 hex of the message's content (see FINGERPRINT_HEADERS); the same for one message
    delivered twice by two routes, different when From, Subject, Date, body or attachments differ."""
    raw = raw or b""
    body = _header_block_end(raw, 0, len(raw))
    wanted: dict[bytes, list[bytes]] = {}
    for line in _FOLD.sub(b"", raw[:body]).splitlines():
        name, colon, value = line.partition(b":")
        key = name.strip().lower()
        if colon and key in FINGERPRINT_HEADERS:
            wanted.setdefault(key, []).append(_WHITESPACE.sub(b" ", value).strip())
    digest = hashlib.sha256()
    for key in FINGERPRINT_HEADERS:
        for value in wanted.get(key, []):
            digest.update(key + b": " + value + b"\n")
    digest.update(b"\n")
    digest.update(raw[body:].replace(b"\r\n", b"\n").rstrip())
    return digest.hexdigest()


_MIME_NOISE = re.compile(r"^(?:--\S+\s*|content-[\w-]+:.*|mime-version:.*)$", re.I)


def _salvage_broken_multipart(text: str) -> str:
    """The raw body of an unsplittable multipart, minus boundary lines and part headers."""
    return "\n".join(line for line in text.split("\n") if not _MIME_NOISE.match(line.strip()))


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type().lower()
    except Exception:
        return "text/plain"


def _is_attachment(part: Message, content_type: str) -> bool:
    try:
        disposition = (part.get_content_disposition() or "").lower()
    except Exception:
        disposition = ""
    if disposition == "attachment":
        return True
    if _filename(part) and not content_type.startswith("text/"):
        return True
    return (
        bool(_filename(part))
        and disposition != "inline"
        and content_type != "text/plain"
        and content_type != "text/html"
    )


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:
        return None
    return _decode_legacy(name) if name else None


def _decode_part(part: Message, defects: list[str]) -> str:
    try:
        payload = part.get_payload(decode=True)
    except Exception as exc:
        defects.append(f"payload: {type(exc).__name__}")
        payload = None
    if payload is None:
        raw = part.get_payload()
        payload = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""
    if not isinstance(payload, bytes):
        payload = b""
    try:
        declared = part.get_content_charset()
    except Exception:
        declared = None
    return _decode_bytes(payload, declared, defects)


def _decode_bytes(data: bytes, declared: str | None, defects: list[str]) -> str:
    """declared → utf-8 → cp1252 → latin-1 (with replacement); catches lying single-byte labels."""
    codec = _codec_name(declared)
    if declared and codec is None:
        defects.append(f"unknown charset {declared!r}")
    if codec in _WIDE_CHARSETS and b"\x00" not in data:  # utf-16/32 text always holds NULs
        defects.append(f"charset {declared!r} declared but body has no NUL bytes")
        codec = None
    if codec in _SINGLE_BYTE_CHARSETS and _looks_like_utf8(data):
        defects.append(f"charset {declared!r} declared but body is utf-8")
        codec = "utf-8"
    for candidate in ([codec] if codec else []) + list(_FALLBACK_CHARSETS):
        try:
            text = data.decode(candidate)
        except (UnicodeDecodeError, LookupError):
            if candidate == codec:
                defects.append(f"body not valid {declared}")
            continue
        return text.removeprefix("\ufeff").replace("\r\n", "\n")
    return data.decode("latin-1", "replace").replace("\r\n", "\n")


def _codec_name(charset: str | None) -> str | None:
    if not charset:
        return None
    try:
        return codecs.lookup(charset.strip().strip('"')).name.replace("-", "_")
    except LookupError:
        return None


def _looks_like_utf8(data: bytes) -> bool:
    if data.isascii():
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _defect_names(message: Message) -> list[str]:
    names: list[str] = []
    try:
        for part in message.walk():
            names.extend(type(d).__name__ for d in getattr(part, "defects", []))
    except Exception:
        pass
    return names


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
