"""Raw RFC 5322 bytes → ParsedEmail. Pure, and never raises on hostile input."""
from __future__ import annotations

import codecs
import hashlib
import logging
import re
from datetime import datetime, timezone
from email import policy
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime

from mail.html import html_to_text
from mail.message import Attachment, ParsedEmail

log = logging.getLogger(__name__)

SYNTHETIC_DOMAIN = "mailorder.invalid"
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # C0 controls except tab, LF, CR
_LARGE_HEADER = 4000  # characters; longer header values skip the stdlib's structured parser
_MSGID = re.compile(r"<[^<>\s]+>")
_SINGLE_BYTE_CHARSETS = {"ascii", "iso8859_1", "iso8859_15", "cp1252", "iso8859_2", "cp1250"}
_WIDE_CHARSETS = {"utf_16", "utf_16_le", "utf_16_be", "utf_32", "utf_32_le", "utf_32_be"}
_FALLBACK_CHARSETS = ("utf-8", "cp1252")
_KNOWN_HEADERS = ("from", "to", "subject", "message-id", "date", "received", "mime-version",
                  "content-type", "cc", "reply-to", "in-reply-to", "references", "return-path")


class UnparseableEmail(Exception):
    """The bytes are not an email at all (empty, or neither headers nor body)."""


def is_parseable(raw: bytes, parsed: ParsedEmail | None = None) -> bool:
    """False for the truly unusable case: nothing, or no headers and no body text.
    Pass `parsed` when the caller parsed the bytes already (parsing is the costly part)."""
    if not raw or not raw.strip():
        return False
    parsed = parsed or parse_email(raw)
    has_headers = any(name in parsed.headers for name in _KNOWN_HEADERS)
    return has_headers or bool(parsed.body.strip()) or bool(parsed.attachments)


def parse_email(raw: bytes, *, strict: bool = False) -> ParsedEmail:
    """Parse raw bytes; with strict=True raise UnparseableEmail for unusable input."""
    raw = raw or b""
    if strict and not is_parseable(raw):
        raise UnparseableEmail("empty message or no headers and no body")
    try:
        return _parse(raw)
    except Exception as exc:  # last resort: the stdlib can still surprise us
        log.warning("email parser failed, keeping raw text only: %r", exc)
        text = _decode_bytes(raw, None, [])
        return ParsedEmail(message_id=synthetic_message_id(raw), text=text, size=len(raw),
                           defects=[f"parser failure: {type(exc).__name__}: {exc}"])


def synthetic_message_id(raw: bytes) -> str:
    """Deterministic Message-ID for messages that lack one."""
    return f"<{hashlib.sha256(raw).hexdigest()[:32]}@{SYNTHETIC_DOMAIN}>"


def _parse(raw: bytes) -> ParsedEmail:
    modern = BytesParser(policy=policy.default).parsebytes(raw)
    legacy = BytesParser(policy=policy.compat32).parsebytes(raw)
    defects: list[str] = []
    headers = _headers(modern, defects)
    body = _Body()
    _walk(modern, body, defects)
    body.text, body.html = body.text.replace("\x00", ""), body.html.replace("\x00", "")  # NULs: noise
    defects.extend(_defect_names(legacy))

    message_id = _first_msgid(headers.get("message-id", "")) or synthetic_message_id(raw)
    references = _MSGID.findall(headers.get("references", ""))
    return ParsedEmail(
        message_id=message_id,
        subject=_one_line(headers.get("subject", "")),
        sender=_sender(legacy, headers.get("from", "")),
        sender_name=_one_line(_display_name(headers.get("from", ""))),
        to=_addresses(_all(modern, legacy, "to")),
        cc=_addresses(_all(modern, legacy, "cc")),
        reply_to=_addresses(headers.get("reply-to", "")),
        date=_date(headers.get("date", "")),
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


# ---- headers ---------------------------------------------------------------------------------

def _headers(modern: Message, defects: list[str]) -> dict[str, str]:
    """lower-case name → first value, decoded; falls back to compat32 per header. One pass over
    the headers (a per-name lookup is quadratic in the header count: thousands of headers)."""
    result: dict[str, str] = {}
    for name, raw_value in modern.raw_items():
        key = str(name).strip().lower()
        if not key or key in result:
            continue
        result[key] = _CONTROL_CHARS.sub("", _header_value(modern, name, raw_value, defects))
    return result


def _header_value(modern: Message, name: str, raw_value: object, defects: list[str]) -> str:
    if len(str(raw_value)) > _LARGE_HEADER:  # the stdlib's structured parsers are superlinear
        return _decode_legacy(raw_value)
    try:
        return str(modern.policy.header_fetch_parse(name, raw_value))
    except Exception as exc:
        defects.append(f"header {name.strip().lower()}: {type(exc).__name__}")
    return _decode_legacy(raw_value)


def _decode_legacy(value: object) -> str:
    """Decode an RFC 2047 header value by hand (compat32 path)."""
    if not isinstance(value, str):
        value = str(value)
    value = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    try:
        return str(make_header(decode_header(value)))
    except Exception:
        return value


def _all(modern: Message, legacy: Message, key: str) -> str:
    """All occurrences of an address header, comma-joined (To/Cc may repeat)."""
    raw_values = legacy.get_all(key) or []
    if sum(len(str(v)) for v in raw_values) > _LARGE_HEADER:
        return ", ".join(_decode_legacy(v) for v in raw_values)
    try:
        values = [str(v) for v in (modern.get_all(key) or [])]
    except Exception:
        values = [_decode_legacy(v) for v in raw_values]
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


def _date(value: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except Exception:
        return None
    if parsed is None:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _one_line(value: str) -> str:
    """One line without control characters (a NUL or CR in a subject must never reach a header)."""
    return re.sub(r"\s+", " ", _CONTROL_CHARS.sub("", value)).strip()


# ---- body ------------------------------------------------------------------------------------

class _Body:
    def __init__(self) -> None:
        self.text = ""
        self.html = ""
        self.attachments: list[Attachment] = []


def _walk(message: Message, body: _Body, defects: list[str]) -> None:
    for part in _iter_parts(message, defects):
        try:
            _take_part(part, body, defects)
        except Exception as exc:
            defects.append(f"part skipped: {type(exc).__name__}")


def _iter_parts(message: Message, defects: list[str]):
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
        payload = part.get_payload(decode=True) or b""
        body.attachments.append(Attachment(filename=_filename(part), content_type=content_type,
                                           size=len(payload)))
        return
    if content_type == "text/plain" and not body.text:
        body.text = _decode_part(part, defects)
    elif content_type == "text/html" and not body.html:
        body.html = _decode_part(part, defects)
    elif content_type in ("text/plain", "text/html"):
        return  # later inline text parts: ignore (signatures, footers added by gateways)
    else:
        payload = part.get_payload(decode=True) or b""
        body.attachments.append(Attachment(filename=_filename(part), content_type=content_type,
                                           size=len(payload)))


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
    return bool(_filename(part)) and disposition != "inline" and content_type != "text/plain" \
        and content_type != "text/html"


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
