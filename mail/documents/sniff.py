"""What an attachment really is, from its first bytes, and whether it is safe to unpack.

Owns magic-byte sniffing (the content decides, not the name or the declared content type),
the ZIP guard run BEFORE openpyxl or python-docx see a file (member count, declared total
size, encrypted members), and the PDF guard that bounds how far the file's Flate streams inflate.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import zipfile
import zlib
from dataclasses import dataclass

from .models import Limits

_IMAGES = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"BM", "bmp"),
)
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")


def sniff(data: bytes) -> str:
    """'empty', 'pdf', 'zip', 'ole', 'png'/'jpeg'/'tiff'/'gif'/'bmp'/'webp', 'text' or 'binary'."""
    if not data:
        return "empty"
    head = data[:1024]
    if b"%PDF-" in head:
        return "pdf"
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if data.startswith(OLE_MAGIC):
        return "ole"
    for magic, name in _IMAGES:
        if data.startswith(magic):
            return name
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return "text" if is_text(data) else "binary"


def is_text(data: bytes) -> bool:
    sample = data[:65536]
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True  # UTF-16 with a byte order mark
    if b"\x00" in sample:
        return False
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13))
    return controls <= len(sample) // 100


def is_encrypted_office(data: bytes) -> bool:
    """A password-protected .xlsx/.docx is an OLE file holding an 'EncryptedPackage' stream."""
    return data.startswith(OLE_MAGIC) and _ENCRYPTED_PACKAGE in data[: 1 << 20]


@dataclass(frozen=True)
class ZipCheck:
    kind: str  # "xlsx", "docx", "opendocument" or "zip"
    problem: str | None  # why the archive must not be opened, None when it may


def check_zip(data: bytes, limits: Limits) -> ZipCheck:
    """Reads only the ZIP directory: what the package is, and whether opening it stays within
    limits. zipfile itself never inflates a member past its declared size, so bounding the
    declared sizes bounds what openpyxl and python-docx can unpack."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, RuntimeError):
        return ZipCheck("zip", "not a readable ZIP package (file is damaged)")
    names = {m.filename for m in members}
    if "xl/workbook.xml" in names or "xl/workbook.bin" in names:
        kind = "xlsx"
    elif "word/document.xml" in names:
        kind = "docx"
    elif "mimetype" in names and any(n == "content.xml" for n in names):
        kind = "opendocument"
    else:
        kind = "zip"
    if len(members) > limits.max_zip_members:
        return ZipCheck(kind, f"has {len(members)} parts inside (limit {limits.max_zip_members}); not opened")
    total = sum(m.file_size for m in members)
    if total > limits.max_uncompressed:
        return ZipCheck(kind, f"unpacks to {_mb(total)} (limit {_mb(limits.max_uncompressed)}); not opened")
    if any(m.flag_bits & 0x1 for m in members):
        return ZipCheck(kind, "is password protected")
    return ZipCheck(kind, None)


_STREAM = re.compile(rb"(?<!end)stream\r?\n")
_CHUNK = 1 << 20


def pdf_inflated_size(data: bytes, cap: int) -> int:
    """How far the PDF's compressed streams inflate, counted up to just past `cap`: pdfminer
    inflates streams without a bound, so a small file with a Flate bomb is refused first.
    An ASCII85 or ASCIIHex layer in front of the Flate data is undone first."""
    total = 0
    for m in _STREAM.finditer(data):
        end = data.find(b"endstream", m.end())
        if end < 0:
            end = len(data)
        raw = _ascii_layer(data[max(0, m.start() - 512) : m.start()], data[m.end() : end])
        total += _inflated(raw, cap - total + 1)
        if total > cap:
            break
    return total


def _ascii_layer(dictionary: bytes, raw: bytes) -> bytes:
    dictionary = dictionary[dictionary.rfind(b"obj") + 1 :]
    try:
        if b"/ASCII85Decode" in dictionary or b"/A85" in dictionary:
            text = re.sub(rb"\s", b"", raw)
            text = text[2:] if text.startswith(b"<~") else text
            return base64.a85decode(text.split(b"~>")[0], adobe=False)
        if b"/ASCIIHexDecode" in dictionary or b"/AHx" in dictionary:
            text = re.sub(rb"[^0-9A-Fa-f]", b"", raw.split(b">")[0])
            return binascii.unhexlify(text + b"0" * (len(text) % 2))
    except (ValueError, binascii.Error):
        return b""
    return raw


def _inflated(raw: bytes, budget: int) -> int:
    inflater = zlib.decompressobj()
    produced = 0
    pending = raw
    try:
        while produced < budget:
            out = inflater.decompress(pending, min(_CHUNK, budget - produced))
            produced += len(out)
            pending = inflater.unconsumed_tail
            if inflater.eof or (not out and not pending):
                break
    except zlib.error:
        pass  # not Flate (a JPEG, plain text, or encrypted): pdfminer does not inflate it either
    return produced


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB" if size >= 1024 * 1024 else f"{size / 1024:.0f} KB"
