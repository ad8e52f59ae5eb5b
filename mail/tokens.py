"""Signed reply tokens carried in the plus-part of the agent's address (orders+<token>@…).

Token = lower-case base32 (no padding) of 30 bytes:
  draft_id u32 | version u16 | issued minute since epoch u32 | rep tag 4 B | nonce 5 B | MAC 11 B (88 bits)
rep tag = HMAC(secret, "rep|" + lower(rep))[:4]; MAC = HMAC-SHA256(secret, the first 14 bytes)[:11].
The MAC therefore covers draft id, version, issue minute and (through the keyed tag) the rep,
and everything needed for verification travels in the token: no DB lookup.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr

from mailorder.domain import ParsedEmail

_PAYLOAD = struct.Struct(">IHI")  # draft id, version, issued minute
_REP_TAG_LEN = 4
_NONCE_LEN = 5  # every issued token differs, so single use never blocks a later notice's token
_MAC_LEN = 11
_TOKEN_BYTES = _PAYLOAD.size + _REP_TAG_LEN + _NONCE_LEN + _MAC_LEN  # 30 bytes → 48 base32 chars
TOKEN_LENGTH = 48
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ADDRESS_HEADERS = ("delivered-to", "x-original-to", "envelope-to", "x-envelope-to")


class InvalidToken(Exception):
    """Token rejected; `reason` is one of: malformed, bad signature, expired, wrong rep."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class TokenClaims:
    draft_id: int
    version: int
    rep: str
    issued_at: datetime


def make_token(
    secret: str, draft_id: int, version: int, rep: str, issued_at: datetime, nonce: bytes | None = None
) -> str:
    """A 48-char lower-case base32 token; issue time is kept to the minute (UTC)."""
    if not (0 <= draft_id < 2**32 and 0 <= version < 2**16):
        raise ValueError("draft_id must fit 32 bits and version 16 bits")
    minute = _to_minute(issued_at)
    nonce = os.urandom(_NONCE_LEN) if nonce is None else nonce[:_NONCE_LEN].ljust(_NONCE_LEN, b"\0")
    head = _PAYLOAD.pack(draft_id, version, minute) + _rep_tag(secret, rep) + nonce
    raw = head + _mac(secret, head)
    return base64.b32encode(raw).decode("ascii").lower()


def verify_token(
    secret: str, token: str, *, now: datetime, rep: str, max_age: timedelta = timedelta(days=7)
) -> TokenClaims:
    """Claims of a valid token, else InvalidToken(reason)."""
    raw = _decode(token)
    head, mac = raw[:-_MAC_LEN], raw[-_MAC_LEN:]
    if not hmac.compare_digest(mac, _mac(secret, head)):
        raise InvalidToken("bad signature")
    draft_id, version, minute = _PAYLOAD.unpack(head[: _PAYLOAD.size])
    issued_at = _EPOCH + timedelta(minutes=minute)
    if _aware(now) - issued_at > max_age:
        raise InvalidToken("expired")
    if not hmac.compare_digest(head[_PAYLOAD.size : _PAYLOAD.size + _REP_TAG_LEN], _rep_tag(secret, rep)):
        raise InvalidToken("wrong rep")
    return TokenClaims(draft_id=draft_id, version=version, rep=rep.strip().lower(), issued_at=issued_at)


def peek_token(token: str) -> tuple[int, int]:
    """(draft id, version) a token names, WITHOUT verifying it: for routing and messages only."""
    draft_id, version, _minute = _PAYLOAD.unpack(_decode(token)[: _PAYLOAD.size])
    return draft_id, version


def plus_address(address: str, token: str) -> str:
    """orders@example.com + token → orders+token@example.com."""
    local, _, domain = parseaddr(address)[1].rpartition("@")
    if not local or not domain:
        raise ValueError(f"not an email address: {address!r}")
    return f"{local}+{token}@{domain}"


def token_from_address(address: str, base_address: str) -> str | None:
    """The plus-part of `address` when it is the base address plus a tag (case-insensitive)."""
    candidate = parseaddr(address)[1].strip().lower()
    base = parseaddr(base_address)[1].strip().lower()
    local, _, domain = candidate.rpartition("@")
    base_local, _, base_domain = base.rpartition("@")
    if not local or domain != base_domain or not local.startswith(base_local + "+"):
        return None
    token = local[len(base_local) + 1 :]
    return token or None


def token_from_email(email: ParsedEmail, base_address: str) -> str | None:
    """First token found in To, Cc, Delivered-To, X-Original-To (and similar envelope headers)."""
    addresses = list(email.to) + list(email.cc)
    for header in _ADDRESS_HEADERS:
        value = email.headers.get(header)
        if value:
            addresses.extend(part.strip() for part in value.split(","))
    for address in addresses:
        token = token_from_address(address, base_address)
        if token:
            return token
    return None


def _decode(token: str) -> bytes:
    cleaned = (token or "").strip().upper()
    if len(cleaned) != TOKEN_LENGTH:
        raise InvalidToken("malformed")
    try:
        raw = base64.b32decode(cleaned)
    except (binascii.Error, ValueError):
        raise InvalidToken("malformed") from None
    if len(raw) != _TOKEN_BYTES:
        raise InvalidToken("malformed")
    return raw


def _mac(secret: str, head: bytes) -> bytes:
    return hmac.new(secret.encode("utf-8"), b"mo-token|" + head, hashlib.sha256).digest()[:_MAC_LEN]


def _rep_tag(secret: str, rep: str) -> bytes:
    message = b"rep|" + rep.strip().lower().encode("utf-8")
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()[:_REP_TAG_LEN]


def _to_minute(moment: datetime) -> int:
    minute = int((_aware(moment) - _EPOCH).total_seconds() // 60)
    if not 0 <= minute < 2**32:
        raise ValueError("issued_at out of range")
    return minute


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --- our own mail: a signed mark, not a header anyone could add ------------------------------------

_MARK_VERSION = "v1"


def agent_mark(secret: str, message_id: str) -> str:
    """The X-Mailorder value of one of our messages: an HMAC over its Message-ID."""
    digest = hmac.new(secret.encode(), f"mail|{message_id.strip().lower()}".encode(), hashlib.sha256).digest()
    return f"{_MARK_VERSION} {base64.b32encode(digest[:15]).decode('ascii').lower()}"


def is_agent_mark(secret: str, message_id: str, value: str) -> bool:
    """True when `value` is our mark for this Message-ID (constant-time compare)."""
    return bool(value) and hmac.compare_digest(
        agent_mark(secret, message_id), " ".join(value.split()).lower()
    )
