"""Feeds the inbox into the workflow, one poll at a time: ingest (agent.inbox.ingest) and the
processing pool (agent.inbox.pool) run side by side, so fetching the next batch overlaps
processing the last; then pending outgoing mail is retried. Recovery runs once at start-up."""

from __future__ import annotations

import asyncio
import logging

from mailorder.agent.inbox import ingest
from mailorder.agent.inbox.claims import Claims
from mailorder.agent.inbox.pool import Feed, Pool
from mailorder.agent.inbox.recovery import recover
from mailorder.agent.inbox.report import PollReport
from mailorder.agent.outgoing import mailing, outbox
from mailorder.agent.review.autopost_due import post_due
from mailorder.agent.workflow.context import Services
from mailorder.mail.imap import ImapInbox
from mailorder.store import repo

log = logging.getLogger(__name__)

__all__ = ["PollReport", "Runner"]


class Runner:
    def __init__(
        self,
        services: Services,
        graph,
        inbox: ImapInbox,
        *,
        concurrency: int | None = None,
        worker: str | None = None,
    ) -> None:
        self.services, self.graph, self.inbox = services, graph, inbox
        self.claims = Claims(services, worker)  # several workers may share one inbox and store
        self.pool = Pool(services, graph, inbox, self.claims, concurrency or services.settings.concurrency)
        self._lock = asyncio.Lock()

    @property
    def worker(self) -> str:
        return self.claims.worker

    def close(self) -> None:
        """Release this worker's claims so other workers take its emails over at once."""
        self.claims.close()

    async def recover(self) -> int:
        """Resume what a crash interrupted (start-up)."""
        return await recover(self.services, self.graph, self.claims)

    async def poll_once(self) -> PollReport:
        """One poll: fetch, store, process; never raises (errors are logged and audited)."""
        async with self._lock, self.claims.heartbeat():
            report = PollReport()
            feed = Feed()
            ingest = asyncio.create_task(self._ingest_all(report, feed))
            try:
                await self.pool.process_pending(report, feed=feed)
            finally:
                feed.room.set()  # never leave the ingest waiting for a pool that stopped
                await ingest
            try:
                await post_due(self.services, self.graph, self.claims)  # veto windows that passed
            except Exception as exc:
                log.exception("automatic posting failed")
                report.errors.append(f"autopost: {exc!r}")
            try:
                await self._flush_outbox()
            except Exception as exc:
                log.exception("outbox flush failed")
                report.errors.append(f"outbox: {exc!r}")
            return report

    async def _ingest_all(self, report: PollReport, feed: Feed) -> None:
        """Fetch batches until the mailbox is drained, at most about one batch ahead of processing."""
        try:
            while await ingest.ingest_batch(self.services, self.inbox, report) >= ingest.FETCH_BATCH:
                feed.more.set()
                feed.room.clear()
                await feed.room.wait()
        except Exception as exc:
            log.exception("ingest failed")
            report.errors.append(f"ingest: {exc!r}")
        finally:
            feed.finished = True
            feed.more.set()

    async def _flush_outbox(self) -> int:
        """Retry pending outgoing mail: a message is delivered only while this worker holds its
        thread, so no message in flight on another worker is sent twice."""
        with self.services.sessions() as session:
            pending = repo.pending_outbox_threads(session)
        sent = 0
        for outbox_id, thread_email_id in pending:
            if thread_email_id is not None and not self.claims.claim(thread_email_id, pending_only=False):
                continue  # that thread is busy on another worker, which sends its own mail
            try:
                sent += await outbox.deliver(
                    self.services, outbox_id, on_returned=mailing.returned_handler(self.services, None)
                )
            finally:
                if thread_email_id is not None:
                    self.claims.release(thread_email_id)
        return sent
