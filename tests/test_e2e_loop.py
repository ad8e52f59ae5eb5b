"""End to end over real SMTP/IMAP (dev mail server), HTTP (mock ERP), SQLite and the checkpointer."""

from __future__ import annotations

import asyncio

import pytest

from mailorder.store.models import DraftStatus, EmailStatus
from tests.loop_harness import ORDERS, Loop, catalog, known_contact, order_email

pytestmark = pytest.mark.e2e


def two_lines() -> tuple[list[dict], str]:
    products = [p for p in catalog() if p.get("active", True)]
    first, second = products[0], products[len(products) // 2]
    body = (
        f"Goedemorgen,\n\nGraag bestellen:\n\n3x {first['sku']}\n{second['sku']} 2 {second['base_unit']}\n\n"
        "Met vriendelijke groet,\nJan\n"
    )
    return [first, second], body


async def test_order_travels_the_whole_loop(tmp_path, clock):
    sender, company = known_contact()
    products, body = two_lines()
    async with Loop(tmp_path, clock) as loop:
        original = order_email(sender, "Bestelling week 10", body)
        await loop.send(original)
        summaries = await loop.poll_until(loop.rep_mail)
        summary = summaries[0]
        draft = loop.drafts()[0]
        assert str(summary["Subject"]).startswith(f"[MO-{draft.id} v1] ")
        assert "Bestelling week 10" in str(summary["Subject"])
        assert str(summary["Reply-To"]).startswith("orders+")
        assert str(summary["In-Reply-To"]) == str(original["Message-ID"])
        assert summary.get_body(("html",)) is not None and summary.get_body(("plain",)) is not None
        plain = summary.get_body(("plain",)).get_content()
        for product in products:
            assert product["sku"] in plain
        assert "rules, no AI model configured" in plain
        assert draft.customer_id == company

        await loop.reply(summary, "APPROVE")
        await loop.poll_until(lambda: loop.drafts()[0].status == DraftStatus.CONFIRMED)

        orders = loop.erp_orders()
        assert len(orders) == 1
        assert sorted(ln["sku"] for ln in orders[0]["products"]) == sorted(p["sku"] for p in products)
        draft = loop.drafts()[0]
        assert draft.erp_order_id == orders[0]["order_id"]
        confirmations = [
            m for m in loop.mailbox(sender, sender) if str(m["In-Reply-To"]) == str(original["Message-ID"])
        ]
        assert len(confirmations) == 1
        assert draft.erp_order_id in confirmations[0].get_body(("plain",)).get_content()
        actions = [e.action for e in loop.audit()]
        for step in (
            "ingested",
            "triaged",
            "drafted",
            "summary_sent",
            "reply_received",
            "approved",
            "posted",
            "confirmation_sent",
            "confirmed",
        ):
            assert step in actions, step


async def test_reject_closes_the_draft_with_the_reason(tmp_path, clock):
    sender, _ = known_contact()
    _, body = two_lines()
    async with Loop(tmp_path, clock) as loop:
        await loop.send(order_email(sender, "order", body))
        summary = (await loop.poll_until(loop.rep_mail))[0]
        await loop.reply(summary, "REJECT customer asked to hold this order")
        await loop.poll_until(lambda: loop.drafts()[0].status == DraftStatus.REJECTED)
        draft = loop.drafts()[0]
        assert draft.decision_note == "customer asked to hold this order"
        assert loop.erp_orders() == []
        assert [m for m in loop.mailbox(sender, sender)] == []


async def test_reply_from_a_non_rep_changes_nothing(tmp_path, clock):
    sender, _ = known_contact()
    _, body = two_lines()
    async with Loop(tmp_path, clock) as loop:
        await loop.send(order_email(sender, "order", body))
        summary = (await loop.poll_until(loop.rep_mail))[0]
        reply = await loop.reply(summary, "APPROVE", sender="mallory@attacker.example")
        mallory = str(reply["Message-ID"])
        await loop.poll_until(
            lambda: [e for e in loop.emails() if e.message_id == mallory and e.status != "received"]
        )
        # only an allowed rep's mail can be a review: anyone else's is customer mail, triaged like any
        [record] = [e for e in loop.emails() if e.message_id == mallory]
        assert record.status in ("not_order", "drafted") and loop.audit("reply_refused") == []
        assert loop.drafts()[0].status == DraftStatus.AWAITING_REVIEW
        assert loop.erp_orders() == [] and loop.audit("approved") == []
        assert loop.mailbox("mallory@attacker.example", "mallory@attacker.example") == []


async def test_approve_inside_the_quote_does_not_count(tmp_path, clock):
    sender, _ = known_contact()
    _, body = two_lines()
    async with Loop(tmp_path, clock) as loop:
        await loop.send(order_email(sender, "order", body))
        summary = (await loop.poll_until(loop.rep_mail))[0]
        await loop.reply(summary, "thanks, will look at it later")  # the quoted summary says APPROVE
        await loop.poll_until(lambda: loop.audit("reply_received"))
        assert loop.drafts()[0].status == DraftStatus.AWAITING_REVIEW
        assert loop.erp_orders() == []


async def test_same_message_delivered_twice_gives_one_draft(tmp_path, clock):
    sender, _ = known_contact()
    _, body = two_lines()
    async with Loop(tmp_path, clock) as loop:
        message = order_email(sender, "order", body, message_id="<dup-1@customer.example>")
        await loop.send(message)
        await loop.send(message)
        await loop.poll_until(lambda: len(loop.emails()) == 1 and loop.audit("duplicate_ignored"))
        assert len(loop.drafts()) == 1
        assert len(loop.rep_mail()) == 1


async def test_restart_between_summary_and_reply_resumes_the_thread(tmp_path, clock):
    sender, _ = known_contact()
    _, body = two_lines()
    async with Loop(tmp_path, clock) as loop:
        await loop.send(order_email(sender, "first", body))
        await loop.send(order_email(sender, "second", body))
        await loop.poll_until(lambda: len(loop.rep_mail()) == 2)
        await loop.stop_agent()
        await loop.start_agent()
        second = next(m for m in loop.rep_mail() if "second" in str(m["Subject"]))
        await loop.reply(second, "APPROVE")
        await loop.poll_until(lambda: any(d.status == DraftStatus.CONFIRMED for d in loop.drafts()))
        by_subject = {d.id: d for d in loop.drafts()}
        confirmed = [d for d in by_subject.values() if d.status == DraftStatus.CONFIRMED]
        assert len(confirmed) == 1 and f"[MO-{confirmed[0].id} " in str(second["Subject"])
        assert len(loop.erp_orders()) == 1


async def test_erp_500_twice_then_200_gives_exactly_one_order(tmp_path, clock):
    sender, _ = known_contact()
    _, body = two_lines()
    async with Loop(tmp_path, clock) as loop:
        await loop.send(order_email(sender, "order", body))
        summary = (await loop.poll_until(loop.rep_mail))[0]
        loop.set_erp_faults(fail_next=2)
        await loop.reply(summary, "APPROVE")
        await loop.poll_until(lambda: loop.drafts()[0].status == DraftStatus.CONFIRMED)
        assert len(loop.erp_orders()) == 1


async def test_unknown_sender_gets_a_draft_that_asks_for_the_customer(tmp_path, clock):
    _, body = two_lines()
    async with Loop(tmp_path, clock) as loop:
        await loop.send(order_email("stranger@unknown-shop.example", "order", body))
        summary = (await loop.poll_until(loop.rep_mail))[0]
        draft = loop.drafts()[0]
        assert draft.customer_id is None
        assert "Unknown customer" in str(summary["Subject"])
        await loop.reply(summary, "APPROVE")
        await loop.poll_until(lambda: loop.audit("reply_refused"))
        assert loop.drafts()[0].status == DraftStatus.AWAITING_REVIEW
        assert loop.erp_orders() == []


async def test_bad_input_never_crashes_the_poller(tmp_path, clock):
    sender, _ = known_contact()
    _, body = two_lines()
    async with Loop(tmp_path, clock, max_message_bytes=512 * 1024) as loop:
        await loop.send_raw(b"this is not a mime message at all \xff\xfe")
        await loop.send_raw(
            b"From: a@customer.example\r\nSubject: truncated\r\nContent-Type: multipart/mixed; "
            b"boundary=XYZ\r\n\r\n--XYZ\r\nContent-Type: text/plain\r\n\r\n3x 06-"
        )
        await loop.send_raw(
            b"From: b@customer.example\r\nSubject: only an attachment\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n"
        )
        await loop.send_raw(
            "From: c@customer.example\r\nSubject: charset\r\nContent-Type: text/plain; "
            "charset=klingon-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nBestelling: 2 rollen wit "
            "\u00e9\u00e8\r\n".encode("latin-1")
        )
        await loop.send_raw(
            b"From: d@customer.example\r\nSubject: huge\r\nContent-Type: text/plain\r\n\r\n"
            + b"x" * (700 * 1024)
            + b"\r\n"
        )
        await loop.send(order_email(sender, "a normal order after the junk", body))
        await loop.poll_until(
            lambda: len(loop.emails()) == 6 and all(e.status != EmailStatus.RECEIVED for e in loop.emails())
        )
        statuses = {e.subject: e.status for e in loop.emails()}
        assert statuses["huge"] == EmailStatus.FAILED
        assert statuses["a normal order after the junk"] == EmailStatus.DRAFTED
        inbox_subjects = {str(m["Subject"]) for m in loop.mailbox(ORDERS)}
        assert "huge" not in inbox_subjects
        failed_subjects = {str(m["Subject"]) for m in loop.mailbox(ORDERS, folder="mailorder/failed")}
        assert "huge" in failed_subjects
        assert {e.action for e in loop.audit()} >= {"ingested", "failed"}
        assert statuses[""] == EmailStatus.FAILED  # the non-MIME bytes: no sender, no subject
        assert all(
            status in (EmailStatus.FAILED, EmailStatus.DRAFTED, EmailStatus.NOT_ORDER, EmailStatus.IGNORED)
            for status in statuses.values()
        )
        assert not loop.audit("processing_error")


async def wait_for_inbox(loop: Loop, count: int, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while len(loop.mailbox(ORDERS)) < count:
        assert asyncio.get_running_loop().time() < deadline, "mail not delivered"
        await asyncio.sleep(0.05)


async def test_one_poll_drains_a_backlog_larger_than_a_fetch_batch(tmp_path, clock, monkeypatch):
    """Fetching overlaps processing: every batch is stored and drafted in the same poll, each email
    once, and a rep's reply fetched in a later batch than new orders still finds its draft."""
    from mailorder.agent.inbox import ingest

    monkeypatch.setattr(ingest, "FETCH_BATCH", 2)
    sender, _ = known_contact()
    _, body = two_lines()
    async with Loop(tmp_path, clock) as loop:
        for number in range(5):
            await loop.send(order_email(sender, f"Bestelling {number}", body))
        await wait_for_inbox(loop, 5)
        report = await loop.runner.poll_once()
        assert (report.fetched, report.stored, report.errors) == (5, 5, [])
        assert len(loop.drafts()) == 5 and len(loop.rep_mail()) == 5
        assert sorted(d.email_id for d in loop.drafts()) == sorted(e.id for e in loop.emails())

        first = sorted(loop.rep_mail(), key=lambda m: str(m["Subject"]))[0]
        await loop.reply(first, "APPROVE")
        for number in range(5, 8):
            await loop.send(order_email(sender, f"Bestelling {number}", body))
        await wait_for_inbox(loop, 9)
        report = await loop.runner.poll_once()
        assert (report.fetched, report.stored, report.errors) == (4, 4, [])
        assert len(loop.drafts()) == 8
        assert [d.status for d in loop.drafts()].count(DraftStatus.CONFIRMED) == 1
        assert len(loop.erp_orders()) == 1


async def test_a_worker_renews_its_claim_while_a_slow_step_runs(tmp_path, clock):
    """A step longer than the claim timeout (slow ERP or model) is not mistaken for a crash:
    the heartbeat keeps the claim fresh, so another machine's worker cannot take the email."""
    from mailorder.agent.inbox import claims
    from mailorder.store import repo

    sender, _ = known_contact()
    _, body = two_lines()
    async with Loop(tmp_path, clock) as loop:
        loop.runner.claims.heartbeat_seconds = 0.02
        loop.set_erp_faults(latency_ms=1500)
        await loop.send(order_email(sender, "Bestelling", body))
        await wait_for_inbox(loop, 1)
        poll = asyncio.create_task(loop.runner.poll_once())

        def claimed_at():
            emails = loop.emails()
            return emails[0].claimed_at if emails else None

        deadline = asyncio.get_running_loop().time() + 10
        while claimed_at() is None:
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.01)
        clock.advance(minutes=11)  # the first claim is now older than the claim timeout
        while (at := claimed_at()) is None or at.replace(tzinfo=None) < clock().replace(tzinfo=None):
            assert at is not None and not poll.done(), "the step finished before its claim was renewed"
            assert asyncio.get_running_loop().time() < deadline, "claim never renewed"
            await asyncio.sleep(0.01)
        assert not poll.done()
        other = "another-host:1:abc"
        with loop.runner.services.sessions.begin() as session:
            taken = repo.claim_email(
                session, loop.emails()[0].id, other, clock(), stale_before=clock() - claims.CLAIM_TIMEOUT
            )
        assert not taken
        report = await poll
        assert report.errors == [] and len(loop.drafts()) == 1
        assert loop.emails()[0].claimed_by is None  # released when done
