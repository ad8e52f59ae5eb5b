"""PostgreSQL store + checkpointer, and several workers sharing one inbox.

The PostgreSQL tests need a server: MAILORDER_TEST_POSTGRES_URL (CI starts one) or local
initdb/pg_ctl binaries for a throwaway cluster; they skip otherwise. The two-worker test also runs
on SQLite (two workers on one machine sharing the database file)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter

import pytest
from sqlalchemy import func, inspect, select

from mailorder.agent.inbox.claims import CLAIM_TIMEOUT
from mailorder.agent.service import open_runner
from mailorder.agent.workflow.graph import thread_config
from mailorder.store import repo
from mailorder.store.db import libpq_url, make_engine, make_session_factory, sqlalchemy_url
from mailorder.store.models import (
    AuditEvent,
    DraftRecord,
    DraftStatus,
    EmailRecord,
    EmailStatus,
    MailboxState,
    ReplyRecord,
)
from tests.loop_harness import Loop, catalog, known_contact, order_email
from tests.pg_server import fresh_database, postgres_admin_url

pytestmark = pytest.mark.e2e

EMAILS = 30


@pytest.fixture(scope="module")
def pg_admin_url():  # one server for the module, a fresh database per test
    with postgres_admin_url() as url:
        if url is None:
            pytest.skip("no PostgreSQL server (set MAILORDER_TEST_POSTGRES_URL or install postgresql)")
        yield url


@pytest.fixture
def pg_url(pg_admin_url):
    with fresh_database(pg_admin_url) as url:
        yield url


def order_body(index: int) -> str:
    products = [p for p in catalog() if p.get("active", True)]
    first, second = products[index % len(products)], products[(index * 7 + 3) % len(products)]
    return (
        f"Goedemorgen,\n\nGraag bestellen:\n\n{index % 5 + 1}x {first['sku']}\n"
        f"{second['sku']} 2 {second['base_unit']}\n\nMet vriendelijke groet,\nJan\n"
    )


# --- pure ---------------------------------------------------------------------------------------


def test_database_urls_are_normalised():
    assert sqlalchemy_url("postgresql://u:p@h:5/db") == "postgresql+psycopg://u:p@h:5/db"
    assert sqlalchemy_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    assert sqlalchemy_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert sqlalchemy_url("sqlite:///var/x.db") == "sqlite:///var/x.db"
    assert libpq_url("postgresql+psycopg://u@h/db?sslmode=require") == "postgresql://u@h/db?sslmode=require"
    with pytest.raises(ValueError):
        libpq_url("sqlite:///x.db")


# --- store-level claims and mailbox state (both dialects) ----------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    with fresh_database(request.getfixturevalue("pg_admin_url")) as url:
        yield url


def test_claims_and_mailbox_state(store_url, clock):
    engine = make_engine(store_url)
    sessions = make_session_factory(engine)
    try:
        with sessions.begin() as s:
            repo.save_mailbox_state(s, "INBOX", 7, 10)
            repo.save_mailbox_state(s, "INBOX", 7, 4)  # a slower worker storing an older message
        with sessions() as s:
            assert repo.mailbox_state(s, "INBOX").last_uid == 10
        with sessions.begin() as s:
            repo.save_mailbox_state(s, "INBOX", 8, 2)  # a new UIDVALIDITY starts over
        with sessions() as s:
            assert (repo.mailbox_state(s, "INBOX").uidvalidity, repo.mailbox_state(s, "INBOX").last_uid) == (
                8,
                2,
            )

        with sessions.begin() as s:
            email = EmailRecord(message_id="<a@x>", uidvalidity=8, uid=1, received_at=clock(), raw=b"x")
            s.add(email)
            s.flush()
            email_id = email.id
        stale = clock() - CLAIM_TIMEOUT
        with sessions.begin() as s:
            assert repo.claim_email(s, email_id, "w1", clock(), stale_before=stale)
            assert repo.claim_email(s, email_id, "w1", clock(), stale_before=stale)  # re-entrant
            assert not repo.claim_email(s, email_id, "w2", clock(), stale_before=stale)
            assert repo.email_claim(s, email_id) == "w1"
            assert repo.claim_email(s, email_id, "w2", clock(), stale_before=stale, take_over="w1")
        clock.advance(minutes=11)
        with sessions.begin() as s:  # w2 crashed: its claim goes stale
            assert repo.claim_email(s, email_id, "w3", clock(), stale_before=clock() - CLAIM_TIMEOUT)
            repo.release_email(s, email_id, "w3")
            assert repo.email_claim(s, email_id) is None
            s.get(EmailRecord, email_id).status = EmailStatus.DRAFTED
        with sessions.begin() as s:  # done: only a thread claim (pending_only=False) can take it
            assert not repo.claim_email(s, email_id, "w1", clock(), stale_before=stale)
            assert repo.claim_email(s, email_id, "w1", clock(), stale_before=stale, pending_only=False)
    finally:
        engine.dispose()


# --- the whole loop on PostgreSQL ------------------------------------------------------------------


async def test_order_travels_the_whole_loop_on_postgres(tmp_path, clock, pg_url):
    sender, company = known_contact()
    async with Loop(tmp_path, clock, database_url=pg_url) as loop:
        original = order_email(sender, "Bestelling week 10", order_body(1))
        await loop.send(original)
        summary = (await loop.poll_until(loop.rep_mail))[0]
        assert loop.drafts()[0].customer_id == company
        await loop.reply(summary, "APPROVE")
        await loop.poll_until(lambda: loop.drafts()[0].status == DraftStatus.CONFIRMED)
        assert len(loop.erp_orders()) == 1
        confirmations = [
            m for m in loop.mailbox(sender, sender) if str(m["In-Reply-To"]) == str(original["Message-ID"])
        ]
        assert len(confirmations) == 1
        actions = {e.action for e in loop.audit()}
        assert {"ingested", "drafted", "summary_sent", "approved", "posted", "confirmed"} <= actions

        # A restarted agent finds the thread state in PostgreSQL, not in a local file.
        await loop.stop_agent()
        await loop.start_agent()
        snapshot = await loop.runner.graph.aget_state(thread_config(loop.drafts()[0].email_id))
        assert snapshot.values and not snapshot.next
    assert not list(tmp_path.glob("*checkpoints*"))
    engine = make_engine(pg_url)
    try:
        assert "checkpoints" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


# --- two workers on one inbox -------------------------------------------------------------------------


class Worker(threading.Thread):
    """One `serve` process, as far as the store is concerned: its own event loop, engine,
    checkpointer connection and IMAP connection, polling until told to stop."""

    def __init__(self, settings, clock) -> None:
        super().__init__(daemon=True)
        self.settings, self.clock = settings, clock
        self.stop = threading.Event()
        self.ready = threading.Event()
        self.polls = 0
        self.error: BaseException | None = None
        self.worker_id: str | None = None

    def run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc
            self.ready.set()

    async def _main(self) -> None:
        async with open_runner(self.settings, clock=self.clock) as runner:
            self.worker_id = runner.worker
            self.ready.set()
            while not self.stop.is_set():
                await runner.poll_once()
                self.polls += 1
                await asyncio.sleep(0.05)


async def wait_for(condition, timeout: float, workers: list[Worker]):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        for worker in workers:
            assert worker.error is None, worker.error
        assert time.monotonic() < deadline, "condition not met before timeout"
        await asyncio.sleep(0.2)
    return value


@pytest.fixture(params=["sqlite", "postgresql"])
def workers_db(request, tmp_path):
    if request.param == "sqlite":
        yield {}
        return
    with fresh_database(request.getfixturevalue("pg_admin_url")) as url:
        yield {"database_url": url}


@pytest.mark.timeout(120)
async def test_two_workers_share_one_inbox_without_doing_anything_twice(tmp_path, clock, workers_db):
    sender, _ = known_contact()
    # concurrency 4: each worker claims small batches, so both get a share of the backlog
    async with Loop(tmp_path, clock, concurrency=4, poll_seconds=0.1, **workers_db) as loop:
        settings = loop.settings
        await loop.stop_agent()  # the two workers below do all the work
        sessions = make_session_factory(make_engine(settings.database_url))

        def count(model, *where) -> int:
            with sessions() as s:
                return s.scalar(select(func.count()).select_from(model).where(*where))

        originals = [order_email(sender, f"Bestelling {i}", order_body(i)) for i in range(EMAILS)]
        for message in originals[: EMAILS // 2]:
            await loop.send(message)
        workers = [Worker(settings, clock) for _ in range(2)]
        for worker in workers:
            worker.start()
        try:
            for worker in workers:
                await asyncio.to_thread(worker.ready.wait, 30)
                assert worker.error is None, worker.error
            for message in originals[EMAILS // 2 :]:  # more mail while both are polling
                await loop.send(message)
            await wait_for(
                lambda: count(DraftRecord) == EMAILS and len(loop.rep_mail()) == EMAILS, 60, workers
            )

            summaries = loop.rep_mail()
            assert len({str(m["Message-ID"]) for m in summaries}) == EMAILS  # one summary per draft
            with sessions() as s:
                drafts = list(s.scalars(select(DraftRecord)))
                assert len({d.email_id for d in drafts}) == EMAILS
                assert count(AuditEvent, AuditEvent.action == "claim_taken_over") == 0  # nobody died
                assert count(EmailRecord, EmailRecord.claimed_by.is_not(None)) == 0  # all released
            assert count(AuditEvent, AuditEvent.action == "processing_error") == 0

            # Replies: every reply handled once although both workers see every one.
            for summary in summaries:
                await loop.reply(summary, "APPROVE")
            await wait_for(
                lambda: count(DraftRecord, DraftRecord.status == DraftStatus.CONFIRMED) == EMAILS, 60, workers
            )
            with sessions() as s:
                outcomes = Counter(r.outcome for r in s.scalars(select(ReplyRecord)))
            assert outcomes == {"accepted": EMAILS}
            assert count(AuditEvent, AuditEvent.action == "approved") == EMAILS
            assert count(AuditEvent, AuditEvent.action == "posted") == EMAILS
            assert len(loop.erp_orders()) == EMAILS
            confirmations = [
                m for m in loop.mailbox(sender, sender) if str(m["Message-ID"]).startswith("<mo.")
            ]
            assert len(confirmations) == EMAILS
            assert len(loop.rep_notices()) == 0  # no "already used" or "not waiting" notices
            with sessions() as s:
                state = s.get(MailboxState, settings.imap_folder)
                assert state.last_uid == 2 * EMAILS
                assert count(EmailRecord) == 2 * EMAILS
        finally:
            for worker in workers:
                worker.stop.set()
            for worker in workers:
                await asyncio.to_thread(worker.join, 30)
            sessions.kw["bind"].dispose()
        assert all(w.polls > 0 for w in workers)


def test_an_older_store_gets_the_claim_columns(tmp_path):
    """A database created before claims (and before migrations) existed is upgraded in place: the
    baseline's nullable columns are added, then it is stamped and migrated (tests/test_migrations.py)."""
    import sqlite3

    from mailorder.store.db import BASELINE, upgrade

    path = tmp_path / "old.db"
    old = make_engine(f"sqlite:///{path}", migrate=False)
    upgrade(old, BASELINE)  # the tables `create_all` made before migrations
    old.dispose()
    with sqlite3.connect(path) as db:
        db.execute("ALTER TABLE emails DROP COLUMN claimed_by")
        db.execute("ALTER TABLE emails DROP COLUMN claimed_at")
        db.execute("DROP TABLE alembic_version")
    engine = make_engine(f"sqlite:///{path}")
    try:
        assert {"claimed_by", "claimed_at"} <= {c["name"] for c in inspect(engine).get_columns("emails")}
    finally:
        engine.dispose()
