"""Screening rules: our own mail, bounces, delivery reports and mail loops are ignored; the rest
(customer mail, rep replies, plain auto-replies, newsletters) goes on."""

from __future__ import annotations

import pytest

from mailorder.agent.inbox.screening import ignore_reason, is_agent_address, is_automatic, is_our_message_id
from mailorder.domain import Attachment, ParsedEmail
from mailorder.mail.parse import parse_email
from mailorder.mail.tokens import agent_mark

AGENT = "orders@example.com"
OURS = "<mo.summary.12.v1@example.com>"


def email(**fields) -> ParsedEmail:
    fields.setdefault("message_id", "<m@customer.example>")
    fields.setdefault("sender", "jan@klant.nl")
    fields.setdefault("to", [AGENT])
    return ParsedEmail(**fields)


def reason(**fields) -> str | None:
    return ignore_reason(email(**fields), AGENT)


def test_customer_mail_and_rep_replies_pass():
    assert reason(subject="Bestelling", text="Graag 3x 10-0001-0001") is None
    assert (
        reason(
            sender="rep@example.com",
            subject="Re: [MO-3 v1] Bestelling",
            in_reply_to=OURS,
            to=["orders+abc@example.com"],
            text="APPROVE",
        )
        is None
    )
    assert reason(headers={"auto-submitted": "no"}, in_reply_to=OURS) is None


SECRET = "test-secret"


def test_own_mail_is_recognised_by_its_signed_mark_only():
    ours = email(message_id="<mo.summary.3.v1@example.com>")
    marked = ours.model_copy(update={"headers": {"x-mailorder": agent_mark(SECRET, ours.message_id)}})
    assert "signed X-Mailorder mark" in ignore_reason(marked, AGENT, SECRET)
    # a mark anyone could add, a mark for another message, our address in From: customer mail
    for fake in (
        "yes",
        "1",
        "summary",
        agent_mark(SECRET, "<other@example.com>"),
        agent_mark("x", ours.message_id),
    ):
        forged = ours.model_copy(update={"headers": {"x-mailorder": fake}})
        assert ignore_reason(forged, AGENT, SECRET) is None, fake
    for sender in ("orders@example.com", "ORDERS@Example.com", "orders+k7q2@example.com"):
        assert ignore_reason(email(sender=sender), AGENT, SECRET) is None
    assert ignore_reason(marked, AGENT) is None  # without the secret nothing is ours


def test_agent_address_case_and_domain():
    assert reason(sender="orders@example.com.evil") is None
    assert reason(sender="orders+x@other.example") is None
    assert is_agent_address("orders+tok@example.com", AGENT)
    assert not is_agent_address("sales@example.com", AGENT)


@pytest.mark.parametrize(
    "fields, word",
    [
        (
            {"headers": {"content-type": 'multipart/report; report-type=delivery-status; boundary="b"'}},
            "delivery-status",
        ),
        (
            {"headers": {"content-type": "multipart/report; report-type=disposition-notification"}},
            "disposition-notification",
        ),
        ({"attachments": [Attachment(content_type="message/delivery-status")]}, "delivery-status part"),
        ({"sender": "mailer-daemon@mx.klant.nl"}, "MAILER-DAEMON"),
        ({"sender": "postmaster@klant.nl"}, "postmaster"),
        ({"headers": {"x-failed-recipients": "x@klant.nl"}}, "X-Failed-Recipients"),
        ({"headers": {"return-path": "<>"}}, "null Return-Path"),
    ],
)
def test_bounces_and_reports_are_ignored(fields, word):
    assert word in reason(**fields)


def test_normal_return_path_is_fine():
    assert reason(headers={"return-path": "<jan@klant.nl>"}) is None


@pytest.mark.parametrize(
    "headers, subject",
    [
        ({"auto-submitted": "auto-replied"}, "Re: bestelling"),
        ({"x-autoreply": "yes"}, "Re: bestelling"),
        ({"x-autorespond": "1"}, "Re: bestelling"),
        ({"precedence": "auto_reply"}, "Re: bestelling"),
        ({}, "Automatic reply: [MO-12 v1] Bestelling"),
        ({}, "Out of Office: Bestelling"),
        ({}, "Afwezig: Re: uw bestelling"),
        ({}, "Automatisch antwoord: Bestelling"),
    ],
)
def test_auto_replies_to_our_mail_are_loops(headers, subject):
    assert "loop" in reason(headers=headers, subject=subject, in_reply_to=OURS)
    assert "loop" in reason(headers=headers, subject=subject, references=["<a@b>", OURS])
    assert "loop" in reason(headers=headers, subject=subject, to=["orders+tok@example.com"])


def test_rule_forwards_of_our_summaries_are_loops():
    rule = {"x-ms-exchange-inbox-rules-loop": "rep@example.com"}
    assert "loop" in reason(sender="rep@example.com", headers=rule, subject="FW: [MO-4 v2] Bestelling")
    assert "loop" in reason(headers={"auto-submitted": "auto-forwarded"}, subject="Fwd: [mo-4 v1] x")
    # a person forwarding a summary is not automatic: agent.replies decides (and refuses)
    assert reason(sender="rep@example.com", subject="FW: [MO-4 v2] Bestelling") is None
    # a rule forwarding a customer's order (no tag, no reference) is still an order
    assert reason(sender="rep@example.com", headers=rule, subject="FW: Bestelling") is None


def test_x_loop_naming_us_is_a_loop():
    assert "X-Loop" in reason(headers={"x-loop": "Orders@example.com"})


def test_plain_auto_replies_and_newsletters_go_to_triage():
    assert reason(headers={"auto-submitted": "auto-replied"}, subject="Out of office") is None
    assert reason(headers={"list-unsubscribe": "<mailto:u@x>", "precedence": "bulk"}) is None
    # an auto-reply to someone else's message is not a loop of ours
    assert (
        reason(headers={"auto-submitted": "auto-replied"}, in_reply_to="<mo.summary.1@other.example>") is None
    )


def test_our_message_ids():
    assert is_our_message_id(OURS, AGENT)
    assert is_our_message_id("<MO.confirmation.3.v2@Example.com>", AGENT)
    assert not is_our_message_id("<mo.summary.1@example.com.evil>", AGENT)
    assert not is_our_message_id("<abc@example.com>", AGENT)


def test_is_automatic():
    assert is_automatic(email(headers={"auto-submitted": "auto-generated"}))
    assert not is_automatic(email(headers={"auto-submitted": "no"}))
    assert not is_automatic(email(subject="Re: bestelling"))
    assert not is_automatic(email(subject="Re: Out of office: bestelling"))  # a human answering one


def test_from_raw_bytes():
    raw = (
        b"From: MAILER-DAEMON@mx.example.net\r\nTo: orders@example.com\r\n"
        b"Subject: Undelivered Mail Returned to Sender\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nfailed\r\n--b\r\n"
        b"Content-Type: message/delivery-status\r\n\r\nFinal-Recipient: rfc822; x@y\r\n\r\n--b--\r\n"
    )
    assert ignore_reason(parse_email(raw), AGENT).startswith("delivery report")
