"""mail.tokens: signed, address-safe reply tokens."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from mailorder.domain import ParsedEmail
from mailorder.mail.tokens import (
    InvalidToken,
    make_token,
    plus_address,
    token_from_address,
    token_from_email,
    verify_token,
)

SECRET = "s3cret"
T0 = datetime(2025, 6, 2, 10, 15, 42, tzinfo=UTC)
REP = "Rep.One@Example.com"


def _token(**kw) -> str:
    args = {"draft_id": 12, "version": 3, "rep": REP, "issued_at": T0} | kw
    return make_token(SECRET, **args)


def test_token_is_short_lowercase_and_address_safe():
    token = _token()
    assert re.fullmatch(r"[a-z2-7]{48}", token)
    assert len(plus_address("orders@example.com", token).split("@")[0]) <= 64


def test_roundtrip_claims_case_insensitive():
    claims = verify_token(SECRET, _token().upper(), now=T0 + timedelta(hours=1), rep="rep.one@example.COM")
    assert (claims.draft_id, claims.version, claims.rep) == (12, 3, "rep.one@example.com")
    assert claims.issued_at == T0.replace(second=0)


def test_every_issued_token_differs_and_a_fixed_nonce_is_deterministic():
    assert _token() != _token()  # a fresh nonce each time: single use never blocks a later token
    assert _token(nonce=b"12345") == _token(nonce=b"12345")
    others = {
        _token(draft_id=13, nonce=b"12345"),
        _token(version=4, nonce=b"12345"),
        _token(rep="other@example.com", nonce=b"12345"),
        _token(issued_at=T0 + timedelta(minutes=1), nonce=b"12345"),
    }
    assert _token(nonce=b"12345") not in others and len(others) == 4


@pytest.mark.parametrize("bad", ["", "abc", "x" * 48, "0" * 48, "a" * 47, "a" * 49, "++" * 24])
def test_malformed(bad: str):
    with pytest.raises(InvalidToken) as err:
        verify_token(SECRET, bad, now=T0, rep=REP)
    assert err.value.reason in {"malformed", "bad signature"}
    if len(bad) != 48:
        assert err.value.reason == "malformed"


def test_bad_signature_on_tamper_or_other_secret():
    token = _token()
    flipped = token[:5] + ("b" if token[5] != "b" else "c") + token[6:]
    for candidate, secret in [(flipped, SECRET), (token, "other-secret")]:
        with pytest.raises(InvalidToken) as err:
            verify_token(secret, candidate, now=T0, rep=REP)
        assert err.value.reason == "bad signature"


def test_expired_and_custom_max_age():
    with pytest.raises(InvalidToken) as err:
        verify_token(SECRET, _token(), now=T0 + timedelta(days=8), rep=REP)
    assert err.value.reason == "expired"
    verify_token(SECRET, _token(), now=T0 + timedelta(days=8), rep=REP, max_age=timedelta(days=30))


def test_wrong_rep():
    with pytest.raises(InvalidToken) as err:
        verify_token(SECRET, _token(), now=T0, rep="intruder@example.com")
    assert err.value.reason == "wrong rep"


def test_out_of_range_inputs_rejected():
    with pytest.raises(ValueError):
        _token(draft_id=2**32)
    with pytest.raises(ValueError):
        _token(version=-1)


def test_plus_address_and_extraction():
    assert plus_address("Orders <orders@example.com>", "abc") == "orders+abc@example.com"
    base = "orders@example.com"
    assert token_from_address("Orders+ABC@Example.com", base) == "abc"
    assert token_from_address("Desk <orders+abc@example.com>", base) == "abc"
    assert token_from_address("orders@example.com", base) is None
    assert token_from_address("orders+@example.com", base) is None
    assert token_from_address("orders+abc@other.com", base) is None
    assert token_from_address("ordersx+abc@example.com", base) is None
    assert token_from_address("not an address", base) is None


def test_token_from_email_headers():
    base = "orders@example.com"
    via_to = ParsedEmail(message_id="<a@b>", to=["rep@example.com", "orders+tok1@example.com"])
    via_cc = ParsedEmail(message_id="<a@b>", to=["x@y.z"], cc=["orders+tok2@example.com"])
    via_delivered = ParsedEmail(
        message_id="<a@b>",
        to=["undisclosed-recipients:;"],
        headers={"delivered-to": "orders+tok3@example.com"},
    )
    via_original = ParsedEmail(message_id="<a@b>", headers={"x-original-to": "ORDERS+Tok4@example.com"})
    assert token_from_email(via_to, base) == "tok1"
    assert token_from_email(via_cc, base) == "tok2"
    assert token_from_email(via_delivered, base) == "tok3"
    assert token_from_email(via_original, base) == "tok4"
    assert token_from_email(ParsedEmail(message_id="<a@b>", to=[base]), base) is None


def test_plus_address_rejects_non_address():
    with pytest.raises(ValueError):
        plus_address("orders", "tok")
