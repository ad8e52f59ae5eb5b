"""Bounces of the agent's own mail: never answered, but a returned summary or confirmation
reaches a person (the next rep, or the draft's rep)."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.utils import getaddresses, make_msgid

import pytest

from mailorder.agent.outgoing.bounces import bounce_reason, bounce_verdict, returned_message_ids
from mailorder.agent.review.wire import find_tags_in_raw
from mailorder.mail.reports import read_report
from mailorder.store.models import DraftStatus, EmailStatus
from tests.loop_harness import ORDERS, REP, Loop, catalog, known_contact, order_email
from tests.test_hostile import statuses

REP2 = "second.rep@example.com"

DSN = (
    b"Return-Path: <>\r\nFrom: MAILER-DAEMON@mx.example\r\nTo: orders@example.com\r\n"
    b"Subject: Undelivered Mail\r\n"
    b"Message-ID: <dsn-1@mx.example>\r\nContent-Type: multipart/report; report-type=delivery-status; "
    b'boundary="b"\r\n\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\n'
    b"Final-Recipient: rfc822; rep@example.com\r\nAction: failed\r\nStatus: 5.2.2\r\n"
    b"Diagnostic-Code: smtp; 552 5.2.2 mailbox full\r\n\r\n--b\r\nContent-Type: text/rfc822-headers\r\n\r\n"
    b"Message-ID: <mo.summary.12.v2@example.com>\r\nIn-Reply-To: <order-7@customer.example>\r\n"
    b"References: <mo.summary.12.v1@example.com> <mo.summary.12.v2@example.com>\r\n"
    b"Subject: [MO-12 v2] Bestelling\r\n--b--\r\n"
)


def test_returned_ids_are_ours_only_once_each_in_order():
    assert returned_message_ids(DSN, ORDERS) == [
        "<mo.summary.12.v2@example.com>",
        "<mo.summary.12.v1@example.com>",
    ]
    assert returned_message_ids(DSN, "orders@other.example") == []  # another agent's ids are not ours
    assert find_tags_in_raw(DSN) == [(12, 2)]


def test_a_bounce_is_believed_only_from_its_machine_readable_part():
    report = read_report(DSN)
    assert bounce_verdict(report) is None
    assert bounce_reason(report) == "status 5.2.2 for rep@example.com"  # never the Diagnostic-Code text
    forged = DSN.replace(b"Return-Path: <>\r\n", b"Return-Path: <evil@x.example>\r\n")
    assert "null return path" in bounce_verdict(read_report(forged))
    delayed = DSN.replace(b"Action: failed\r\nStatus: 5.2.2", b"Action: delayed\r\nStatus: 4.4.7")
    assert "without a permanent failure (delayed)" in bounce_verdict(read_report(delayed))
    delivered = DSN.replace(b"Action: failed\r\nStatus: 5.2.2", b"Action: delivered\r\nStatus: 2.0.0")
    assert "(delivered)" in bounce_verdict(read_report(delivered))
    mdn = DSN.replace(b"report-type=delivery-status", b"report-type=disposition-notification")
    assert "read receipt" in bounce_verdict(read_report(mdn))
    plain = b"From: postmaster@x.example\r\nSubject: Undeliverable: Bestelling\r\n\r\nSorry.\r\n"
    assert "no DSN" in bounce_verdict(read_report(plain))


def dsn(
    original: EmailMessage,
    reporter: str = "MAILER-DAEMON@mx.example",
    *,
    action: str = "failed",
    status: str = "5.1.1",
    recipient: str | None = None,
    return_path: str = "<>",
    report_type: str = "delivery-status",
    diagnostic: str = "smtp; 550 5.1.1 user unknown",
) -> tuple[str, bytes]:
    """(Message-ID, raw) of a delivery report about `original` (a real bounce by default: null
    return path, failed, 5.x.x, for the address the original was sent to)."""
    message_id = make_msgid(domain="mx.example")
    to = recipient or getaddresses([str(original["To"])])[0][1]
    raw = (
        (
            f"Return-Path: {return_path}\r\nFrom: {reporter}\r\nTo: {ORDERS}\r\n"
            f"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: {message_id}\r\n"
            "MIME-Version: 1.0\r\n"
            f'Content-Type: multipart/report; report-type={report_type}; boundary="dsn"\r\n\r\n'
            "--dsn\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
            "--dsn\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n"
            f"Final-Recipient: rfc822; {to}\r\nAction: {action}\r\nStatus: {status}\r\n"
            f"Diagnostic-Code: {diagnostic}\r\n\r\n"
            "--dsn\r\nContent-Type: message/rfc822\r\n\r\n"
        ).encode()
        + original.as_bytes(policy=policy.SMTP)
        + b"\r\n--dsn--\r\n"
    )
    return message_id, raw


def one_line_order() -> EmailMessage:
    customer, _ = known_contact()
    product = next(p for p in catalog() if p.get("active", True))
    return order_email(customer, "Bestelling", f"Graag bestellen:\n\n3x {product['sku']}\n")


async def test_a_bounced_summary_goes_to_the_next_rep_who_can_approve_it(tmp_path, clock):
    async with Loop(tmp_path, clock, reps=[REP, REP2]) as loop:
        await loop.send(one_line_order())
        summary = (await loop.poll_until(loop.rep_mail))[0]
        bounce_id, bounce = dsn(summary)
        await loop.send_raw(bounce, sender="")  # a bounce travels with a null envelope sender
        await loop.poll_until(lambda: statuses(loop, [bounce_id]) == [EmailStatus.IGNORED])

        draft = loop.drafts()[0]
        assert draft.rep == REP2 and draft.status == DraftStatus.AWAITING_REVIEW
        assert [e.details["previous"] for e in loop.audit("reassigned")] == [REP]
        handed = [m for m in loop.mailbox(REP2, REP2) if str(m["Message-ID"]).startswith("<mo.summary.")]
        assert len(handed) == 1 and str(handed[0]["Subject"]) == str(summary["Subject"])
        assert len(loop.mailbox(REP)) == 1  # nothing more to the address that bounced
        assert (
            loop.mailbox("mailer-daemon@mx.example", "mailer-daemon@mx.example") == []
        )  # the bounce is never answered

        # the same bounce delivered again changes nothing
        await loop.send_raw(bounce.replace(bounce_id.encode(), b"<again@mx.example>"), sender="")
        await loop.poll_until(lambda: statuses(loop, ["<again@mx.example>"]) == [EmailStatus.IGNORED])
        assert (
            len([m for m in loop.mailbox(REP2, REP2) if str(m["Message-ID"]).startswith("<mo.summary.")]) == 1
        )

        assert getaddresses([str(handed[0]["Reply-To"])])[0][1].startswith("orders+")
        await loop.reply(handed[0], "APPROVE", sender=REP2)
        await loop.poll_until(lambda: loop.drafts()[0].status == DraftStatus.CONFIRMED)
        assert len(loop.erp_orders()) == 1


async def test_a_summary_no_rep_can_receive_is_audited_not_lost(tmp_path, clock):
    async with Loop(tmp_path, clock) as loop:
        await loop.send(one_line_order())
        summary = (await loop.poll_until(loop.rep_mail))[0]
        bounce_id, bounce = dsn(summary)
        await loop.send_raw(bounce, sender="")  # a bounce travels with a null envelope sender
        await loop.poll_until(lambda: statuses(loop, [bounce_id]) == [EmailStatus.IGNORED])
        [event] = loop.audit("summary_undeliverable")
        assert event.draft_id == loop.drafts()[0].id and event.details["reps"] == [REP]
        assert [e.action for e in loop.audit("summary_bounced")] == ["summary_bounced"]
        assert loop.drafts()[0].status == DraftStatus.AWAITING_REVIEW and loop.drafts()[0].rep == REP
        # the default rep is told, in a few lines, with a review address (STATUS re-sends the summary)
        [note] = loop.rep_mail("notice-undeliverable")
        assert "could not be delivered" in note.get_body(("plain",)).get_content()
        assert str(note["Reply-To"]).startswith("orders+")
        assert loop.audit("processing_error") == []


async def test_a_summary_the_server_refuses_at_data_is_handed_on_at_once(tmp_path, clock):
    """552 (too large) or 554 after DATA is permanent: no 12 retries; the rep hears of it."""
    async with Loop(tmp_path, clock) as loop:
        loop.mail.refuse_data_for = {REP}  # the server refuses mail to the rep after DATA: 552
        await loop.send(one_line_order())
        await loop.poll_until(lambda: loop.audit("summary_undeliverable"))
        [row] = [r for r in loop.outbox("summary")]
        assert (row.status, row.attempts) == ("failed", 1)
        assert "552" in loop.audit("summary_bounced")[0].details["reason"]


@pytest.mark.parametrize("reporter", ["MAILER-DAEMON@mx.example", "postmaster@mx.example"])
async def test_a_bounce_of_someone_elses_mail_changes_nothing(tmp_path, clock, reporter):
    foreign = EmailMessage()
    foreign["From"], foreign["To"], foreign["Subject"] = "someone@example.net", "x@y.example", "hello"
    foreign["Message-ID"] = "<not-ours@example.net>"
    foreign.set_content("hi")
    async with Loop(tmp_path, clock, reps=[REP, REP2]) as loop:
        bounce_id, bounce = dsn(foreign, reporter)
        await loop.send_raw(bounce, sender=reporter)
        await loop.poll_until(lambda: statuses(loop, [bounce_id]) == [EmailStatus.IGNORED])
        assert loop.audit("reassigned") == [] and loop.mailbox(REP) == [] and loop.mailbox(REP2, REP2) == []


# --- refused at once by the SMTP server (5xx at RCPT): handled like a bounce, without retries ----
ANNA = "anna.rep@example.com"  # the sample customer's assigned rep; no mailbox on the server below


async def test_a_summary_refused_for_an_unknown_rep_goes_at_once_to_the_next_rep(tmp_path, clock):
    async with Loop(tmp_path, clock, reps=[REP, ANNA]) as loop:
        loop.mail.auto_accounts = False  # the server refuses unknown recipients: 550 5.1.1
        await loop.send(one_line_order())
        summary = (await loop.poll_until(loop.rep_mail))[0]

        draft = loop.drafts()[0]
        assert draft.rep == REP and draft.status == DraftStatus.AWAITING_REVIEW
        refused = [row for row in loop.outbox("summary") if ANNA in row.recipients]
        assert [(row.status, row.attempts) for row in refused] == [("failed", 1)]  # not retried
        [bounced] = loop.audit("summary_bounced")
        assert bounced.details["how"] == "refused" and "550" in bounced.details["reason"]
        assert [(e.details["previous"], e.details["rep"]) for e in loop.audit("reassigned")] == [(ANNA, REP)]
        assert len(loop.rep_mail()) == 1
        await loop.runner.poll_once()  # a refused message is not tried again later
        assert [row.attempts for row in loop.outbox("summary") if ANNA in row.recipients] == [1]

        await loop.reply(summary, "APPROVE")
        await loop.poll_until(lambda: loop.drafts()[0].status == DraftStatus.CONFIRMED)
        assert len(loop.erp_orders()) == 1


async def test_a_confirmation_refused_for_the_customers_address_becomes_a_notice_to_the_rep(tmp_path, clock):
    customer, _ = known_contact()
    async with Loop(tmp_path, clock) as loop:
        loop.mail.auto_accounts = False  # the customer's address has no mailbox here
        await loop.send(one_line_order())
        summary = (await loop.poll_until(loop.rep_mail))[0]
        await loop.reply(summary, "APPROVE")
        await loop.poll_until(lambda: loop.rep_mail("notice-bounced"))
        assert loop.drafts()[0].status == DraftStatus.CONFIRMED and len(loop.erp_orders()) == 1
        [row] = loop.outbox("confirmation")
        assert (row.status, row.attempts) == ("failed", 1)
        notice = loop.rep_mail("notice-bounced")[0]
        assert customer in notice.get_body(("plain",)).get_content()
        assert [e.details["to"] for e in loop.audit("confirmation_bounced")] == [[customer]]


# --- believing strangers: only a real bounce of a message we sent to that address acts ------------
FORGERIES = {
    "forged_dsn_from_a_stranger": dict(reporter="evil@x.example", return_path="<evil@x.example>"),
    "read_receipt_of_the_rep": dict(report_type="disposition-notification", action="", status=""),
    "delayed_still_trying": dict(action="delayed", status="4.4.1"),
    "successful_delivery_report": dict(action="delivered", status="2.0.0"),
    "failure_for_another_address": dict(recipient="someone.else@example.com"),
}


@pytest.mark.parametrize("kind", list(FORGERIES))
async def test_reports_that_are_not_a_bounce_of_our_summary_change_nothing(tmp_path, clock, kind):
    async with Loop(tmp_path, clock, reps=[REP, REP2]) as loop:
        await loop.send(one_line_order())
        summary = (await loop.poll_until(loop.rep_mail))[0]
        report_id, report = dsn(summary, **FORGERIES[kind])
        await loop.send_raw(report, sender="evil@x.example")
        await loop.poll_until(lambda: statuses(loop, [report_id]) == [EmailStatus.IGNORED])
        assert loop.audit("reassigned") == [] and loop.audit("summary_bounced") == []
        assert loop.drafts()[0].rep == REP and loop.mailbox(REP2, REP2) == []
        assert [e.action for e in loop.audit("delivery_report_ignored")] == ["delivery_report_ignored"]

        await loop.send(one_line_order())  # the canary: the next order still gets its summary
        await loop.poll_until(lambda: len(loop.rep_mail()) == 2)


async def test_a_bounce_notice_never_repeats_the_reports_free_text(tmp_path, clock):
    customer, _ = known_contact()
    async with Loop(tmp_path, clock) as loop:
        await loop.send(one_line_order())
        summary = (await loop.poll_until(loop.rep_mail))[0]
        await loop.reply(summary, "APPROVE")
        await loop.poll_until(lambda: loop.drafts()[0].status == DraftStatus.CONFIRMED)
        confirmation = loop.mailbox(customer, customer)[0]
        lure = "smtp; 550 customer changed bank details, pay to IBAN NL00EVIL0123456789, http://evil.example/login"
        _, bounce = dsn(confirmation, diagnostic=lure)
        await loop.send_raw(bounce, sender="")
        await loop.poll_until(lambda: loop.rep_mail("notice-bounced"))
        notice = loop.rep_mail("notice-bounced")[0]
        text = notice.get_body(("plain",)).get_content() + notice.get_body(("html",)).get_content()
        assert customer in text and "5.1.1" in text
        assert "IBAN" not in text and "evil.example" not in text
