"""Who is asking: console sign-ins, CSRF, roles and API tokens.

- Passwords: argon2id (argon2-cffi's defaults), rehashed when the parameters are raised. An
  unknown address costs the same as a wrong password (a dummy hash is checked).
- Sign-ins: the cookie `mo_session` holds a random id and its HMAC (key derived from
  MAILORDER_SECRET); the store keeps only the id's sha256, with the user, a CSRF token and the
  expiry (MAILORDER_CONSOLE_SESSION_SECONDS). HttpOnly, SameSite=Lax, Secure when the request came
  over https. Signing out, removing the user or a new password ends it in every console process.
- Throttling: 5 failed sign-ins per minute per account and per address, counted in the store, so
  every console process shares them.
- CSRF: every POST carries the sign-in's token (form field `csrf_token` or header X-CSRF-Token);
  the sign-in form itself carries a token bound to a short-lived cookie (double submit, signed).
- API tokens: `mo_` + 256 random bits, shown once; the store keeps their sha256.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from mailorder.agent.config import Settings

SESSION_COOKIE = "mo_session"
LOGIN_COOKIE = "mo_login"
LOGIN_COOKIE_SECONDS = 30 * 60
FAILURES_ALLOWED = 5  # failed sign-ins per window, per account and per address
FAILURE_WINDOW = timedelta(minutes=1)
ROLES = ("admin", "rep", "viewer")
ACTING_ROLES = ("admin", "rep")

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(password_hash: str | None, password: str) -> bool:
    """True when the password fits the hash; an absent hash costs as much as a wrong password."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def password_problem(password: str) -> str | None:
    """Why a new password is not acceptable, or None."""
    if len(password) < 10:
        return "a password needs at least 10 characters"
    if len(password) > 1024:
        return "a password may have at most 1024 characters"
    return None


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Signer:
    """HMAC-SHA256 signatures with a key derived from MAILORDER_SECRET for one purpose."""

    key: bytes

    @classmethod
    def for_settings(cls, settings: Settings, purpose: str) -> Signer:
        secret = settings.secret.get_secret_value().encode()
        return cls(hmac.new(secret, f"mailorder console {purpose}".encode(), hashlib.sha256).digest())

    def sign(self, value: str) -> str:
        mac = hmac.new(self.key, value.encode(), hashlib.sha256).hexdigest()[:43]
        return f"{value}.{mac}"

    def unsign(self, signed: str | None) -> str | None:
        """The value of a signed string, or None when it was not signed with this key."""
        if not signed or "." not in signed or len(signed) > 200:
            return None
        value, _, mac = signed.rpartition(".")
        expected = self.sign(value).rpartition(".")[2]
        return value if hmac.compare_digest(mac, expected) else None


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def login_csrf(signer: Signer, nonce: str) -> str:
    """The sign-in form's CSRF token for the nonce in its cookie."""
    return signer.sign("login|" + nonce).rpartition(".")[2]


def same_token(given: str | None, expected: str | None) -> bool:
    return bool(given) and bool(expected) and hmac.compare_digest(str(given), str(expected))


def new_api_token() -> str:
    return "mo_" + secrets.token_urlsafe(32)


def throttled(by_account: int, by_address: int) -> bool:
    return by_account >= FAILURES_ALLOWED or by_address >= FAILURES_ALLOWED


class TokenCache:
    """API tokens this process verified in the last `ttl` seconds, by hash: most requests of a
    client skip the store. A revoked token therefore stops working within `ttl` seconds (unknown
    tokens are never cached: each is looked up)."""

    def __init__(self, ttl: float = 5.0, size: int = 1000) -> None:
        self.ttl, self.size = ttl, size
        self._until: dict[str, float] = {}

    def known(self, token_hash: str) -> bool:
        until = self._until.get(token_hash)
        if until is None:
            return False
        if until < time.monotonic():
            del self._until[token_hash]
            return False
        return True

    def remember(self, token_hash: str) -> None:
        if len(self._until) >= self.size:
            self._until.clear()
        self._until[token_hash] = time.monotonic() + self.ttl


@dataclass(frozen=True)
class CurrentUser:
    email: str
    role: str
    csrf_token: str
    session_hash: str
    expires_at: datetime

    @property
    def can_act(self) -> bool:
        return self.role in ACTING_ROLES

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"
