"""Feeds the inbox into the graph: ingest each message exactly once, start one thread per
order email, hand rep replies to agent.replies, and recover threads a crash interrupted."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from mailorder.agent.inbox import claims
from mailorder.agent.outgoing import outbox
from mailorder.agent.workflow.context import Services
from mailorder.agent.crashpoints import crash_point
from mailorder.agent.workflow.loading import parsed_email, remember_parsed
from mailorder.agent.logs import log_context
from mailorder.agent.workflow.graph import thread_config
from mailorder.agent.outgoing import mailing
from mailorder.agent.inbox.screening import ignore_reason, is_delivery_report
from mailorder.agent.review.replies import handle_reply, looks_like_reply, match_reply, resume_claimed_replies
from mailorder.mail.imap import FAILED_FOLDER, FetchedMessage, ImapInbox
from mailorder.domain import ParsedEmail
from mailorder.mail.parse import is_parseable, parse_email
from mailorder.store import repo
from mailorder.store.models import DraftRecord, EmailRecord, EmailStatus

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8  # processing errors before an email is failed instead of retried
FETCH_BATCH = 200  # messages fetched per IMAP round trip


@dataclass
class PollReport:
    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    failed: int = 0
    processed: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class Feed:
    """How the ingest and the processing pool of one poll signal each other."""

    more: asyncio.Event = field(default_factory=asyncio.Event)  # new emails stored (or ingest done)
    room: asyncio.Event = field(default_factory=asyncio.Event)  # the pool wants the next batch
    finished: bool = False


class Runner:
    def __init__(self, services: Services, graph, inbox: ImapInbox, *, concurrency: int | None = None,
                 worker: str | None = None) -> None:
        concurrency = concurrency or services.settings.concurrency
        self.services, self.graph, self.inbox = services, graph, inbox
        self._limit = asyncio.Semaphore(concurrency)
        self._batch = concurrency
        self._lock = asyncio.Lock()
        self.worker = worker or claims.new_worker_id()  # several workers may share one inbox and store
        self._held: set[int] = set()  # emails this worker has claimed and not yet released
        self.heartbeat_seconds = claims.HEARTBEAT_SECONDS

    def close(self) -> None:
        """Release this worker's claims so other workers take its emails over at once."""
        for email_id in list(self._held):
            self._release(email_id)
        claims.retire(self.worker)

    async def poll_once(self) -> PollReport:
        """One poll: fetch, store, process; never raises (errors are logged and audited).
        Fetching the next batch overlaps processing the last one, so a backlog keeps both busy."""
        async with self._lock, self._heartbeat():
            report = PollReport()
            feed = Feed()
            ingest = asyncio.create_task(self._ingest_all(report, feed))
            try:
                await self.process_pending(report, feed=feed)
            finally:
                feed.room.set()  # never leave the ingest waiting for a pool that stopped
                await ingest
            try:
                await self._flush_outbox()
            except Exception as exc:  # noqa: BLE001
                log.exception("outbox flush failed")
                report.errors.append(f"outbox: {exc!r}")
            return report

    # --- ingest --------------------------------------------------------------------------------
    async def _ingest_all(self, report: PollReport, feed: Feed) -> None:
        """Fetch batches until the mailbox is drained, at most about one batch ahead of processing."""
        try:
            while await self._ingest(report) >= FETCH_BATCH:
                feed.more.set()
                feed.room.clear()
                await feed.room.wait()
        except Exception as exc:  # noqa: BLE001 - the poller must survive a broken mailbox
            log.exception("ingest failed")
            report.errors.append(f"ingest: {exc!r}")
        finally:
            feed.finished = True
            feed.more.set()

    async def _ingest(self, report: PollReport) -> int:
        """Fetch and store one batch of new messages; returns how many were fetched."""
        settings, mailbox = self.services.settings, self.services.settings.imap_folder
        with self.services.sessions() as session:
            state = repo.mailbox_state(session, mailbox)
            last_uid, uidvalidity = (state.last_uid, state.uidvalidity) if state else (0, None)
        result = await asyncio.to_thread(self.inbox.fetch_new, last_uid, uidvalidity,
                                         max_bytes=settings.max_message_bytes, batch=FETCH_BATCH)
        if uidvalidity is not None and result.uidvalidity != uidvalidity:
            with self.services.sessions.begin() as session:
                repo.audit(session, self.services.clock(), "agent", "uidvalidity_changed", old=uidvalidity,
                           new=result.uidvalidity)
        report.fetched += len(result.messages)
        seen, failed = [], []
        for message in result.messages:
            outcome = self._store(message, mailbox, result.uidvalidity)
            setattr(report, outcome, getattr(report, outcome) + 1)
            (failed if outcome == "failed" else seen).append(message.uid)
        if result.messages:
            await asyncio.to_thread(self.inbox.mark_seen, seen)
            await asyncio.to_thread(self.inbox.move, failed, FAILED_FOLDER)
        return len(result.messages)

    def _store(self, message: FetchedMessage, mailbox: str, uidvalidity: int) -> str:
        """Store one fetched message and advance the mailbox's last UID in the same transaction."""
        now = self.services.clock()
        error = None
        if message.truncated:
            error = f"message too large ({message.size} bytes > {self.services.settings.max_message_bytes})"
        email = parse_email(message.raw)
        if error is None and not is_parseable(message.raw, email):
            error = "not a parseable email message"
        if error is None and not email.sender:
            error = "no sender address (not a usable email message)"
        with self.services.sessions.begin() as session:
            repo.save_mailbox_state(session, mailbox, uidvalidity, message.uid)
            duplicate = repo.find_email(session, message_id=email.message_id, mailbox=mailbox,
                                        uidvalidity=uidvalidity, uid=message.uid)
            if duplicate is not None:
                repo.audit(session, now, "agent", "duplicate_ignored", email_id=duplicate.id,
                           message_id=email.message_id, uid=message.uid)
                return "duplicates"
            record = EmailRecord(
                message_id=email.message_id, mailbox=mailbox, uidvalidity=uidvalidity, uid=message.uid,
                sender=email.sender, subject=email.subject[:2000], received_at=now, size=message.size,
                raw=message.raw, status=EmailStatus.FAILED if error else EmailStatus.RECEIVED, error=error)
            if repo.insert_email(session, record) is None:
                return "duplicates"
            repo.audit(session, now, "agent", "ingested", email_id=record.id, message_id=email.message_id,
                       sender=email.sender, subject=email.subject, size=message.size, uid=message.uid)
            if error:
                repo.audit(session, now, "agent", "failed", email_id=record.id, error=error,
                           moved_to=FAILED_FOLDER)
                return "failed"
        remember_parsed(self.services, record.id, email)  # committed: the id is this email's for good
        crash_point("after_ingest")
        return "stored"

    # --- processing ----------------------------------------------------------------------------
    async def process_pending(self, report: PollReport | None = None, *, feed: Feed | None = None) -> None:
        """Process stored emails: new orders concurrently (bounded), then replies in arrival order,
        so a reply is never handled before the draft it answers. Emails are claimed a batch at a
        time, so workers sharing the store share a backlog instead of one taking all of it. With a
        `feed` the pool also takes emails the running ingest stores, until the ingest finishes."""
        report = report or PollReport()
        replies: list[int] = []
        tried: set[int] = set()
        # a pool, not batch after batch: a new email starts as soon as any running one finishes
        slots = asyncio.Semaphore(self._batch)
        running: set[asyncio.Task] = set()
        while True:
            if feed is not None:
                feed.more.clear()  # before looking, so a batch stored meanwhile is not missed
            threads, unclaimed = await self._claim_batch(tried, replies, report)
            if feed is not None and unclaimed < FETCH_BATCH // 2:
                feed.room.set()
            for email_id in threads:
                await slots.acquire()
                task = asyncio.create_task(
                    self._released_after(email_id, self._guarded(email_id, self._run_claimed_thread, report)))
                task.add_done_callback(lambda done: (slots.release(), running.discard(done)))
                running.add(task)
            if threads:
                continue
            if feed is None or (feed.finished and not feed.more.is_set()):
                break
            await feed.more.wait()
        await asyncio.gather(*running)
        for email_id in replies:
            await self._released_after(email_id, self._guarded(email_id, self._handle_claimed_reply, report))

    async def _claim_batch(self, tried: set[int], replies: list[int], report: PollReport) -> tuple[list[int], int]:
        """Claim and classify pending emails not tried yet: up to `concurrency` order threads are
        returned with the number of pending emails left after them; replies are collected
        (claimed) for the end; ignored ones are done."""
        with self.services.sessions() as session:
            pending = [i for i in repo.pending_email_ids(session) if i not in tried]
        threads: list[int] = []
        looked = 0
        for email_id in pending:
            if len(threads) >= self._batch:
                break
            looked += 1
            tried.add(email_id)
            if not self._claim(email_id):
                continue  # another worker has it
            kind = await self._guarded(email_id, self._classify, report)
            if kind == "reply":
                replies.append(email_id)
            elif kind == "thread":
                threads.append(email_id)
            else:
                self._release(email_id)
        return threads, len(pending) - looked

    async def process_email(self, email_id: int) -> None:
        """Process one stored email now (tests and tools)."""
        kind = await self._classify(email_id)
        if kind == "reply":
            await self._handle_reply(email_id)
        elif kind == "thread":
            await self._run_thread(email_id)

    async def _guarded(self, email_id: int, step, report: PollReport):
        """Run one step for one email; an error is audited and retried on later polls, and after
        MAX_ATTEMPTS the email is failed (visible, moved to the failed folder) instead of looping."""
        try:
            with log_context(email_id=email_id):  # every log line of this email carries its id
                result = await step(email_id)
            report.processed += 1
            return result
        except Exception as exc:  # noqa: BLE001 - one bad email must not stop the others
            log.exception("processing email %s failed", email_id)
            report.errors.append(f"email {email_id}: {exc!r}")
            with self.services.sessions.begin() as session:
                now = self.services.clock()
                repo.audit(session, now, "agent", "processing_error", email_id=email_id, error=repr(exc))
                errors = sum(1 for e in repo.audit_trail(session, email_id=email_id) if e.action == "processing_error")
                record = session.get(EmailRecord, email_id)
                if errors >= MAX_ATTEMPTS and record.status == EmailStatus.RECEIVED:
                    record.status, record.error = EmailStatus.FAILED, repr(exc)
                    repo.audit(session, now, "agent", "failed", email_id=email_id, error=repr(exc),
                               attempts=errors, moved_to=FAILED_FOLDER)
                    uid = record.uid
                else:
                    uid = None
            if uid is not None:
                try:
                    await asyncio.to_thread(self.inbox.move, [uid], FAILED_FOLDER)
                except Exception:  # noqa: BLE001 - the store already says failed
                    log.warning("could not move email %s to %s", email_id, FAILED_FOLDER, exc_info=True)
            return None

    async def _classify(self, email_id: int) -> str:
        """'ignored' (recorded here), 'reply' or 'thread'."""
        email = self._load(email_id)
        reason = ignore_reason(email, self.services.agent_address)
        if reason is not None:
            if is_delivery_report(email):  # never answered, but a returned summary must not wait silently
                with self.services.sessions() as session:
                    raw = repo.email_raw(session, email_id)
                await mailing.handle_bounce(self.services, email_id, raw, email)
            self._mark(email_id, EmailStatus.IGNORED, "ignored", reason=reason)
            return "ignored"
        return "reply" if looks_like_reply(self.services, email) else "thread"

    async def _handle_reply(self, email_id: int) -> None:
        await handle_reply(self.services, self.graph, email_id, self._load(email_id))

    async def _handle_claimed_reply(self, email_id: int) -> None:
        """A reply resumes its draft's thread: hold that thread's email too, so no other worker
        runs or recovers the same thread meanwhile (tried again on a later poll when busy)."""
        email = self._load(email_id)
        match = match_reply(self.services, email)
        with self.services.sessions() as session:
            draft = session.get(DraftRecord, match.draft_id) if match.draft_id else None
            thread_email_id = draft.email_id if draft is not None else None
        if thread_email_id is not None and not self._claim(thread_email_id, pending_only=False):
            log.info("reply %s waits: thread of email %s is busy on another worker", email_id, thread_email_id)
            return
        try:
            await handle_reply(self.services, self.graph, email_id, email)
        finally:
            if thread_email_id is not None:
                self._release(thread_email_id)

    def _load(self, email_id: int) -> ParsedEmail:
        return parsed_email(self.services, email_id)

    async def _run_thread(self, email_id: int) -> None:
        async with self._limit:
            await self._run_thread_now(email_id)

    async def _run_claimed_thread(self, email_id: int) -> None:
        async with self._limit:
            if self._claim(email_id):  # renewed: waiting for a slot may have taken a while
                await self._run_thread_now(email_id)

    async def _run_thread_now(self, email_id: int) -> None:
        config = thread_config(email_id)
        snapshot = await self.graph.aget_state(config)
        if snapshot.next and snapshot.interrupts:
            return  # waiting for a rep
        payload = None if snapshot.next else {"email_id": email_id}
        if not snapshot.next and snapshot.values:
            return  # finished already
        await self.graph.ainvoke(payload, config, context=self.services)

    async def recover(self) -> int:
        """Resume threads that a crash stopped between steps (not those waiting for a rep)."""
        async with self._heartbeat():
            return await self._recover()

    async def _recover(self) -> int:
        with self.services.sessions() as session:
            email_ids = [d.email_id for d in session.query(DraftRecord).all()]
        resumed = 0
        for email_id in email_ids:
            snapshot = await self.graph.aget_state(thread_config(email_id))
            if snapshot.next and not snapshot.interrupts:
                if not self._claim(email_id, pending_only=False):
                    continue  # a live worker is running this thread right now
                try:
                    snapshot = await self.graph.aget_state(thread_config(email_id))
                    if not snapshot.next or snapshot.interrupts:
                        continue  # finished or parked meanwhile
                    log.info("resuming interrupted thread for email %s at %s", email_id, snapshot.next)
                    with self.services.sessions.begin() as session:
                        repo.audit(session, self.services.clock(), "agent", "thread_resumed", email_id=email_id,
                                   at=list(snapshot.next))
                    await self.graph.ainvoke(None, thread_config(email_id), context=self.services)
                    resumed += 1
                finally:
                    self._release(email_id)
        return resumed + await self._recover_replies()

    async def _recover_replies(self) -> int:
        """Claimed-but-unapplied replies, resumed only while no live worker holds their threads."""
        with self.services.sessions() as session:
            thread_ids = repo.threads_with_unapplied_replies(session)
        held = [i for i in thread_ids if self._claim(i, pending_only=False)]
        try:
            if len(held) < len(thread_ids):
                log.info("replies of %d threads are being applied by another worker", len(thread_ids) - len(held))
                return 0
            return await resume_claimed_replies(self.services, self.graph)
        finally:
            for email_id in held:
                self._release(email_id)

    # --- claims (several workers on one inbox) -------------------------------------------------
    def _claim(self, email_id: int, *, pending_only: bool = True) -> bool:
        now = self.services.clock()
        stale_before = now - claims.CLAIM_TIMEOUT
        with self.services.sessions.begin() as session:
            won = repo.claim_email(session, email_id, self.worker, now, stale_before=stale_before,
                                   pending_only=pending_only)
            if not won:
                holder = repo.email_claim(session, email_id)
                if claims.is_known_dead(holder):
                    won = repo.claim_email(session, email_id, self.worker, now, stale_before=stale_before,
                                           take_over=holder, pending_only=pending_only)
                    if won:
                        repo.audit(session, now, "agent", "claim_taken_over", email_id=email_id,
                                   previous=holder, worker=self.worker)
        if won:
            self._held.add(email_id)
        return won

    async def _flush_outbox(self) -> int:
        """Retry pending outgoing mail (outbox.flush, plus claims): a message is delivered only
        while this worker holds its thread, so no message in flight on another worker is sent
        twice."""
        with self.services.sessions() as session:
            pending = repo.pending_outbox_threads(session)
        sent = 0
        for outbox_id, thread_email_id in pending:
            if thread_email_id is not None and not self._claim(thread_email_id, pending_only=False):
                continue  # that thread is busy on another worker, which sends its own mail
            try:
                sent += await outbox.deliver(self.services, outbox_id,
                                             on_returned=mailing.returned_handler(self.services, None))
            finally:
                if thread_email_id is not None:
                    self._release(thread_email_id)
        return sent

    @asynccontextmanager
    async def _heartbeat(self):
        """While working, renew this worker's claims, so a long step (a slow model or ERP) is
        never mistaken for a crashed worker by another machine."""
        async def beat() -> None:
            while True:
                await asyncio.sleep(self.heartbeat_seconds)  # a timer: nothing else to await
                held = sorted(self._held)
                with self.services.sessions.begin() as session:
                    kept = repo.renew_claims(session, held, self.worker, self.services.clock())
                if kept < len(held):
                    log.warning("%d claim(s) of this worker were taken over by another worker", len(held) - kept)

        task = asyncio.create_task(beat())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _release(self, email_id: int) -> None:
        self._held.discard(email_id)
        with self.services.sessions.begin() as session:
            repo.release_email(session, email_id, self.worker)

    async def _released_after(self, email_id: int, step):
        try:
            return await step
        finally:
            self._release(email_id)

    # --- helpers ---------------------------------------------------------------------------------
    def _mark(self, email_id: int, status: EmailStatus, action: str, **details) -> None:
        with self.services.sessions.begin() as session:
            session.get(EmailRecord, email_id).status = status
            repo.audit(session, self.services.clock(), "agent", action, email_id=email_id, **details)
