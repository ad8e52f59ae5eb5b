"""Earned autonomy through the real loop, the clock passed in: a routine order announces its
automatic post and posts when the window passes; HOLD stops it; an unknown product never posts by
itself; with the policy off nothing posts without APPROVE."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from mailorder.store.models import DraftStatus
from tests.loop_harness import Loop, catalog, known_contact, order_email

pytestmark = pytest.mark.e2e
AMS = ZoneInfo("Europe/Amsterdam")
ON = dict(autopost="on", autopost_customers=["*"], autopost_min_history=0, autopost_window_seconds=15)


def products() -> list[dict]:
    return [p for p in catalog() if p.get("active", True)]


def line(n: int, qty: int) -> str:
    """An order line nobody can misread: quantity, the product's own unit, its article code."""
    product = products()[n]
    return f"{qty} {product['base_unit']} {product['sku']}"


async def test_a_routine_order_posts_itself_when_the_window_passes(tmp_path, clock):
    sender, _ = known_contact()
    sku = products()[0]["sku"]
    async with Loop(tmp_path, clock, **ON) as loop:
        await loop.send(
            order_email(sender, "Bestelling", f"Goedemorgen,\n\nGraag {line(0, 2)}\n\nGroet, Piet")
        )
        summary = (await loop.poll_until(loop.rep_mail))[0]
        plain = summary.get_body(("plain",)).get_content()
        assert "POSTS AUTOMATICALLY at" in plain and "HOLD" in plain
        assert "POSTS AUTOMATICALLY" in summary.get_body(("html",)).get_content()
        [scheduled] = loop.audit("autopost_scheduled")
        assert scheduled.details["reasons"] and scheduled.details["policy"]["min_history"] == 0

        await loop.runner.poll_once()
        assert loop.erp_orders() == []  # still inside the window
        clock.advance(seconds=16)
        await loop.poll_until(lambda: loop.drafts()[0].status == DraftStatus.CONFIRMED)
        [order] = loop.erp_orders()
        assert [(ln["sku"], ln["quantity"]) for ln in order["products"]] == [(sku, 2)]
        [posted] = loop.audit("auto_posted")
        assert posted.actor == "autopost" and posted.details["reasons"] == scheduled.details["reasons"]
        assert loop.mailbox(sender, sender), "the customer got a confirmation"
        for _ in range(2):  # later polls never post twice
            await loop.runner.poll_once()
        assert len(loop.erp_orders()) == 1
        from mailorder.store.stats import compute_stats

        with loop.sessions() as session:
            figures = compute_stats(session)
        assert figures["auto_posted"] == 1 and figures["autopost_rate"] == 1.0

        from mailorder.agent.outgoing.followups import send_digests

        clock.now = datetime(2026, 3, 3, 8, 5, tzinfo=AMS).astimezone(UTC)  # Tuesday's digest
        await send_digests(loop.runner.services)
        digest = loop.rep_mail("digest")[0].get_body(("plain",)).get_content()
        assert "Posted automatically since the last digest (1)" in digest and "[MO-1 v1]" in digest


async def test_at_night_the_window_waits_for_working_hours_unless_they_are_round_the_clock(tmp_path, clock):
    sender, _ = known_contact()
    clock.now = datetime(2026, 3, 7, 3, 0, tzinfo=AMS).astimezone(UTC)  # Saturday night
    (tmp_path / "office").mkdir(), (tmp_path / "always").mkdir()
    async with Loop(tmp_path / "office", clock, **ON) as loop:
        await loop.send(order_email(sender, "Bestelling", f"Graag {line(0, 2)}"))
        await loop.poll_until(loop.rep_mail)
        clock.advance(minutes=5)
        await loop.runner.poll_once()
        assert loop.erp_orders() == [], "nobody reads mail on Saturday night: the window waits"
        [scheduled] = loop.audit("autopost_scheduled")
        assert scheduled.details["due_at"].startswith("2026-03-09T07:00:15")  # Monday 08:00:15 local
    always = dict(ON, work_days="mon-sun", work_start_hour=0, work_end_hour=24)
    async with Loop(tmp_path / "always", clock, **always) as loop:
        await loop.send(order_email(sender, "Bestelling", f"Graag {line(0, 2)}"))
        await loop.poll_until(loop.rep_mail)
        clock.advance(seconds=16)
        await loop.poll_until(lambda: loop.drafts()[0].status == DraftStatus.CONFIRMED)
        assert len(loop.erp_orders()) == 1


async def test_hold_inside_the_window_stops_it_and_approve_still_posts(tmp_path, clock):
    sender, _ = known_contact()
    async with Loop(tmp_path, clock, **ON) as loop:
        await loop.send(order_email(sender, "Bestelling", f"Graag {line(1, 3)}"))
        summary = (await loop.poll_until(loop.rep_mail))[0]
        clock.advance(seconds=14)  # the last second of the window
        await loop.reply(summary, "HOLD")
        await loop.poll_until(lambda: loop.audit("autopost_held"))
        clock.advance(seconds=60)
        for _ in range(2):
            await loop.runner.poll_once()
        assert loop.erp_orders() == [] and loop.drafts()[0].status == DraftStatus.AWAITING_REVIEW
        await loop.reply(summary, "APPROVE")  # a normal review follows
        await loop.poll_until(lambda: loop.drafts()[0].status == DraftStatus.CONFIRMED)
        assert loop.audit("auto_posted") == [] and len(loop.audit("approved")) == 1


async def test_an_unknown_product_or_an_edit_never_posts_by_itself(tmp_path, clock):
    sender, _ = known_contact()
    async with Loop(tmp_path, clock, **ON) as loop:
        await loop.send(
            order_email(sender, "Bestelling", "Graag 4 rollen van die blauwe folie van vorige maand")
        )
        await loop.poll_until(loop.rep_mail)
        [declined] = loop.audit("autopost_declined")
        assert declined.details["failures"]
        await loop.send(order_email(sender, "Bestelling 2", f"Graag {line(2, 2)}"))
        second = (await loop.poll_until(lambda: loop.rep_mail()[1:]))[0]
        assert loop.audit("autopost_scheduled"), "the second order qualifies"
        await loop.reply(second, "line 1 qty 5")  # an edit inside the window: v2 waits for a review
        await loop.poll_until(lambda: len(loop.rep_mail()) == 3)
        clock.advance(seconds=60)
        for _ in range(2):
            await loop.runner.poll_once()
        assert loop.erp_orders() == [] and loop.audit("auto_posted") == []


async def test_with_the_policy_off_nothing_posts_without_approve(tmp_path, clock):
    sender, _ = known_contact()
    async with Loop(tmp_path, clock) as loop:
        await loop.send(order_email(sender, "Bestelling", f"Graag {line(0, 2)}"))
        summary = (await loop.poll_until(loop.rep_mail))[0]
        assert "AUTOMATICALLY" not in summary.get_body(("plain",)).get_content()
        clock.advance(hours=48)
        for _ in range(2):
            await loop.runner.poll_once()
        assert loop.erp_orders() == [] and loop.audit("autopost_scheduled") == []


def test_admins_switch_customers_on_and_off_and_it_is_audited(tmp_path):
    from typer.testing import CliRunner

    from mailorder.agent.cli import app
    from mailorder.store.db import make_engine, make_session_factory

    url = f"sqlite:///{tmp_path / 'store.db'}"
    sessions = make_session_factory(make_engine(url))
    runner, env = CliRunner(), {"MAILORDER_DATABASE_URL": url, "MAILORDER_AUTOPOST": "on"}
    assert runner.invoke(app, ["autopost", "enable", "comp-004", "--by", "anna"], env=env).exit_code == 0
    assert runner.invoke(app, ["autopost", "disable", "COMP-009", "--by", "anna"], env=env).exit_code == 0
    status = runner.invoke(app, ["autopost", "status"], env=env)
    assert status.exit_code == 0 and "COMP-004" in status.output and "COMP-009" in status.output
    from mailorder.store import autopost as plans
    from mailorder.store.models import AuditEvent

    with sessions() as session:
        assert plans.customer_switches(session) == {"COMP-004": True, "COMP-009": False}
        actions = [(e.actor, e.action) for e in session.query(AuditEvent)]
    assert actions == [("anna", "autopost_enabled"), ("anna", "autopost_disabled")]


async def test_a_restart_inside_the_window_loses_nothing_and_posts_once(tmp_path, clock):
    sender, _ = known_contact()
    async with Loop(tmp_path, clock, **ON) as loop:
        await loop.send(order_email(sender, "Bestelling", f"Graag {line(3, 1)}"))
        await loop.poll_until(loop.rep_mail)
        await loop.stop_agent()  # the worker goes down inside the window
        clock.advance(minutes=5)
        await loop.start_agent()
        await loop.poll_until(lambda: loop.drafts()[0].status == DraftStatus.CONFIRMED)
        await loop.stop_agent()
        await loop.start_agent()
        for _ in range(2):
            await loop.runner.poll_once()
        assert len(loop.erp_orders()) == 1 and len(loop.audit("auto_posted")) == 1


async def test_two_workers_at_the_deadline_post_once(tmp_path, clock):
    from contextlib import AsyncExitStack

    from mailorder.agent.service import open_runner

    sender, _ = known_contact()
    async with Loop(tmp_path, clock, **ON) as loop, AsyncExitStack() as stack:
        other = await stack.enter_async_context(open_runner(loop.settings, clock=clock))
        await loop.send(order_email(sender, "Bestelling", f"Graag {line(4, 2)}"))
        await loop.poll_until(loop.rep_mail)
        clock.advance(seconds=16)
        await asyncio.gather(loop.runner.poll_once(), other.poll_once(), loop.runner.poll_once())
        await loop.poll_until(lambda: loop.drafts()[0].status == DraftStatus.CONFIRMED)
        assert len(loop.erp_orders()) == 1 and len(loop.audit("auto_posted")) == 1
        assert len(loop.mailbox(sender, sender)) == 1, "one confirmation"


async def test_an_edit_racing_the_timer_either_wins_or_is_told_the_order_posted(tmp_path, clock):
    sender, _ = known_contact()
    async with Loop(tmp_path, clock, **ON) as loop:
        await loop.send(order_email(sender, "Bestelling", f"Graag {line(5, 2)}"))
        summary = (await loop.poll_until(loop.rep_mail))[0]
        await loop.reply(summary, "line 1 qty 7")  # in the inbox as the window closes
        clock.advance(seconds=16)
        await loop.poll_until(lambda: loop.audit("edited") or loop.audit("autopost_corrected"))
        for _ in range(2):
            await loop.runner.poll_once()
        posted, edited = loop.erp_orders(), loop.audit("edited")
        if edited:  # the edit came first: v2 waits for a review, nothing posted
            assert posted == [] and loop.audit("auto_posted") == [] and loop.drafts()[0].version == 2
        else:  # the timer came first: one order, and the rep is told why the edit changed nothing
            assert len(posted) == 1 and len(loop.audit("autopost_corrected")) == 1
            notice = loop.rep_notices()[-1].get_body(("plain",)).get_content()
            assert "posted automatically" in notice


async def test_an_auto_posted_order_the_rep_rejects_costs_the_customer_its_autonomy(tmp_path, clock):
    sender, _ = known_contact()
    async with Loop(tmp_path, clock, **ON) as loop:
        await loop.send(order_email(sender, "Bestelling", f"Graag {line(6, 2)}"))
        summary = (await loop.poll_until(loop.rep_mail))[0]
        clock.advance(seconds=16)
        await loop.poll_until(lambda: loop.drafts()[0].status == DraftStatus.CONFIRMED)
        await loop.reply(summary, "REJECT wrong colour")  # too late to stop it: counted
        await loop.poll_until(lambda: loop.audit("autopost_corrected"))
        notice = loop.rep_notices()[-1].get_body(("plain",)).get_content()
        assert "posted automatically" in notice and "correct the order in the ERP" in notice
        assert len(loop.erp_orders()) == 1 and loop.drafts()[0].status == DraftStatus.CONFIRMED

        await loop.send(order_email(sender, "Bestelling 2", f"Graag {line(6, 2)}"))
        await loop.poll_until(lambda: loop.rep_mail()[1:])
        [declined] = loop.audit("autopost_declined")
        assert any("corrected or held" in f for f in declined.details["failures"])
        from mailorder.store.stats import compute_stats

        with loop.sessions() as session:
            assert compute_stats(session)["autopost_corrected"] == 1
        from mailorder.agent.monitoring.metrics import StoreCollector

        families = {f.name: f for f in StoreCollector(loop.runner.services.sessions).collect()}
        samples = {s.labels["status"]: s.value for s in families["mailorder_autopost_plans"].samples}
        assert samples["corrected"] == 1 and samples["posted"] == 0
