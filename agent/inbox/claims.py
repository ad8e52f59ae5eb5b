"""Worker identity for claiming emails when several `serve` processes share one inbox.

A worker id is "host:pid:nonce". A claim is taken over when it is older than CLAIM_TIMEOUT (a
crashed worker on another machine), or at once when its holder is known dead: a process on this
host that no longer exists, or a closed runner in this process (a restart after a crash or a
cancelled poll must not wait for the timeout)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import TypeVar

from mailorder.agent.workflow.context import Services
from mailorder.store import repo

log = logging.getLogger(__name__)
T = TypeVar("T")

CLAIM_TIMEOUT = timedelta(minutes=10)
HEARTBEAT_SECONDS = CLAIM_TIMEOUT.total_seconds() / 5  # a working worker renews its claims this often

_live_in_this_process: set[str] = set()


def new_worker_id() -> str:
    worker = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
    _live_in_this_process.add(worker)
    return worker


def retire(worker: str) -> None:
    """This runner is closed: claims it left behind may be taken over at once."""
    _live_in_this_process.discard(worker)


def is_known_dead(worker: str | None) -> bool:
    """True only when we can tell for sure that the holder of a claim is gone."""
    if not worker:
        return False
    host, _, rest = worker.partition(":")
    pid_text, _, _nonce = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False  # another machine: only the timeout can tell
    pid = int(pid_text)
    if pid == os.getpid():
        return worker not in _live_in_this_process
    return not _pid_alive(pid)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


class Claims:
    """One worker's claims on stored emails (the unit of work of a thread): taken atomically in
    the store, renewed by a heartbeat while work runs, released when done or on close."""

    def __init__(self, services: Services, worker: str | None = None) -> None:
        self.services = services
        self.worker = worker or new_worker_id()
        self.heartbeat_seconds = HEARTBEAT_SECONDS
        self._held: set[int] = set()

    @property
    def held(self) -> int:
        return len(self._held)

    def claim(self, email_id: int, *, pending_only: bool = True) -> bool:
        """True when this worker holds the email now (a dead worker's claim is taken over, audited)."""
        now = self.services.clock()
        stale_before = now - CLAIM_TIMEOUT
        with self.services.sessions.begin() as session:
            won = repo.claim_email(
                session, email_id, self.worker, now, stale_before=stale_before, pending_only=pending_only
            )
            if not won:
                holder = repo.email_claim(session, email_id)
                if is_known_dead(holder):
                    won = repo.claim_email(
                        session,
                        email_id,
                        self.worker,
                        now,
                        stale_before=stale_before,
                        take_over=holder,
                        pending_only=pending_only,
                    )
                    if won:
                        repo.audit(
                            session,
                            now,
                            "agent",
                            "claim_taken_over",
                            email_id=email_id,
                            previous=holder,
                            worker=self.worker,
                        )
        if won:
            self._held.add(email_id)
        return won

    def release(self, email_id: int) -> None:
        self._held.discard(email_id)
        with self.services.sessions.begin() as session:
            repo.release_email(session, email_id, self.worker)

    async def released_after(self, email_id: int, step: Awaitable[T]) -> T:
        """Await a step on a claimed email, then release the claim whatever happened."""
        try:
            return await step
        finally:
            self.release(email_id)

    def close(self) -> None:
        """Release every claim so other workers take the emails over at once."""
        for email_id in list(self._held):
            self.release(email_id)
        retire(self.worker)

    @asynccontextmanager
    async def heartbeat(self) -> AsyncIterator[None]:
        """While working, renew this worker's claims, so a long step (a slow model or ERP) is
        never mistaken for a crashed worker by another machine."""

        async def beat() -> None:
            while True:
                await asyncio.sleep(self.heartbeat_seconds)  # a timer: nothing else to await
                held = sorted(self._held)
                with self.services.sessions.begin() as session:
                    kept = repo.renew_claims(session, held, self.worker, self.services.clock())
                if kept < len(held):
                    log.warning(
                        "%d claim(s) of this worker were taken over by another worker", len(held) - kept
                    )

        task = asyncio.create_task(beat())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
