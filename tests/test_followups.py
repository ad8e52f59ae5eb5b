"""Reminders and the morning digest, driven by a fake clock against the real loop."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from mailorder.agent.outgoing.followups import send_digests, send_due_reminders
from tests.loop_harness import Loop, catalog, known_contact, order_email

AMS = ZoneInfo("Europe/Amsterdam")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=AMS)


@pytest.mark.e2e
async def test_one_reminder_after_four_working_hours_and_one_digest_a_day(tmp_path, clock):
    clock.now = at("2026-03-02 10:00").astimezone(UTC)  # Monday
    sender, _ = known_contact()
    product = next(p for p in catalog() if p.get("active", True))
    async with Loop(tmp_path, clock) as loop:
        await loop.send(order_email(sender, "order", f"Graag 2x {product['sku']}\n"))
        await loop.poll_until(loop.rep_mail)
        services = loop.runner.services
        clock.advance(hours=3)
        assert await send_due_reminders(services) == 0
        clock.advance(hours=1, minutes=5)
        assert await send_due_reminders(services) == 1
        await send_due_reminders(services)  # later runs never remind twice for one version
        reminders = loop.rep_mail("notice-reminder")
        assert len(reminders) == 1 and str(reminders[0]["Reply-To"]).startswith("orders+")
        assert len(loop.audit("reminder_sent")) == 1

        clock.now = at("2026-03-03 07:30").astimezone(UTC)
        assert await send_digests(services) == 0  # before the digest hour
        clock.now = at("2026-03-03 08:05").astimezone(UTC)
        await send_digests(services)
        clock.advance(minutes=30)
        await send_digests(services)  # the same day: no second digest
        digests = loop.rep_mail("digest")
        assert len(digests) == 1 and "[MO-1 v1]" in digests[0].get_body(("plain",)).get_content()


@pytest.mark.e2e
async def test_emails_that_failed_reach_the_default_reps_digest_without_their_words(tmp_path, clock):
    """No email fails silently: the morning digest names each failed email's sender and our reason,
    even when the rep has no open draft; the email's own subject and text stay out of our mail."""
    clock.now = at("2026-03-02 10:00").astimezone(UTC)  # Monday
    async with Loop(tmp_path, clock) as loop:
        await loop.send_raw(
            b"Subject: pay to IBAN NL00EVIL0123456789\r\nContent-Type: text/plain\r\n\r\nno sender at all\r\n"
        )
        await loop.poll_until(lambda: [e for e in loop.emails() if e.status == "failed"])
        clock.now = at("2026-03-03 08:05").astimezone(UTC)
        assert await send_digests(loop.runner.services) == 1
        [digest] = loop.rep_mail("digest")
        text = digest.get_body(("plain",)).get_content() + digest.get_body(("html",)).get_content()
        assert "mailorder/failed" in text and "no sender address" in text
        assert "IBAN" not in text and "no sender at all" not in text
