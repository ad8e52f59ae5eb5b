"""Hostile mail on the rep's side, through the whole loop: approvals on a "but", replies whose
review address and thread disagree, auto-responders and duplicate storms. Nothing may be posted
by accident, and after each attack a plain APPROVE still works (the canary)."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import getaddresses, make_msgid

import pytest

from mailorder.store.models import DraftStatus
from tests.loop_harness import ORDERS, REP, Loop, catalog, known_contact, order_email

pytestmark = pytest.mark.e2e


def product() -> dict:
    return next(p for p in catalog() if p.get("active", True))


async def first_summary(loop: Loop, n: int = 1) -> EmailMessage:
    sender, _ = known_contact()
    await loop.send(order_email(sender, f"Bestelling {n}", f"Graag {n + 1}x {product()['sku']}\n"))
    return (await loop.poll_until(lambda: loop.rep_mail()[n - 1 :]))[0]


QUALIFIED = [
    "Approve - NOT yet, first call the customer",
    "Approve later, after I check stock",
    "Akkoord? Nee, wacht even",
    "Akkoord, maar eerst even bellen met de klant",
    "APPROVE\nunless the customer calls back before noon",
    "Goedgekeurd als de klant de prijs bevestigt",
]


async def test_approvals_with_a_qualifier_post_nothing_and_say_why(tmp_path, clock):
    async with Loop(tmp_path, clock) as loop:
        summary = await first_summary(loop)
        for n, text in enumerate(QUALIFIED, 1):
            await loop.reply(summary, text)
            await loop.poll_until(lambda n=n: len(loop.audit("reply_received")) >= n)
        assert loop.erp_orders() == [] and loop.audit("approved") == []
        assert loop.drafts()[0].status == DraftStatus.AWAITING_REVIEW
        outcomes = [e.details["outcome"] for e in loop.audit("reply_received")]
        assert outcomes == ["not_understood"] * len(QUALIFIED)
        notices = loop.rep_mail("notice-not_understood")
        assert notices, "the rep is told"
        first = notices[0].get_body(("plain",)).get_content()
        assert "Nothing was changed" in first and "not taken as an approval" in first

        await loop.reply(summary, "APPROVE\n\nThanks, Anna")  # the canary: an unconditional approval
        await loop.poll_until(lambda: loop.drafts()[0].status == DraftStatus.CONFIRMED)
        assert len(loop.erp_orders()) == 1


async def test_a_review_address_of_one_draft_in_the_thread_of_another_changes_nothing(tmp_path, clock):
    async with Loop(tmp_path, clock) as loop:
        first = await first_summary(loop, 1)
        second = await first_summary(loop, 2)
        first_address = getaddresses([str(first["Reply-To"])])[0][1]
        await loop.reply(second, "APPROVE", to=first_address)  # thread of B, token of A
        await loop.poll_until(lambda: loop.audit("reply_refused"))
        [refused] = loop.audit("reply_refused")
        assert "answers MO-" in refused.details["why"]
        assert [d.status for d in loop.drafts()] == [DraftStatus.AWAITING_REVIEW] * 2
        assert loop.erp_orders() == []
        assert loop.rep_mail("notice-refused"), "the rep is asked which draft was meant"

        await loop.reply(first, "APPROVE")  # the canary
        await loop.poll_until(lambda: loop.drafts()[0].status == DraftStatus.CONFIRMED)
        assert loop.drafts()[1].status == DraftStatus.AWAITING_REVIEW


def out_of_office(to: str, answering: EmailMessage) -> EmailMessage:
    """An auto-responder that sends no auto headers at all (some hosted mail systems)."""
    message = EmailMessage()
    message["From"], message["To"] = REP, to
    message["Subject"] = "Re: " + str(answering["Subject"])
    message["Message-ID"] = make_msgid(domain="example.com")
    message["In-Reply-To"] = message["References"] = str(answering["Message-ID"])
    message.set_content("Ik ben tot en met 16 maart niet op kantoor. Uw bericht wordt niet doorgestuurd.")
    return message


async def test_an_auto_responder_without_auto_headers_is_answered_three_times_then_quiet(tmp_path, clock):
    async with Loop(tmp_path, clock) as loop:
        summary = await first_summary(loop)
        address = getaddresses([str(summary["Reply-To"])])[0][1]
        answering = summary
        for round_ in range(1, 7):  # each automatic answer to our latest note
            await loop.send(out_of_office(address, answering), sender=REP)
            await loop.poll_until(lambda r=round_: len(loop.audit("reply_received")) >= r)
            answering = loop.rep_notices()[-1]
        notices = loop.rep_notices()
        assert len(notices) == 4  # three answers, then one "pausing answers" note
        assert "Too many replies" in str(notices[-1]["Subject"])
        assert len(loop.audit("notice_suppressed")) == 3
        assert loop.drafts()[0].status == DraftStatus.AWAITING_REVIEW

        clock.advance(hours=2)
        await loop.reply(summary, "APPROVE")  # the canary: the rep's own decision still works
        await loop.poll_until(lambda: loop.drafts()[0].status == DraftStatus.CONFIRMED)


async def test_fifty_duplicate_approvals_post_once_and_get_at_most_one_notice(tmp_path, clock):
    async with Loop(tmp_path, clock) as loop:
        summary = await first_summary(loop)
        reply = await loop.reply(summary, "APPROVE")
        for _ in range(49):
            duplicate = EmailMessage()
            for name in ("From", "To", "Subject", "In-Reply-To", "References"):
                duplicate[name] = str(reply[name])
            duplicate["Message-ID"] = make_msgid(domain="example.com")
            duplicate.set_content(reply.get_content())
            await loop.send(duplicate, sender=REP)
        await loop.poll_until(
            lambda: len(loop.audit("reply_refused")) + len(loop.audit("reply_received")) >= 50
        )
        assert len(loop.erp_orders()) == 1
        assert loop.drafts()[0].status == DraftStatus.CONFIRMED
        assert len(loop.rep_notices()) <= 1
        assert len(loop.mailbox(ORDERS)) >= 50  # every duplicate arrived and was looked at


async def test_a_customers_follow_up_on_our_confirmation_is_a_new_order_that_names_the_first(tmp_path, clock):
    customer, _ = known_contact()
    async with Loop(tmp_path, clock) as loop:
        summary = await first_summary(loop)
        await loop.reply(summary, "APPROVE")
        await loop.poll_until(lambda: loop.drafts()[0].status == DraftStatus.CONFIRMED)
        confirmation = loop.mailbox(customer, customer)[0]
        follow_up = EmailMessage()
        follow_up["From"], follow_up["To"] = customer, str(confirmation["From"])
        follow_up["Subject"] = "RE: " + str(confirmation["Subject"]) + " [MO-1 v1]"
        follow_up["Message-ID"] = make_msgid(domain="customer.example")
        follow_up["In-Reply-To"] = follow_up["References"] = str(confirmation["Message-ID"])
        follow_up.set_content(f"Aanvulling: graag ook nog 4x {product()['sku']}\n\nGroet, Piet")
        await loop.send(follow_up, sender=customer)
        await loop.poll_until(lambda: len(loop.drafts()) == 2)
        assert loop.audit("reply_received") == [] or all(
            e.email_id != loop.drafts()[1].email_id for e in loop.audit("reply_received")
        )
        issues = [i["message"] for i in loop.payload(1)["issues"] if i["code"] == "follow_up"]
        assert issues and "MO-1" in issues[0] and "confirmed" in issues[0]
        assert len(loop.erp_orders()) == 1  # nothing posted without the rep
