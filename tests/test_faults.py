"""Faults of the parts around the agent, against the real loopback servers: IMAP restarts and
UIDVALIDITY changes, SMTP refusing or hanging, the ERP failing (5xx, 4xx, slow), the model failing."""

from __future__ import annotations

import asyncio
import contextlib

import httpx
import pytest

from mailorder.store.models import DraftStatus, MailboxState, OutboxStatus
from tests.fake_openai import FakeOpenAI, HttpError
from tests.loop_harness import REP, Loop, catalog, known_contact, order_email

pytestmark = pytest.mark.e2e

FAST_ERP = dict(erp_attempts=2, erp_backoff=0.01)


class SmtpSwitch:
    """A loopback TCP relay in front of the dev SMTP server: "forward" relays, "refuse" closes every
    connection at once, "hang" accepts and never answers (a timeout for the client)."""

    def __init__(self, target_port: int) -> None:
        self.target_port, self.mode, self.port = target_port, "forward", 0
        self._server: asyncio.AbstractServer | None = None
        self._held: list[asyncio.StreamWriter] = []

    async def __aenter__(self) -> SmtpSwitch:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc) -> None:
        for writer in self._held:
            writer.close()
        self._server.close()
        await self._server.wait_closed()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.mode == "refuse":
            writer.close()
            return
        if self.mode == "hang":
            self._held.append(writer)
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


def an_order(subject: str = "bestelling"):
    sender, _ = known_contact()
    product = next(p for p in catalog() if p.get("active", True))
    return sender, order_email(sender, subject, f"Goedemorgen,\n\nGraag 4x {product['sku']}\n\nGroet, Jan\n")


def rep_mail(loop: Loop, kind: str):
    """The rep's mail of one kind; long Message-IDs arrive folded (a leading space once parsed)."""
    return [m for m in loop.mailbox(REP) if str(m["Message-ID"]).strip().startswith(f"<mo.{kind}.")]


# --- IMAP ---------------------------------------------------------------------------------------
async def test_imap_server_restart_between_polls_is_survived_and_the_next_poll_recovers(tmp_path, clock):
    _sender, first = an_order("eerste")
    async with Loop(tmp_path, clock) as loop:
        await loop.send(first)
        await loop.poll_until(loop.rep_mail)
        loop.mail.stop()  # drops the agent's open IMAP connection
        report = await loop.runner.poll_once()  # server down: the poll reports, never raises
        assert report.errors and report.fetched == 0
        loop.mail.start()  # same ports, same data directory
        _, second = an_order("tweede")
        await loop.send(second)
        await loop.poll_until(lambda: len(loop.rep_mail()) == 2)
        assert len(loop.drafts()) == 2 and len(loop.emails()) == 2
        assert not loop.audit("duplicate_ignored")


async def test_uidvalidity_change_rescans_and_message_id_dedupe_prevents_double_processing(tmp_path, clock):
    _, order = an_order()
    async with Loop(tmp_path, clock) as loop:
        await loop.send(order)
        await loop.poll_until(loop.rep_mail)
        with loop.runner.services.sessions.begin() as s:  # as if the server had renumbered the mailbox
            state = s.query(MailboxState).one()
            old = state.uidvalidity
            state.uidvalidity = old + 1000
        await loop.poll_until(lambda: loop.audit("duplicate_ignored"))
        changed = loop.audit("uidvalidity_changed")
        assert len(changed) == 1 and changed[0].details["old"] == old + 1000
        assert changed[0].details["new"] == old
        assert len(loop.emails()) == 1 and len(loop.drafts()) == 1 and len(loop.rep_mail()) == 1
        await loop.runner.poll_once()  # the remembered UIDVALIDITY is the server's again
        assert len(loop.audit("uidvalidity_changed")) == 1


# --- SMTP ---------------------------------------------------------------------------------------
async def test_summary_waits_in_the_outbox_while_smtp_hangs_and_is_sent_when_it_is_back(tmp_path, clock):
    _, order = an_order()
    loop = Loop(tmp_path, clock, smtp_timeout=0.3)
    loop.mail.start()
    async with SmtpSwitch(loop.smtp_port) as switch:
        loop.overrides["smtp_port"] = switch.port
        async with loop:
            switch.mode = "hang"
            await loop.send(order)  # the test's own sender goes straight to the server
            await loop.poll_until(lambda: loop.audit("summary_send_failed"))
            [row] = loop.outbox("summary")
            assert row.status == OutboxStatus.PENDING and "Timeout" in row.last_error
            assert not loop.rep_mail()
            assert loop.drafts()[0].status == DraftStatus.AWAITING_REVIEW
            switch.mode = "forward"
            await loop.poll_until(loop.rep_mail)
            [row] = loop.outbox("summary")
            assert row.status == OutboxStatus.SENT and row.attempts >= 4
            # at least once, recognisable: on a loaded machine the server's answer to DATA can come
            # after the 0.3 s timeout, and the retry then delivers the same message again
            assert len({str(m["Message-ID"]) for m in loop.rep_mail()}) == 1
            assert len(loop.audit("summary_sent")) == 1


async def test_smtp_refusing_for_good_marks_the_message_failed_after_bounded_attempts(tmp_path, clock):
    from mailorder.agent.outgoing.outbox import MAX_TOTAL_ATTEMPTS

    _, order = an_order()
    loop = Loop(tmp_path, clock)
    loop.mail.start()
    async with SmtpSwitch(loop.smtp_port) as switch:
        loop.overrides["smtp_port"] = switch.port
        async with loop:
            switch.mode = "refuse"
            await loop.send(order)
            await loop.poll_until(
                lambda: loop.outbox("summary") and loop.outbox("summary")[0].status == OutboxStatus.FAILED,
                timeout=30,
            )
            [row] = loop.outbox("summary")
            assert row.attempts == MAX_TOTAL_ATTEMPTS and row.last_error
            failures = loop.audit("summary_send_failed")
            assert failures[-1].details["final"] is True
            assert [f.details["final"] for f in failures[:-1]] == [False] * (len(failures) - 1)
            switch.mode = "forward"
            await loop.runner.poll_once()  # a failed message is not retried behind anyone's back
            assert loop.outbox("summary")[0].status == OutboxStatus.FAILED and not loop.rep_mail()


# --- ERP ----------------------------------------------------------------------------------------
async def approve_and_wait(loop: Loop, mail, status: DraftStatus, *, minutes_later: float = 5) -> None:
    loop.clock.advance(minutes=minutes_later)  # the rep reads the mail a while later
    await loop.reply(mail, "APPROVE")
    await loop.poll_until(lambda: loop.drafts()[0].status == status)


async def test_erp_503_for_good_leaves_the_draft_open_and_a_later_approve_posts_once(tmp_path, clock):
    _, order = an_order()
    async with Loop(tmp_path, clock, **FAST_ERP) as loop:
        await loop.send(order)
        summary = (await loop.poll_until(loop.rep_mail))[0]
        loop.set_erp_faults(force_status=503)
        await approve_and_wait(loop, summary, DraftStatus.ERP_UNAVAILABLE)
        notice = (await loop.poll_until(lambda: rep_mail(loop, "notice-erp_unavailable")))[0]
        assert loop.erp_orders() == []
        assert loop.audit("erp_unavailable")[0].details["attempts"] == 2
        httpx.delete(f"{loop.erp.url}/_faults").raise_for_status()
        await approve_and_wait(loop, notice, DraftStatus.CONFIRMED)  # the notice's fresh review address
        assert len(loop.erp_orders()) == 1
        assert loop.drafts()[0].erp_order_id == loop.erp_orders()[0]["order_id"]


async def test_erp_4xx_rejects_the_draft_and_the_rep_reads_the_erp_error(tmp_path, clock):
    _, order = an_order()
    async with Loop(tmp_path, clock, **FAST_ERP) as loop:
        await loop.send(order)
        summary = (await loop.poll_until(loop.rep_mail))[0]
        loop.set_erp_faults(force_status=422)
        await approve_and_wait(loop, summary, DraftStatus.ERP_REJECTED)
        notice = (await loop.poll_until(lambda: rep_mail(loop, "notice-erp_error")))[0]
        assert "Injected fault: HTTP 422" in notice.get_body(("plain",)).get_content()
        assert loop.erp_orders() == []
        assert len(loop.audit("erp_rejected")) == 1  # a 4xx is not retried


async def test_erp_slower_than_the_client_timeout_ends_unavailable_and_never_doubles_the_order(
    tmp_path, clock
):
    _, order = an_order()
    async with Loop(tmp_path, clock, erp_timeout=0.3, **FAST_ERP) as loop:
        await loop.send(order)
        summary = (await loop.poll_until(loop.rep_mail))[0]
        loop.set_erp_faults(latency_ms=800)
        await approve_and_wait(loop, summary, DraftStatus.ERP_UNAVAILABLE)
        [event] = loop.audit("erp_unavailable")
        assert event.details["attempts"] == 2 and "timeout" in event.details["error"]
        notice = (await loop.poll_until(lambda: rep_mail(loop, "notice-erp_unavailable")))[0]
        httpx.delete(f"{loop.erp.url}/_faults").raise_for_status()
        # the slow requests may still have landed in the ERP: the same idempotency key replays them
        await approve_and_wait(loop, notice, DraftStatus.CONFIRMED)
        assert len(loop.erp_orders()) == 1


# --- model --------------------------------------------------------------------------------------
async def test_model_rate_limited_for_good_falls_back_to_rules_and_the_draft_says_so(tmp_path, clock):
    _, order = an_order()
    with FakeOpenAI() as fake:
        fake.responder = lambda body: HttpError(429, "rate limited", retry_after=0)
        async with Loop(
            tmp_path,
            clock,
            openai_api_key="test-key",
            openai_base_url=fake.base_url,
            model="fake-model",
            llm_timeout=2,
        ) as loop:
            await loop.send(order)
            summary = (await loop.poll_until(loop.rep_mail))[0]
            plain = summary.get_body(("plain",)).get_content()
            assert "fell back to rules" in plain
            assert loop.drafts()[0].status == DraftStatus.AWAITING_REVIEW
            assert len(fake.history) >= 2  # the client retried before giving up


async def test_approve_from_an_erp_notice_issued_in_the_summarys_minute_is_accepted(tmp_path, clock):
    _, order = an_order()
    async with Loop(tmp_path, clock, **FAST_ERP) as loop:
        await loop.send(order)
        summary = (await loop.poll_until(loop.rep_mail))[0]
        loop.set_erp_faults(force_status=503)
        await approve_and_wait(loop, summary, DraftStatus.ERP_UNAVAILABLE, minutes_later=0)
        notice = (await loop.poll_until(lambda: rep_mail(loop, "notice-erp_unavailable")))[0]
        httpx.delete(f"{loop.erp.url}/_faults").raise_for_status()
        await loop.reply(notice, "APPROVE")
        await loop.poll_until(lambda: loop.drafts()[0].status == DraftStatus.CONFIRMED, timeout=3)
