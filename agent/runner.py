"""Feeds the inbox into the graph: ingest each message exactly once, start one thread per
order email, hand rep replies to agent.replies, and recover threads a crash interrupted."""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from agent import outbox
from agent.context import Services
from agent.graph import thread_config
from agent.screening import ignore_reason
from agent.replies import handle_reply, looks_like_reply, resume_claimed_replies
from mail.imap import FAILED_FOLDER, FetchedMessage, ImapInbox
from mail.message import ParsedEmail
from mail.parse import is_parseable, parse_email
from store import repo
from store.models import DraftRecord, EmailRecord, EmailStatus

log = logging.getLogger(__name__)


@dataclass
class PollReport:
    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    failed: int = 0
    processed: int = 0
    errors: list[str] = field(default_factory=list)


class Runner:
    def __init__(self, services: Services, graph, inbox: ImapInbox, *, concurrency: int = 8) -> None:
        self.services, self.graph, self.inbox = services, graph, inbox
        self._limit = asyncio.Semaphore(concurrency)
        self._lock = asyncio.Lock()

    async def poll_once(self) -> PollReport:
        """One poll: fetch, store, process; never raises (errors are logged and audited)."""
        async with self._lock:
            report = PollReport()
            try:
                await self._ingest(report)
            except Exception as exc:  # noqa: BLE001 - the poller must survive a broken mailbox
                log.exception("ingest failed")
                report.errors.append(f"ingest: {exc!r}")
            await self.process_pending(report)
            try:
                await outbox.flush(self.services)
            except Exception as exc:  # noqa: BLE001
                log.exception("outbox flush failed")
                report.errors.append(f"outbox: {exc!r}")
            return report

    # --- ingest --------------------------------------------------------------------------------
    async def _ingest(self, report: PollReport) -> None:
        settings, mailbox = self.services.settings, self.services.settings.imap_folder
        with self.services.sessions() as session:
            state = repo.mailbox_state(session, mailbox)
            last_uid, uidvalidity = (state.last_uid, state.uidvalidity) if state else (0, None)
        result = await asyncio.to_thread(self.inbox.fetch_new, last_uid, uidvalidity,
                                         max_bytes=settings.max_message_bytes)
        if uidvalidity is not None and result.uidvalidity != uidvalidity:
            with self.services.sessions.begin() as session:
                repo.audit(session, self.services.clock(), "agent", "uidvalidity_changed", old=uidvalidity,
                           new=result.uidvalidity)
        report.fetched = len(result.messages)
        seen, failed = [], []
        for message in result.messages:
            outcome = self._store(message, mailbox, result.uidvalidity)
            setattr(report, outcome, getattr(report, outcome) + 1)
            (failed if outcome == "failed" else seen).append(message.uid)
        if result.messages:
            await asyncio.to_thread(self.inbox.mark_seen, seen)
            await asyncio.to_thread(self.inbox.move, failed, FAILED_FOLDER)

    def _store(self, message: FetchedMessage, mailbox: str, uidvalidity: int) -> str:
        """Store one fetched message and advance the mailbox's last UID in the same transaction."""
        now = self.services.clock()
        error = None
        if message.truncated:
            error = f"message too large ({message.size} bytes > {self.services.settings.max_message_bytes})"
        elif not is_parseable(message.raw):
            error = "not a parseable email message"
        email = parse_email(message.raw)
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
        return "stored"

    # --- processing ----------------------------------------------------------------------------
    async def process_pending(self, report: PollReport | None = None) -> None:
        report = report or PollReport()
        with self.services.sessions() as session:
            pending = [e.id for e in repo.emails_with_status(session, EmailStatus.RECEIVED)]
        for email_id in pending:  # in arrival order: a reply is never handled before its draft
            try:
                await self.process_email(email_id)
                report.processed += 1
            except Exception as exc:  # noqa: BLE001 - one bad email must not stop the others
                log.exception("processing email %s failed", email_id)
                report.errors.append(f"email {email_id}: {exc!r}")
                with self.services.sessions.begin() as session:
                    repo.audit(session, self.services.clock(), "agent", "processing_error",
                               email_id=email_id, error=repr(exc))

    async def process_email(self, email_id: int) -> None:
        with self.services.sessions() as session:
            record = session.get(EmailRecord, email_id)
            raw = record.raw or b""
        email = parse_email(raw)
        reason = ignore_reason(email, self.services.agent_address)
        if reason is not None:
            self._mark(email_id, EmailStatus.IGNORED, "ignored", reason=reason)
            return
        if looks_like_reply(self.services, email):
            await handle_reply(self.services, self.graph, email_id, email)
            return
        async with self._limit:
            await self._run_thread(email_id)

    async def _run_thread(self, email_id: int) -> None:
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
        with self.services.sessions() as session:
            email_ids = [d.email_id for d in session.query(DraftRecord).all()]
        resumed = 0
        for email_id in email_ids:
            snapshot = await self.graph.aget_state(thread_config(email_id))
            if snapshot.next and not snapshot.interrupts:
                log.info("resuming interrupted thread for email %s at %s", email_id, snapshot.next)
                with self.services.sessions.begin() as session:
                    repo.audit(session, self.services.clock(), "agent", "thread_resumed", email_id=email_id,
                               at=list(snapshot.next))
                await self.graph.ainvoke(None, thread_config(email_id), context=self.services)
                resumed += 1
        return resumed + await resume_claimed_replies(self.services, self.graph)

    # --- helpers ---------------------------------------------------------------------------------
    def _mark(self, email_id: int, status: EmailStatus, action: str, **details) -> None:
        with self.services.sessions.begin() as session:
            session.get(EmailRecord, email_id).status = status
            repo.audit(session, self.services.clock(), "agent", action, email_id=email_id, **details)
