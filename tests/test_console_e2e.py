"""The console on the real loop (dev mail server, mock ERP over uvicorn, the agent): a rep reviews
from the console with the same state machine as by email, and a console decision and an email
decision of one version never both apply."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from mailorder.agent.console.app import create_app
from mailorder.agent.console.state import existing_runner
from mailorder.agent.review import console_actions
from mailorder.store import repo
from mailorder.store.models import DraftStatus, ReplyRecord
from tests.console_helpers import add_user, csrf_of, signed_in
from tests.loop_harness import Loop, catalog, known_contact, order_email

pytestmark = pytest.mark.e2e
HOSTILE_SUBJECT = "<script>alert(1)</script> Bestelling"


def product() -> dict:
    return next(p for p in catalog() if p.get("active", True))


def console_for(loop: Loop):
    sessions = loop.runner.services.sessions
    add_user(sessions, "lead@example.com", "rep")
    add_user(sessions, "viewer@example.com", "viewer")
    return create_app(loop.settings, sessions=sessions, clock=loop.clock, opener=existing_runner(loop.runner))


def _form(page_text: str, draft_id: int) -> dict:
    """The hidden fields of the approve form: csrf token, version and round the page showed."""
    import re

    start = page_text.index(f'action="/drafts/MO-{draft_id}/approve"')
    block = page_text[start : page_text.index("</form>", start)]
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', block))
    assert {"csrf_token", "version", "round"} <= set(fields)
    return fields


def accepted_replies(loop: Loop) -> list[ReplyRecord]:
    with loop.sessions() as session:
        return list(session.scalars(select(ReplyRecord).where(ReplyRecord.outcome == "accepted")))


async def test_a_rep_reviews_a_hostile_subject_from_the_console(tmp_path, clock):
    sender, _ = known_contact()
    sku = product()["sku"]
    async with Loop(tmp_path, clock) as loop:
        await loop.send(order_email(sender, HOSTILE_SUBJECT, f"Graag:\n3x {sku}\n"))
        await loop.poll_until(loop.rep_mail)
        [draft] = loop.drafts()
        app = console_for(loop)
        async with signed_in(app, "viewer@example.com") as viewer:
            page = await viewer.get(f"/drafts/MO-{draft.id}")
            refused = await viewer.post(
                f"/drafts/MO-{draft.id}/approve",
                data={"csrf_token": csrf_of(page.text), "version": "1", "round": "0"},
            )
            assert refused.status_code == 403
        assert loop.erp_orders() == []
        async with signed_in(app, "lead@example.com") as http:
            queue = await http.get("/drafts")
            assert f"MO-{draft.id}<" in queue.text
            assert "&lt;script&gt;alert(1)&lt;/script&gt; Bestelling" in queue.text
            assert "<script>alert(1)" not in queue.text
            page = await http.get(f"/drafts/MO-{draft.id}")
            assert sku in page.text and 'id="audit"' in page.text
            assert "drafted" in page.text and "summary_sent" in page.text
            approved = await http.post(f"/drafts/MO-{draft.id}/approve", data=_form(page.text, draft.id))
            assert approved.status_code == 303 and approved.headers["location"] == f"/drafts/MO-{draft.id}"
            after = await http.get(approved.headers["location"])
            assert "approved: MO-" in after.text and "confirmed" in after.text
            [order] = loop.erp_orders()
            assert [(ln["sku"], ln["quantity"]) for ln in order["products"]] == [(sku, 3)]
            assert order["order_id"] in after.text if "order_id" in order else True
            [event] = loop.audit("approved")
            assert event.actor == "lead@example.com" and event.draft_id == draft.id
            assert [e.actor for e in loop.audit("console_decision")] == ["lead@example.com"]
            assert "lead@example.com" in after.text  # the audit trail names the rep
        assert loop.drafts()[0].status == DraftStatus.CONFIRMED
        assert loop.drafts()[0].decided_by == "lead@example.com"
        assert loop.outbox("confirmation"), "the customer is confirmed as after an email approval"


async def test_pick_an_alternative_then_approve_from_the_console(tmp_path, clock):
    sender, _ = known_contact()
    async with Loop(tmp_path, clock) as loop:
        await loop.send(order_email(sender, "Bestelling platen", "Graag 3 platen Forex Classic wit 10 mm\n"))
        await loop.poll_until(loop.rep_mail)
        [draft] = loop.drafts()
        line = loop.payload()["lines"][0]
        offered = [c for c in line["candidates"] if c["sku"] != line["sku"]]
        app = console_for(loop)
        async with signed_in(app, "lead@example.com") as http:
            page = await http.get(f"/drafts/MO-{draft.id}")
            fields = _form(page.text, draft.id)
            picked = await http.post(
                f"/drafts/MO-{draft.id}/pick", data={**fields, "line": "1", "letter": "b"}
            )
            assert picked.status_code == 303
            assert loop.drafts()[0].version == 2
            assert loop.payload()["lines"][0]["sku"] == offered[1]["sku"]
            v2 = (await http.get(f"/drafts/MO-{draft.id}")).text
            assert "changed: MO-" in v2 and "v2" in v2 and offered[1]["sku"] in v2
            assert 'class="added"' in v2 and 'class="removed"' in v2  # the diff against v1
            # the stale v1 form cannot act any more
            stale = await http.post(f"/drafts/MO-{draft.id}/approve", data=fields)
            assert stale.status_code == 303 and loop.erp_orders() == []
            assert "nothing was changed" in (await http.get(f"/drafts/MO-{draft.id}")).text
            # the rep's mailbox got summary v2, so email review goes on as well
            await loop.poll_until(lambda: [m for m in loop.rep_mail() if " v2]" in str(m["Subject"])])
            page = await http.get(f"/drafts/MO-{draft.id}")
            await http.post(f"/drafts/MO-{draft.id}/approve", data=_form(page.text, draft.id))
        [order] = loop.erp_orders()
        assert [(ln["sku"], ln["quantity"]) for ln in order["products"]] == [(offered[1]["sku"], 3)]
        assert [e.details["sku"] for e in loop.audit("alias_learned")] == [offered[1]["sku"]]


async def test_console_first_then_the_email_approval_is_refused(tmp_path, clock):
    sender, _ = known_contact()
    async with Loop(tmp_path, clock) as loop:
        await loop.send(order_email(sender, "order", f"Graag:\n3x {product()['sku']}\n"))
        [v1] = await loop.poll_until(loop.rep_mail)
        [draft] = loop.drafts()
        async with signed_in(console_for(loop), "lead@example.com") as http:
            page = await http.get(f"/drafts/MO-{draft.id}")
            await http.post(f"/drafts/MO-{draft.id}/approve", data=_form(page.text, draft.id))
        assert loop.drafts()[0].status == DraftStatus.CONFIRMED
        reply = await loop.reply(v1, "APPROVE")
        await loop.poll_until(lambda: loop.audit("reply_refused"))
        with loop.sessions() as session:
            email = repo.find_email(session, message_id=str(reply["Message-ID"]))
            assert repo.reply_for_email(session, email.id).outcome == "refused"
        assert len(loop.erp_orders()) == 1 and len(loop.audit("approved")) == 1


async def test_email_first_then_the_console_approval_is_refused(tmp_path, clock):
    sender, _ = known_contact()
    async with Loop(tmp_path, clock) as loop:
        await loop.send(order_email(sender, "order", f"Graag:\n3x {product()['sku']}\n"))
        [v1] = await loop.poll_until(loop.rep_mail)
        [draft] = loop.drafts()
        async with signed_in(console_for(loop), "lead@example.com") as http:
            page = await http.get(f"/drafts/MO-{draft.id}")  # the rep opened the page first
            await loop.reply(v1, "APPROVE")
            await loop.poll_until(lambda: loop.drafts()[0].status == DraftStatus.CONFIRMED)
            late = await http.post(f"/drafts/MO-{draft.id}/approve", data=_form(page.text, draft.id))
            assert late.status_code == 303
            assert "already confirmed; nothing was changed" in (await http.get(late.headers["location"])).text
        assert len(loop.erp_orders()) == 1 and len(loop.audit("approved")) == 1
        assert [e.details["outcome"] for e in loop.audit("console_refused")] == ["refused"]


async def test_a_console_and_an_email_approval_at_the_same_moment_apply_once(tmp_path, clock):
    sender, _ = known_contact()
    async with Loop(tmp_path, clock) as loop:
        await loop.send(order_email(sender, "order", f"Graag:\n3x {product()['sku']}\n"))
        [v1] = await loop.poll_until(loop.rep_mail)
        [draft] = loop.drafts()
        async with signed_in(console_for(loop), "lead@example.com") as http:
            page = await http.get(f"/drafts/MO-{draft.id}")
            form = _form(page.text, draft.id)
            await loop.reply(v1, "APPROVE")
            await asyncio.sleep(1.5)  # delivered to the inbox, not yet read
            # two console tabs and the inbox poll at once
            await asyncio.gather(
                http.post(f"/drafts/MO-{draft.id}/approve", data=form),
                http.post(f"/drafts/MO-{draft.id}/approve", data=form),
                loop.runner.poll_once(),
            )
            await loop.poll_until(lambda: loop.drafts()[0].status == DraftStatus.CONFIRMED)
            for _ in range(3):  # a reply that found its thread busy is handled at a later poll
                await loop.runner.poll_once()
        assert len(loop.erp_orders()) == 1
        assert len(loop.audit("approved")) == 1
        assert len(accepted_replies(loop)) == 1


async def test_a_claimed_console_decision_is_applied_after_a_crash(tmp_path, clock):
    """A console process that dies between claiming a decision and resuming the thread: `serve`
    recovers it like a claimed reply by email."""
    sender, _ = known_contact()
    async with Loop(tmp_path, clock) as loop:
        await loop.send(order_email(sender, "order", f"Graag:\n3x {product()['sku']}\n"))
        await loop.poll_until(loop.rep_mail)
        [draft] = loop.drafts()
        request = console_actions.ConsoleRequest(
            draft_id=draft.id, version=1, round=0, user="lead@example.com", role="rep", kind="approve"
        )
        assert console_actions._claim(loop.runner.services, draft, request) is not None  # then "crash"
        assert console_actions._claim(loop.runner.services, draft, request) is None  # claimed once
        assert loop.erp_orders() == []
        await loop.stop_agent()
        await loop.start_agent()  # recovery at start-up resumes it
        assert loop.drafts()[0].status == DraftStatus.CONFIRMED
        assert len(loop.erp_orders()) == 1
        [event] = loop.audit("approved")
        assert event.actor == "lead@example.com"
