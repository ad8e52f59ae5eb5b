"""Graceful shutdown of `serve`: signals, and the gate that stops new work while work in flight
finishes.

SIGTERM or SIGINT once: stop polling and claiming, let the emails in flight finish (bounded by
MAILORDER_DRAIN_SECONDS), flush the outbox once, close everything, exit 0. A second signal exits
at once: as safe as a crash (tests/test_crash_consistency.py), the next start recovers the rest.

The gate works from outside the inbox rooms: it wraps one runner's `Claims` (no new email is
claimed once it is closed; threads, replies and outbox work already claimed go on) and the
inbox client hands out no new messages while it is closed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Collection
from typing import Any

from mailorder.agent.inbox.claims import Claims
from mailorder.mail.imap import FetchResult, ImapInbox

log = logging.getLogger(__name__)

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class DrainGate:
    """Open while serving; closed when a shutdown starts. Knows which emails its runner holds."""

    def __init__(self) -> None:
        self.closed = False
        self.held: set[int] = set()

    def close(self) -> None:
        self.closed = True

    def install(self, claims: Claims) -> None:
        """Wrap this Claims object: new claims of pending emails are refused once the gate is
        closed (renewals of work already running, its reply threads and outbox work are not)."""
        claim, release = claims.claim, claims.release

        def gated_claim(email_id: int, *, pending_only: bool = True) -> bool:
            if self.closed and pending_only:
                return False
            won = claim(email_id, pending_only=pending_only)
            if won:
                self.held.add(email_id)
            return won

        def tracked_release(email_id: int) -> None:
            self.held.discard(email_id)
            release(email_id)

        claims.claim = gated_claim  # type: ignore[method-assign]
        claims.release = tracked_release  # type: ignore[method-assign]


class DrainingInbox(ImapInbox):
    """The order inbox; fetches nothing new once its gate is closed (what was fetched is stored)."""

    def __init__(self, *args: Any, gate: DrainGate, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gate = gate

    def fetch_new(
        self,
        last_uid: int,
        known_uidvalidity: int | None,
        *,
        max_bytes: int,
        batch: int = 100,
        skip: Collection[int] = (),
    ) -> FetchResult:
        if self.gate.closed:
            return FetchResult(uidvalidity=known_uidvalidity or 0)
        return super().fetch_new(last_uid, known_uidvalidity, max_bytes=max_bytes, batch=batch, skip=skip)


class ShutdownSignals:
    """First SIGTERM/SIGINT sets `stop`; the second exits the process at once."""

    def __init__(self, stop: asyncio.Event) -> None:
        self.stop = stop
        self.received: list[str] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    def install(self, loop: asyncio.AbstractEventLoop) -> bool:
        try:
            for sig in SIGNALS:
                loop.add_signal_handler(sig, self._on_signal, sig)
        except (RuntimeError, ValueError, NotImplementedError):  # not the main thread: the caller stops us
            return False
        self._loop = loop
        return True

    def remove(self) -> None:
        if self._loop is not None:
            for sig in SIGNALS:
                self._loop.remove_signal_handler(sig)
            self._loop = None

    def _on_signal(self, sig: signal.Signals) -> None:
        self.received.append(sig.name)
        if len(self.received) == 1:
            log.info("%s received: shutting down (again to exit at once)", sig.name)
            self.stop.set()
            return
        log.warning("%s received again: exiting now; the next start recovers what was in flight", sig.name)
        for handler in logging.getLogger().handlers:
            handler.flush()
        sys.stdout.flush()
        os._exit(128 + sig.value)
