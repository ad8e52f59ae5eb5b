"""The processing pool: claim stored emails, sort them, and run them.

New orders run concurrently (a pool, not batch after batch: a new email starts as soon as any
running one finishes); rep replies run afterwards in arrival order, so a reply is never handled
before the draft it answers. Emails are claimed a batch at a time, so workers sharing the store
share a backlog instead of one taking all of it. One failing email never stops the others."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from mailorder.agent.inbox import ingest
from mailorder.agent.inbox.claims import Claims
from mailorder.agent.inbox.failures import record_processing_error
from mailorder.agent.inbox.report import PollReport
from mailorder.agent.inbox.sorting import sort_email
from mailorder.agent.logs import log_context
from mailorder.agent.review.matching import match_reply
from mailorder.agent.review.replies import handle_reply
from mailorder.agent.workflow.context import Services
from mailorder.agent.workflow.graph import OrderGraph, run_thread, thread_config
from mailorder.agent.workflow.loading import parsed_email
from mailorder.agent.workflow.state import InputState
from mailorder.mail.imap import ImapInbox
from mailorder.store import repo

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class Feed:
    """How a running ingest and the pool signal each other during one poll."""

    more: asyncio.Event = field(default_factory=asyncio.Event)  # new emails stored (or ingest done)
    room: asyncio.Event = field(default_factory=asyncio.Event)  # the pool wants the next batch
    finished: bool = False


class Pool:
    def __init__(
        self, services: Services, graph: OrderGraph, inbox: ImapInbox, claims: Claims, concurrency: int
    ) -> None:
        self.services, self.graph, self.inbox, self.claims = services, graph, inbox, claims
        self.concurrency = concurrency
        self._limit = asyncio.Semaphore(concurrency)

    async def process_pending(self, report: PollReport | None = None, *, feed: Feed | None = None) -> None:
        """Process stored emails; with a `feed` also those the running ingest stores, until it finishes."""
        report = report or PollReport()
        replies: list[int] = []
        tried: set[int] = set()
        slots = asyncio.Semaphore(self.concurrency)
        running: set[asyncio.Task] = set()
        while True:
            if feed is not None:
                feed.more.clear()  # before looking, so a batch stored meanwhile is not missed
            threads, unclaimed = await self._claim_batch(tried, replies, report)
            if feed is not None and unclaimed < ingest.FETCH_BATCH // 2:
                feed.room.set()
            for email_id in threads:
                await slots.acquire()
                task = asyncio.create_task(
                    self.claims.released_after(
                        email_id, self.guarded(email_id, self._run_claimed_thread, report)
                    )
                )
                task.add_done_callback(running.discard)
                task.add_done_callback(lambda _done: slots.release())
                running.add(task)
            if threads:
                continue
            if feed is None or (feed.finished and not feed.more.is_set()):
                break
            await feed.more.wait()
        await asyncio.gather(*running)
        for email_id in replies:
            await self.claims.released_after(
                email_id, self.guarded(email_id, self._handle_claimed_reply, report)
            )

    async def _claim_batch(
        self, tried: set[int], replies: list[int], report: PollReport
    ) -> tuple[list[int], int]:
        """Claim and sort pending emails not tried yet: up to `concurrency` order threads are
        returned with the number of pending emails left after them; replies are collected
        (claimed) for the end; ignored ones are done."""
        with self.services.sessions() as session:
            pending = [i for i in repo.pending_email_ids(session) if i not in tried]
        threads: list[int] = []
        looked = 0
        for email_id in pending:
            if len(threads) >= self.concurrency:
                break
            looked += 1
            tried.add(email_id)
            if not self.claims.claim(email_id):
                continue  # another worker has it
            kind = await self.guarded(email_id, self._sort, report)
            if kind == "reply":
                replies.append(email_id)
            elif kind == "thread":
                threads.append(email_id)
            else:
                self.claims.release(email_id)
        return threads, len(pending) - looked

    async def guarded(self, email_id: int, step: Callable[..., Awaitable[T]], report: PollReport) -> T | None:
        """Run one step for one email; an error is audited and retried on later polls (failures)."""
        try:
            with log_context(email_id=email_id):  # every log line of this email carries its id
                result = await step(email_id)
            report.processed += 1
            return result
        except Exception as exc:
            log.exception("processing email %s failed", email_id)
            report.errors.append(f"email {email_id}: {exc!r}")
            await record_processing_error(self.services, self.inbox, email_id, exc)
            return None

    async def _sort(self, email_id: int) -> str:
        return await sort_email(self.services, email_id)

    async def _run_claimed_thread(self, email_id: int) -> None:
        async with self._limit:
            if self.claims.claim(email_id):  # renewed: waiting for a slot may have taken a while
                await self._run_thread(email_id)

    async def _run_thread(self, email_id: int) -> None:
        config = thread_config(email_id)
        snapshot = await self.graph.aget_state(config)
        if snapshot.next and snapshot.interrupts:
            return  # waiting for a rep
        if not snapshot.next and snapshot.values:
            return  # finished already
        payload = None if snapshot.next else InputState(email_id=email_id)
        await run_thread(self.graph, self.services, email_id, payload)

    async def _handle_claimed_reply(self, email_id: int) -> None:
        """A reply resumes its draft's thread: hold that thread's email too, so no other worker
        runs or recovers the same thread meanwhile (tried again on a later poll when busy)."""
        email = parsed_email(self.services, email_id)
        match = match_reply(self.services, email)
        with self.services.sessions() as session:
            draft = repo.get_draft(session, match.draft_id)
            thread_email_id = draft.email_id if draft is not None else None
        if thread_email_id is not None and not self.claims.claim(thread_email_id, pending_only=False):
            log.info(
                "reply %s waits: thread of email %s is busy on another worker", email_id, thread_email_id
            )
            return
        try:
            await handle_reply(self.services, self.graph, email_id, email)
        finally:
            if thread_email_id is not None:
                self.claims.release(thread_email_id)
