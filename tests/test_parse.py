"""mail.parse / mail.html: hostile inputs never raise; structure is kept."""

from __future__ import annotations

import base64
import json
from email.message import EmailMessage
from pathlib import Path

import pytest

from mailorder.mail.html import html_to_text
from mailorder.mail.parse import UnparseableEmail, is_parseable, parse_email, synthetic_message_id
from tests.conftest import SHARED_EVAL

EVAL_EMAILS = SHARED_EVAL / "dev" / "emails.json"


def _simple(**headers: str) -> bytes:
    lines = [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\nHallo\r\n").encode()


def test_headers_addresses_and_threading():
    raw = (
        b"From: =?utf-8?q?J=C3=B6rg_Person?= <Joerg@Example.COM>\r\n"
        b'To: orders@x.nl, "Doe, J" <B@X.nl>\r\nTo: extra@x.nl\r\nCc: c@x.nl\r\n'
        b"Reply-To: Other <Reply@x.nl>\r\n"
        b"Subject: =?iso-8859-1?q?Bestelling_caf=E9?=\r\n"
        b"Date: Mon, 2 Jun 2025 10:00:00 +0200\r\nMessage-ID: <abc@x.nl>\r\n"
        b"In-Reply-To: <p1@x.nl>\r\nReferences: <p0@x.nl>\r\n <p1@x.nl>\r\n"
        b"Content-Type: text/plain; charset=iso-8859-1\r\n\r\nCaf\xe9 2x\r\n"
    )
    email = parse_email(raw)
    assert email.message_id == "<abc@x.nl>"
    assert email.sender == "joerg@example.com" and email.sender_name == "Jörg Person"
    assert email.to == ["orders@x.nl", "b@x.nl", "extra@x.nl"]
    assert email.cc == ["c@x.nl"] and email.reply_to == ["reply@x.nl"]
    assert email.subject == "Bestelling café"
    assert email.date is not None and email.date.utcoffset().total_seconds() == 7200
    assert email.in_reply_to == "<p1@x.nl>" and email.references == ["<p0@x.nl>", "<p1@x.nl>"]
    assert email.text.strip() == "Café 2x"
    assert email.headers["subject"] == "Bestelling café"
    assert email.size == len(raw)


def test_missing_message_id_is_synthesised_deterministically():
    raw = _simple(From="a@b.nl", Subject="x")
    first, second = parse_email(raw), parse_email(raw)
    assert first.message_id == second.message_id == synthetic_message_id(raw)
    assert first.message_id.endswith("@mailorder.invalid>") and first.message_id.startswith("<")


def test_message_id_without_brackets_gets_them():
    assert parse_email(_simple(Message_ID="abc@x.nl")).message_id == "<abc@x.nl>"


def test_naive_date_becomes_aware_and_garbage_date_is_none():
    assert parse_email(_simple(Date="Mon, 2 Jun 2025 10:00:00 -0000")).date.tzinfo is not None
    assert parse_email(_simple(Date="gisteren om drie uur")).date is None


def test_multipart_mixed_alternative_related_with_attachments():
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "a@b.nl", "orders@x.nl", "Order"
    msg.set_content("2x product A\n")
    msg.add_alternative(
        "<html><body><p>2x <b>product A</b></p><img src='cid:logo'></body></html>", subtype="html"
    )
    msg.get_payload()[1].add_related(b"\x89PNG fake", maintype="image", subtype="png", cid="<logo>")
    msg.add_attachment(b"%PDF-1.4 fake" * 10, maintype="application", subtype="pdf", filename="order.pdf")
    msg.add_attachment("BEGIN:VCALENDAR\nEND:VCALENDAR\n", subtype="calendar", filename="invite.ics")
    email = parse_email(msg.as_bytes())
    assert email.text.strip() == "2x product A"
    assert "product A" in email.html and email.html_text == "2x product A"
    kinds = {(a.filename, a.content_type) for a in email.attachments}
    assert ("order.pdf", "application/pdf") in kinds
    assert ("invite.ics", "text/calendar") in kinds
    assert (None, "image/png") in kinds
    pdf = next(a for a in email.attachments if a.filename == "order.pdf")
    assert pdf.size == 130
    assert "PDF" not in email.text


def test_html_only_fills_html_text():
    raw = (
        b"From: a@b.nl\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        b"<div>Graag leveren:</div><div>2x lus120 kleur cyaan&nbsp;</div>"
    )
    email = parse_email(raw)
    assert email.text == "" and email.body == "Graag leveren:\n2x lus120 kleur cyaan"


def test_lying_charset_prefers_utf8():
    raw = (
        "From: a@b.nl\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\n3 rollen à 50 m – wit\r\n"
    ).encode()
    email = parse_email(raw)
    assert email.text.strip() == "3 rollen à 50 m – wit"
    assert any("utf-8" in d for d in email.defects)


def test_unknown_charset_falls_back():
    raw = b"From: a@b.nl\r\nContent-Type: text/plain; charset=x-klingon\r\n\r\nRoll\xe9 \xe0 2\r\n"
    email = parse_email(raw)
    assert email.text.strip() == "Rollé à 2"  # utf-8 fails → cp1252
    assert any("x-klingon" in d for d in email.defects)


def test_eight_bit_body_without_declared_charset():
    raw = b"From: a@b.nl\r\nSubject: x\r\n\r\n2 st\xfck wei\xdf\r\n"
    assert parse_email(raw).text.strip() == "2 stük weiß"


def test_quoted_printable_and_base64_bodies():
    qp = (
        b"From: a@b.nl\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\nAKKOORD =E2=80=93 prima=\r\n!\r\n"
    )
    assert parse_email(qp).text.strip() == "AKKOORD – prima!"
    b64 = (
        b"From: a@b.nl\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\nQVBQUk9WRQ==\r\n"
    )
    assert parse_email(b64).text.strip() == "APPROVE"


HOSTILE = {
    "empty": b"",
    "whitespace": b"\r\n\r\n  ",
    "garbage": bytes(range(256)) * 4,
    "no_content_type": b"From: a@b.nl\r\nSubject: hi\r\n\r\nbody\r\n",
    "truncated_mime": (
        b"From: a@b.nl\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n"
        b"--XX\r\nContent-Type: text/plain\r\n\r\nhalf a bo"
    ),
    "missing_boundary": b"From: a@b.nl\r\nContent-Type: multipart/alternative\r\n\r\nno parts\r\n",
    "bad_base64": (
        b"From: a@b.nl\r\nContent-Type: text/plain\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64===\r\n"
    ),
    "huge_header": b"Subject: " + b"x" * 200_000 + b"\r\nFrom: a@b.nl\r\n\r\nbody",
    "broken_addresses": b'From: <<<@@>>>\r\nTo: ,,,;;"\r\nCc: =?utf-8?q?broken\r\n\r\nx',
    "bad_encoded_word": b"From: a@b.nl\r\nSubject: =?x-unknown?b?!!!?=\r\n\r\nx",
    "bad_date_and_ids": b"Date: 99 Foo 99999 99:99\r\nMessage-ID: \r\nReferences: <<>>\r\n\r\nx",
    "nul_bytes": b"From: a@b.nl\r\n\r\n\x00\x00\x00 body \x00",
    "attachment_only": (
        b'From: a@b.nl\r\nContent-Type: application/pdf; name="a.pdf"\r\n'
        b'Content-Disposition: attachment; filename="a.pdf"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQ=\r\n"
    ),
    "deep_nesting": (
        b"From: a@b.nl\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n"
        + b"".join(
            b"--%d\r\nContent-Type: multipart/mixed; boundary=%d\r\n\r\n" % (i, i + 1) for i in range(60)
        )
        + b"--60\r\n\r\ndeep\r\n"
    ),
    "header_without_colon": b"From a@b.nl Mon Jan 1\r\nSubject: x\r\n\r\nbody",
    "lf_only": b"From: a@b.nl\nSubject: x\n\nbody\n",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_inputs_never_raise(name: str):
    email = parse_email(HOSTILE[name])
    assert email.message_id.startswith("<") and email.size == len(HOSTILE[name])
    is_parseable(HOSTILE[name])


def test_attachment_only_records_attachment_without_text():
    email = parse_email(HOSTILE["attachment_only"])
    assert email.text == "" and email.attachments[0].filename == "a.pdf"
    assert email.attachments[0].size == 8


def test_is_parseable_and_strict_mode():
    assert not is_parseable(b"") and not is_parseable(b"\r\n \r\n")
    assert is_parseable(HOSTILE["no_content_type"]) and is_parseable(HOSTILE["attachment_only"])
    with pytest.raises(UnparseableEmail):
        parse_email(b"", strict=True)
    assert parse_email(HOSTILE["lf_only"], strict=True).subject == "x"


# ---- html_to_text ----------------------------------------------------------------------------


def test_html_table_rows_become_lines():
    html = """<html><head><style>p {color:red}</style><title>t</title></head><body>
    <!--[if gte mso 9]><xml><o:shapedefaults/></xml><![endif]-->
    <p class=MsoNormal>Graag leveren:<o:p></o:p></p>
    <table><tr><th>Folie</th><th>Meters</th><th>Rolbreedte</th></tr>
    <tr><td><p>751-063</p></td><td>3</td><td>126</td></tr>
    <tr><td>3164G-000</td><td></td><td>137</td></tr></table>
    <script>alert(1)</script><div>Met&nbsp;vriendelijke&nbsp;groet,<br>Person</div></body></html>"""
    assert html_to_text(html) == (
        "Graag leveren:\nFolie | Meters | Rolbreedte\n751-063 | 3 | 126\n"
        "3164G-000 | | 137\nMet vriendelijke groet,\nPerson"
    )


def test_html_layout_tables_and_hidden_preheaders():
    html = """<table style="display:none"><tr><td>preheader junk</td></tr></table>
    <table><tr><td><table><tr><td>inner a</td><td>inner b</td></tr></table></td></tr>
    <tr><td><p>first para</p><p>second para</p></td></tr></table>
    <p>&nbsp;</p><p>&nbsp;</p><p>tail&#8203;</p>"""
    assert html_to_text(html) == "inner a | inner b\nfirst para\nsecond para\n\ntail"


def test_html_conditional_comments_and_lists():
    html = (
        "<![if !supportLists]>1.<![endif]> <!--[if !mso]><p>hidden</p><![endif]-->"
        "<ul><li>one</li><li>two</li></ul>"
    )
    assert html_to_text(html) == "1.\n- one\n- two"


def test_html_garbage_never_raises():
    for html in ["", "   ", "<", "<table><tr><td>x", "</div></p><td>y</td>", "<<<>>>", "\x00<b>z"]:
        html_to_text(html)


@pytest.mark.skipif(not EVAL_EMAILS.exists(), reason="eval data not available")
def test_eval_html_bodies_render_and_keep_table_rows():
    emails = json.loads(EVAL_EMAILS.read_text())
    rendered = [html_to_text(e["body_html"] or "") for e in emails]
    assert all(isinstance(t, str) for t in rendered)
    assert any(" | " in t for t in rendered)  # at least one Outlook order table survives
    assert not any("@font-face" in t or "mso-" in t for t in rendered)


def test_fuzzed_reply_fixtures_never_raise():
    """Truncations and byte flips of real-client messages (seeded, so deterministic)."""
    import random

    from mailorder.mail.decisions import read_decision

    rng = random.Random(1234)
    fixtures = sorted((Path(__file__).parent / "fixtures" / "replies").glob("*.eml"))
    assert fixtures
    for path in fixtures:
        raw = path.read_bytes()
        variants = [raw[: rng.randrange(len(raw))] for _ in range(4)]
        for _ in range(4):
            mutated = bytearray(raw)
            for _ in range(20):
                mutated[rng.randrange(len(mutated))] = rng.randrange(256)
            variants.append(bytes(mutated))
        for variant in variants:
            email = parse_email(variant)
            read_decision(email)  # the reply parser must survive whatever parse gives it


def test_utf8_bom_is_dropped():
    raw = b"From: a@b.nl\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\xef\xbb\xbfAPPROVE\r\n"
    assert parse_email(raw).text == "APPROVE\n"


# ---- one compat32 parse + plain header decoding == the old double parse ------------------------

import random  # noqa: E402
from datetime import datetime, timedelta, timezone  # noqa: E402
from email import policy  # noqa: E402
from email.parser import BytesParser  # noqa: E402
from email.utils import format_datetime  # noqa: E402

import mailorder.mail.parse as mp  # noqa: E402
from mailorder.agent.evaluation.dataset import load_emails, record_to_message  # noqa: E402
from mailorder.domain import ParsedEmail  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"


def _reference_parse_email(raw: bytes) -> ParsedEmail:
    """The implementation before the single-parse fast path (kept only here, as the reference):
    every message parsed with policy.default (headers, body) and again with compat32 (defects,
    sender), every header decoded by the modern header registry."""
    if mp._many_nesting_parts(raw):
        return parse_email(raw)  # deep MIME is read flat: not what this compares
    try:
        return _reference_parse(raw)
    except Exception:
        return parse_email(raw)  # the fallbacks (flat MIME, headers kept) are not what this compares


def _reference_parse(raw: bytes) -> ParsedEmail:
    modern = BytesParser(policy=policy.default).parsebytes(raw)
    legacy = BytesParser(policy=policy.compat32).parsebytes(raw)
    defects: list[str] = []
    headers: dict[str, str] = {}
    for name, raw_value in modern.raw_items():
        key = str(name).strip().lower()
        if key and key not in headers:
            headers[key] = mp._CONTROL_CHARS.sub("", _reference_header(modern, name, raw_value, defects))
    body = mp._Body()
    mp._walk(modern, body, defects)
    body.text, body.html = body.text.replace("\x00", ""), body.html.replace("\x00", "")
    defects.extend(mp._defect_names(legacy))
    return ParsedEmail(
        message_id=mp._first_msgid(headers.get("message-id", "")) or mp.synthetic_message_id(raw),
        subject=mp._one_line(headers.get("subject", "")),
        sender=mp._sender(legacy, headers.get("from", "")),
        sender_name=mp._one_line(mp._display_name(headers.get("from", ""))),
        to=mp._addresses(_reference_all(modern, legacy, "to")),
        cc=mp._addresses(_reference_all(modern, legacy, "cc")),
        reply_to=mp._addresses(headers.get("reply-to", "")),
        date=mp._date(headers.get("date", ""), mp._received_dates(legacy), defects),
        in_reply_to=mp._first_msgid(headers.get("in-reply-to", "")),
        references=mp._MSGID.findall(headers.get("references", "")),
        text=body.text,
        html=body.html,
        html_text=html_to_text(body.html) if body.html else "",
        headers=headers,
        attachments=body.attachments,
        defects=mp._unique(defects),
        size=len(raw),
    )


def _reference_header(modern, name, raw_value, defects) -> str:
    if len(str(raw_value)) > mp._LARGE_HEADER:
        return mp._decode_legacy(raw_value)
    try:
        return str(modern.policy.header_fetch_parse(name, raw_value))
    except Exception as exc:
        defects.append(f"header {name.strip().lower()}: {type(exc).__name__}")
    return mp._decode_legacy(raw_value)


def _reference_all(modern, legacy, key: str) -> str:
    raw_values = legacy.get_all(key) or []
    if sum(len(str(v)) for v in raw_values) > mp._LARGE_HEADER:
        return ", ".join(mp._decode_legacy(v) for v in raw_values)
    try:
        values = [str(v) for v in (modern.get_all(key) or [])]
    except Exception:
        values = [mp._decode_legacy(v) for v in raw_values]
    return ", ".join(values)


def _every_fixture() -> dict[str, bytes]:
    found = {f"{p.parent.name}/{p.name}": p.read_bytes() for p in sorted(FIXTURES.rglob("*.eml"))}
    found.update({f"inline/{name}": raw for name, raw in HOSTILE.items()})
    for i, record in enumerate(load_emails(Path(__file__).parent.parent / "data")):
        found[f"data/{i}"] = record_to_message(record).as_bytes()
    if EVAL_EMAILS.exists():
        for i, record in enumerate(json.loads(EVAL_EMAILS.read_text())):
            found[f"eval/{i}"] = record_to_message(record).as_bytes()
    return found


def _with_mutations(corpus: dict[str, bytes], rng: random.Random) -> dict[str, bytes]:
    """Each message plus a truncation and two byte-flipped copies (seeded)."""
    out = dict(corpus)
    for name, raw in corpus.items():
        if not raw:
            continue
        out[f"{name}~cut"] = raw[: rng.randrange(len(raw))]
        for k in range(2):
            flipped = bytearray(raw)
            for _ in range(rng.choice([1, 5, 20])):
                flipped[rng.randrange(len(flipped))] = rng.randrange(256)
            out[f"{name}~flip{k}"] = bytes(flipped)
    return out


def test_single_parse_matches_the_double_parse_on_every_fixture():
    corpus = _with_mutations(_every_fixture(), random.Random(2024))
    assert len(corpus) > 500
    diverged = [
        name
        for name, raw in corpus.items()
        if parse_email(raw).model_dump() != _reference_parse_email(raw).model_dump()
    ]
    assert diverged == []


def test_ordinary_mail_is_parsed_once_without_the_header_registry(monkeypatch):
    """The sample dataset's mail: one compat32 parse; the registry only for encoded words."""
    raws = [record_to_message(r).as_bytes() for r in load_emails(Path(__file__).parent.parent / "data")]
    parses, registry_calls = [], []
    real_parser, real_fetch = mp.BytesParser, mp.policy.default.header_fetch_parse

    def parser(*, policy):
        parses.append(policy)
        return real_parser(policy=policy)

    monkeypatch.setattr(mp, "BytesParser", parser)
    monkeypatch.setattr(mp.policy, "default", mp.policy.default.clone())
    object.__setattr__(
        mp.policy.default, "header_fetch_parse", lambda *a: registry_calls.append(a) or real_fetch(*a)
    )
    for raw in raws:
        parse_email(raw)
    assert parses and all(p is policy.compat32 for p in parses)
    assert all("=?" in value for _, value in registry_calls)  # only encoded words need the registry


# property checks of the fast path's assumptions, on generated values (seeded)

_ATEXT = "azAZ09!#$%&'*+/=?^_`{|}~-"
_ODD = ' \t.,"()<>@:;[]\\\r\n'
_TOKEN = "aZ09!#$%&+.^_`{|}~-"
_FOLDS = ["", "", " ", "\t", "  ", "\r\n ", "\r\n\t"]


class _Values:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def pick(self, chars: str, low: int, high: int) -> str:
        return "".join(self.rng.choice(chars) for _ in range(self.rng.randint(low, high)))

    def ws(self) -> str:
        return self.rng.choice(_FOLDS)

    def noise(self, value: str, chars: str = _ATEXT + _ODD) -> str:
        for _ in range(self.rng.choice([0, 0, 1, 2])):
            i = self.rng.randrange(len(value) + 1)
            value = value[:i] + self.rng.choice(chars) + value[i:]
        return value

    def dot_atom(self) -> str:
        return ".".join(self.pick(_ATEXT + "jan", 1, 5) for _ in range(self.rng.randint(1, 3)))

    def addresses(self) -> str:
        boxes = []
        for _ in range(self.rng.randint(1, 3)):
            addr, shape = f"{self.dot_atom()}@{self.dot_atom()}", self.rng.random()
            if shape < 0.3:
                boxes.append(self.ws() + addr + self.ws())
            elif shape < 0.4:
                boxes.append(f"{self.ws()}<{addr}>{self.ws()}")
            else:
                name = (
                    " ".join(self.pick(_ATEXT, 1, 5) for _ in range(self.rng.randint(1, 3)))
                    if self.rng.random() < 0.4
                    else '"' + self.pick(_ATEXT + _ODD + "ab", 0, 10) + '"'
                )
                boxes.append(f"{self.ws()}{name}{self.ws()}<{addr}>{self.ws()}")
        return self.noise(",".join(boxes))

    def date(self) -> str:
        when = datetime(2025, 1, 1, tzinfo=timezone(timedelta(hours=self.rng.randint(-12, 12))))
        value = format_datetime(when + timedelta(seconds=self.rng.randrange(10**8)))
        if self.rng.random() < 0.3:
            value = value[:-5] + self.rng.choice(["GMT", "UT", "-0000", "CEST", "+2400"])
        return self.noise(value)

    def message_id(self) -> str:
        return self.noise(f"{self.ws()}<{self.dot_atom()}@{self.dot_atom()}>{self.ws()}")

    def version(self) -> str:
        return self.noise(self.ws() + self.rng.choice(["1.0", "1.1", "10.20", "1", "1.0 (x)"]) + self.ws())

    def unstructured(self) -> str:
        return self.pick("".join(map(chr, range(128))) + " \t\r\n=?ab" * 8, 0, 30)

    def params(self) -> str:
        text = ""
        for _ in range(self.rng.randint(0, 3)):
            name = self.rng.choice(
                ["charset", "boundary", "name", "filename", "Charset", self.pick(_TOKEN, 1, 6)]
            )
            value = (
                self.pick(_TOKEN + "abc", 1, 6)
                if self.rng.random() < 0.5
                else '"' + self.pick(_TOKEN + " ()<>@,;:/[]?='*\tabc", 1, 8) + '"'
            )
            text += f";{self.ws()}{name}={value}{self.ws()}"
        return text + (";" + self.ws() if self.rng.random() < 0.2 else "")

    def content_type(self, multipart: bool = False) -> str:
        kinds = (
            ["multipart/mixed", "MultiPart/Alternative"]
            if multipart
            else [
                "text/plain",
                "TEXT/Html",
                "application/pdf",
                "message/rfc822",
                f"{self.pick(_TOKEN, 1, 4)}/x",
            ]
        )
        return self.noise(self.ws() + self.rng.choice(kinds) + self.ws() + self.params(), _TOKEN + _ODD)

    def disposition(self) -> str:
        kind = self.rng.choice(["attachment", "inline", self.pick(_TOKEN, 1, 6)])
        return self.noise(self.ws() + kind + self.params(), _TOKEN + _ODD)

    def encoding(self) -> str:
        kind = self.rng.choice(["base64", "quoted-printable", "7bit", self.pick(_TOKEN, 1, 6)])
        return self.noise(self.rng.choice(["", " "]) + kind + self.ws(), _TOKEN + _ODD)


@pytest.mark.parametrize("seed", [1, 2])
def test_plain_header_values_decode_like_the_header_registry(seed):
    values = _Values(seed)
    kinds = {
        "From": values.addresses,
        "to": values.addresses,
        "Reply-To": values.addresses,
        "Date": values.date,
        "Message-ID": values.message_id,
        "MIME-Version": values.version,
        "Subject": values.unstructured,
        "X-Mailer": values.unstructured,
        "Content-Type": values.content_type,
        "Content-Transfer-Encoding": values.encoding,
    }
    fast = 0
    for _ in range(4000):
        name = values.rng.choice(list(kinds))
        value = kinds[name]()
        try:
            expected = str(policy.default.header_fetch_parse(name, value))
        except Exception as exc:
            expected = type(exc).__name__
        try:
            got = mp._modern_value(name, value)
        except Exception as exc:
            got = type(exc).__name__
        assert got == expected, (name, value)
        plain = mp._PLAIN_DECODERS.get(name.lower(), mp._unfolded)
        fast += (
            value.isascii()
            and "=?" not in value
            and bool(plain and plain(value.replace("\r", "").replace("\n", "")))
        )
    assert fast > 2000  # the generator does reach the fast path


def _part_views(message) -> list:
    """What the walk and the feed parser read from each part."""
    views = []
    for part in message.walk():
        params = [
            part.get_param(p, header=h)
            for p in ("charset", "boundary", "name", "filename")
            for h in ("content-type", "content-disposition")
        ]
        views.append(
            [
                part.get_content_type(),
                part.is_multipart(),
                part.get_boundary(),
                part.get_content_charset(),
                part.get_content_disposition(),
                part.get_filename(),
                str(part.get("content-transfer-encoding", "")),
                params,
                [type(d).__name__ for d in part.defects],
                None if part.is_multipart() else part.get_payload(decode=True),
            ]
        )
    return views


@pytest.mark.parametrize("seed", [1, 2])
def test_plain_mime_headers_read_alike_under_both_policies(seed):
    values, checked = _Values(seed), 0
    for _ in range(1500):
        boundary = "b" + values.pick(_TOKEN, 1, 6) + "z"
        top = (
            values.content_type(multipart=True)
            if values.rng.random() < 0.5
            else f'multipart/mixed; boundary="{boundary}"'
        )
        raw = (
            f"From: a@b.nl\r\nContent-Type: {top}\r\n\r\n--{boundary}\r\n"
            f"Content-Type: {values.content_type()}\r\nContent-Disposition: {values.disposition()}\r\n"
            f"Content-Transfer-Encoding: {values.encoding()}\r\n\r\naGVsbG8=\r\n--{boundary}\r\n"
            f"Content-Type: text/plain\r\n\r\nsecond\r\n--{boundary}--\r\n"
        ).encode()
        legacy = BytesParser(policy=policy.compat32).parsebytes(raw)
        if mp._plain_mime(legacy):
            checked += 1
            assert _part_views(legacy) == _part_views(BytesParser(policy=policy.default).parsebytes(raw)), raw
    assert checked > 400  # the generator does reach the fast path


# ---- hostile mail, second pass: unusable dates, any nesting depth, content fingerprints ------------


def _dated(value: str, *, received: str = "") -> bytes:
    trace = f"Received: from a by b; {received}\r\n" if received else ""
    return (trace + f"From: a@klant.example\r\nDate: {value}\r\nSubject: x\r\n\r\nGraag 3x\r\n").encode()


@pytest.mark.parametrize(
    "value, why",
    [
        ("Fri, 31 Dec 9999 23:59:59 -1200", "out of range"),  # year 10000 in UTC
        ("Mon, 01 Jan 9999 00:00:00 +1400", "out of range"),
        ("Sat, 01 Jan 2101 00:00:00 +0000", "out of range"),
        ("Sat, 01 Jan 1000 00:00:00 +0000", "out of range"),
        ("Thu, 01 Jan 1970 00:00:00 +0000", "out of range"),  # a clock at zero
        ("Mon, 02 Mar 99999 08:30:00 +0000", "unparseable"),
        ("Mon, 02 Mar 2026 08:30:00 +9999", "unparseable"),  # offset beyond a day
        ("Mon, 45 Foo 2026 99:99:99 +0100", "unparseable"),
        ("gisteren om 8 uur", "unparseable"),
    ],
)
def test_an_unusable_date_is_none_with_a_defect(value, why):
    email = parse_email(_dated(value))
    assert email.date is None
    assert [d for d in email.defects if d.startswith("unusable date")] == [
        next(d for d in email.defects if why in d)
    ]
    assert email.sender == "a@klant.example" and email.subject == "x"


def test_a_date_after_the_messages_own_received_stamp_is_unusable():
    received = "Mon, 02 Mar 2026 08:31:00 +0100"
    future = parse_email(_dated("Fri, 02 Mar 2063 08:30:00 +0100", received=received))
    assert future.date is None and "unusable date: after the message was received" in future.defects
    fine = parse_email(_dated("Mon, 02 Mar 2026 08:30:00 +0100", received=received))
    assert fine.date is not None and fine.date.year == 2026
    skewed = parse_email(_dated("Mon, 02 Mar 2026 20:30:00 +0100", received=received))  # a fast clock
    assert skewed.date is not None


def test_every_usable_date_converts_to_utc_and_back():
    """The bounds leave room for any zone offset: date arithmetic downstream cannot overflow."""
    from datetime import UTC, timedelta

    for value in ("Fri, 02 Jan 1970 00:00:00 +2359", "Fri, 31 Dec 2099 23:59:59 -2359"):
        date = parse_email(_dated(value)).date
        assert date is not None
        assert date.astimezone(UTC) + timedelta(days=3660) > date - timedelta(days=3660)


HTML_TAGS = ["blockquote", "div", "span", "font", "b", "section", "li", "p"]


@pytest.mark.parametrize("levels", [600, 5000])
@pytest.mark.parametrize("tag", HTML_TAGS)
def test_deep_html_is_read_and_the_headers_are_kept(tag, levels):
    nested = f"<{tag}>" * levels + "oude mail" + f"</{tag}>" * levels
    for html in (
        "<p>Graag 3x 02-0001-1049</p>" + nested,
        nested.replace("oude mail", "Graag 3x 02-0001-1049"),
    ):
        for raw in (_html_only(html), _alternative("Graag 3x 02-0001-1049 (tekst)", html)):
            email = parse_email(raw)
            assert email.sender == "a@klant.example" and email.message_id == "<deep@klant.example>"
            assert email.subject == "Bestelling" and email.date is not None
            assert "Graag 3x 02-0001-1049" in email.html_text
            assert not any("parser failure" in d for d in email.defects)


def test_deep_nested_tables_render_their_cells():
    html = "<table><tr><td>a</td><td>" * 600 + "Graag 3x 02-0001-1049" + "</td></tr></table>" * 600
    text = html_to_text(html)
    assert text.startswith("a\n") and text.endswith("Graag 3x 02-0001-1049")
    shallow = html_to_text("<table><tr><td>3x</td><td>02-0001-1049</td></tr></table>")
    assert shallow == "3x | 02-0001-1049"  # rows of a table nested within the limit stay rows


def test_void_tags_and_stray_end_tags_render_as_with_the_stock_parser():
    from bs4 import BeautifulSoup

    from mailorder.mail.html import render_node

    html = "<p>a<br>b</br>c<img src=x>d</img><br/>e<hr>f</hr></p><table><tr><td>1<br>2</td></tr></table>"
    assert html_to_text(html) == render_node(BeautifulSoup(html, "html.parser"))


def test_void_tags_cost_what_other_tags_cost():
    """bs4 looks every end tag up in a list of the void tags seen so far; 40,000 <img> in a
    5 MB HTML email took 148 s. Measured as a ratio against the same markup without void tags."""
    import time

    def cost(html: str) -> float:
        runs = []
        for _ in range(3):
            started = time.process_time()
            html_to_text(html)
            runs.append(time.process_time() - started)
        return sorted(runs)[1]

    voids, plain = "<b>x<br><img src=y></b><i></i>" * 10000, "<b>x<i></i><u></u></b><i></i>" * 10000
    assert cost(voids) < 3 * cost(plain)


def _html_only(html: str) -> bytes:
    return _headers() + b"Content-Type: text/html; charset=utf-8\r\n\r\n" + html.encode()


def _alternative(text: str, html: str) -> bytes:
    return (
        _headers() + b'Content-Type: multipart/alternative; boundary="a"\r\n\r\n--a\r\n'
        b"Content-Type: text/plain\r\n\r\n" + text.encode() + b"\r\n--a\r\n"
        b"Content-Type: text/html\r\n\r\n" + html.encode() + b"\r\n--a--\r\n"
    )


def _headers() -> bytes:
    return (
        b"From: Piet <a@klant.example>\r\nTo: orders@example.com\r\nSubject: Bestelling\r\n"
        b"Date: Mon, 02 Mar 2026 08:30:00 +0100\r\nMessage-ID: <deep@klant.example>\r\nMIME-Version: 1.0\r\n"
    )


def _nested_mime(levels: int, leaf: bytes) -> bytes:
    body = leaf
    for depth in reversed(range(levels)):
        kind = ("mixed", "alternative", "related")[depth % 3]
        boundary = f"b{depth}".encode()
        body = (
            b"Content-Type: multipart/" + kind.encode() + b'; boundary="' + boundary + b'"\r\n\r\n'
            b"--" + boundary + b"\r\n" + body + b"\r\n--" + boundary + b"--\r\n"
        )
    return _headers() + body


@pytest.mark.parametrize("levels", [65, 300, 1000, 3000])
def test_deep_mime_is_read_flat_with_headers_text_html_and_attachments(levels):
    leaf = (
        b'Content-Type: multipart/alternative; boundary="leaf"\r\n\r\n--leaf\r\n'
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes("Graag 3x 02-0001-1049 café\n".encode())
        + b"\r\n--leaf\r\nContent-Type: text/html\r\n\r\n<p>Graag <b>3x</b> 02-0001-1049</p>\r\n--leaf--\r\n"
        b'--x\r\nContent-Type: application/pdf; name="po.pdf"\r\nContent-Disposition: attachment; '
        b'filename="po.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n'
    )
    email = parse_email(_nested_mime(levels, leaf))
    assert email.sender == "a@klant.example" and email.message_id == "<deep@klant.example>"
    assert email.text.strip() == "Graag 3x 02-0001-1049 café"
    assert email.html_text == "Graag 3x 02-0001-1049"
    assert "deep MIME structure: parts read flat" in email.defects


def test_deep_attached_messages_are_read_flat():
    inner = b"Content-Type: text/plain\r\n\r\nEerdere bestelling.\r\n"
    for level in range(600):
        inner = b"Content-Type: message/rfc822\r\n\r\nFrom: x%d@a.example\r\nSubject: Fw\r\n" % level + inner
    raw = (
        _headers()
        + b'Content-Type: multipart/mixed; boundary="m"\r\n\r\n--m\r\nContent-Type: text/plain\r\n\r\n'
        b"Graag 3x 02-0001-1049\r\n--m\r\n" + inner + b"\r\n--m--\r\n"
    )
    email = parse_email(raw)
    assert email.sender == "a@klant.example" and email.text.strip() == "Graag 3x 02-0001-1049"


def test_flat_reading_agrees_with_the_tree_on_every_fixture():
    """The flat reader is a fallback for any depth: on ordinary mail it finds what the walk finds
    (broken structures may differ in blank lines)."""

    def seen(email: ParsedEmail) -> tuple:
        return (email.text.split(), email.html.split(), email.attachments, email.headers)

    for name, raw in _every_fixture().items():
        if not mp._many_nesting_parts(raw):
            assert seen(mp._parse(raw, flat=True)) == seen(mp._parse(raw)), name


def test_a_recursion_error_anywhere_keeps_the_headers(monkeypatch):
    """Whatever fails deep inside the MIME reading, sender, subject and Message-ID survive."""
    raw = _headers() + b"Content-Type: text/plain\r\n\r\nGraag 3x 02-0001-1049\r\n"

    def too_deep(*args, **kwargs):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(mp, "_walk", too_deep)
    email = parse_email(raw)
    assert (email.sender, email.subject, email.message_id) == (
        "a@klant.example",
        "Bestelling",
        "<deep@klant.example>",
    )
    assert email.text.strip() == "Graag 3x 02-0001-1049"
    monkeypatch.setattr(mp, "_flat_parts", too_deep)  # and when the flat reading fails as well
    email = parse_email(raw)
    assert (email.sender, email.subject, email.message_id) == (
        "a@klant.example",
        "Bestelling",
        "<deep@klant.example>",
    )
    assert "Graag 3x 02-0001-1049" in email.text
    assert any(d.startswith("parser failure: RecursionError") for d in email.defects)


@pytest.mark.parametrize("levels", [600, 5000])
@pytest.mark.parametrize("tag", ["div", "blockquote", "span", "font"])
def test_a_reps_approve_in_a_deep_outlook_reply_still_decides(tag, levels):
    from mailorder.mail.decisions import read_decision

    old_thread = f"<{tag}>" * levels + "<p>REJECT te duur (oude mail)</p>" + f"</{tag}>" * levels
    outlook = (
        '<html><body><div class="WordSection1"><p class="MsoNormal">APPROVE</p></div>'
        '<div id="appendonsend"></div><hr style="display:inline-block;width:98%">'
        '<div id="divRplyFwdMsg" dir="ltr"><font face="Calibri"><b>From:</b> orders@example.com<br>'
        "<b>Sent:</b> Monday, 2 March 2026 09:00<br><b>Subject:</b> [MO-1 v1] Bouwbedrijf</font></div>"
        + old_thread
        + "</body></html>"
    )
    deep_top = (  # the rep's own words are themselves deep inside the client's wrappers
        "<html><body>" + f"<{tag}>" * levels + "<p>APPROVE</p>"
        '<div style="border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm"><p><b>From:</b> '
        "orders@example.com<br><b>Sent:</b> Monday</p></div><p>REJECT oud</p>" + f"</{tag}>" * levels
    )
    for html in (outlook, deep_top):
        for raw in (_html_only(html), _alternative("", html)):
            email = parse_email(raw.replace(b"From: Piet <a@klant.example>", b"From: rep@example.com"))
            assert email.sender == "rep@example.com"
            assert read_decision(email).kind == "approve"


def test_content_fingerprint_ignores_the_route_and_sees_the_content():
    from mailorder.mail.parse import content_fingerprint

    raw = _headers() + b"Content-Type: text/plain\r\n\r\nGraag 3x 02-0001-1049\r\n"
    routed = (
        b"Return-Path: <a@klant.example>\r\nReceived: from relay by mx; Mon, 2 Mar 2026 08:31:00 +0100\r\n"
        b"Delivered-To: backup@example.com\r\nX-Original-To: backup@example.com\r\nX-Spam-Score: 1\r\n"
    )
    refolded = raw.replace(b"Subject: Bestelling\r\n", b"Subject:\r\n  Bestelling\r\n")
    same = [
        raw,
        routed + raw,
        refolded,
        raw.replace(b"\r\n", b"\n"),
        raw + b"\r\n\r\n",
    ]
    assert len({content_fingerprint(r) for r in same}) == 1
    different = [
        raw.replace(b"a@klant.example", b"b@klant.example"),
        raw.replace(b"Subject: Bestelling", b"Subject: Bestelling 2"),
        raw.replace(b"08:30:00", b"08:31:00"),
        raw.replace(b"3x", b"4x"),
        raw.replace(b"text/plain", b"text/html"),
    ]
    assert content_fingerprint(raw) not in {content_fingerprint(r) for r in different}
    assert len({content_fingerprint(r) for r in different}) == len(different)
    for hostile in HOSTILE.values():  # never raises
        assert len(content_fingerprint(hostile)) == 64
