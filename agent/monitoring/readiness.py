"""`/readyz`: can this worker do its job right now? An IMAP login, a database query and an ERP
request must succeed. Checked at most every `interval` seconds (the result is cached, and callers
arriving during a check share it), each check bounded by CHECK_TIMEOUT."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from mailorder.agent.config import Settings
from mailorder.mail.imap import ImapInbox
from mailorder.store import repo

log = logging.getLogger(__name__)

CHECK_TIMEOUT = 5.0  # seconds per check


@dataclass
class Readiness:
    ready: bool
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)
    checked_at: str = ""

    def body(self) -> dict[str, Any]:
        return {
            "status": "ready" if self.ready else "not ready",
            "failed": sorted(name for name, c in self.checks.items() if not c["ok"]),
            "checks": self.checks,
            "checked_at": self.checked_at,
        }


Check = Callable[[], Awaitable[None]]


class ReadinessChecker:
    def __init__(
        self,
        checks: dict[str, Check],
        *,
        interval: float = 5.0,
        timeout: float = CHECK_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.checks, self.interval, self.timeout, self.clock = checks, interval, timeout, clock
        self._last: Readiness | None = None
        self._at = float("-inf")
        self._lock = asyncio.Lock()

    async def status(self) -> Readiness:
        if self._fresh():
            assert self._last is not None
            return self._last
        async with self._lock:  # one check at a time; those waiting get its result
            if not self._fresh():
                self._last = await self._run()
                self._at = self.clock()
            assert self._last is not None
            return self._last

    def _fresh(self) -> bool:
        return self._last is not None and self.clock() - self._at < self.interval

    async def _run(self) -> Readiness:
        names = list(self.checks)
        results = await asyncio.gather(*(self._one(self.checks[n]) for n in names))
        checks = dict(zip(names, results, strict=True))
        readiness = Readiness(
            ready=all(c["ok"] for c in checks.values()),
            checks=checks,
            checked_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        if self._last is not None and readiness.ready != self._last.ready:
            failed = readiness.body()["failed"]
            log.warning(
                "readiness: %s", "ready again" if readiness.ready else f"not ready ({', '.join(failed)})"
            )
        return readiness

    async def _one(self, check: Check) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout):
                await check()
        except TimeoutError:
            return {"ok": False, "error": f"no answer within {self.timeout:g} s"}
        except Exception as exc:  # noqa: BLE001 - any failure makes the check fail, with its reason
            return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
        return {"ok": True, "ms": round(1000 * (time.perf_counter() - started), 1)}


def service_checks(
    settings: Settings,
    sessions: sessionmaker[Session],
    *,
    erp_transport: httpx.AsyncBaseTransport | None = None,
    timeout: float = CHECK_TIMEOUT,
) -> dict[str, Check]:
    """The checks of `serve`: IMAP login, a database query, an ERP request."""

    def query() -> tuple[int | None, int | None]:
        with sessions() as session:
            session.execute(text("SELECT 1"))
            state = repo.mailbox_state(session, settings.imap_folder)
            return (state.last_uid, state.uidvalidity) if state else (None, None)

    async def database() -> None:
        await asyncio.to_thread(query)

    def login() -> None:
        last_uid, uidvalidity = query()
        inbox = ImapInbox(
            settings.imap_host,
            settings.imap_port,
            settings.imap_user,
            settings.imap_password.get_secret_value(),
            ssl=settings.imap_ssl,
            folder=settings.imap_folder,
            timeout=timeout,
        )
        try:  # login, select the folder, list nothing (batch 0): read-only
            inbox.fetch_new(last_uid or 0, uidvalidity, max_bytes=0, batch=0)
        finally:
            inbox.close()

    async def imap() -> None:
        await asyncio.to_thread(login)

    async def erp() -> None:
        async with httpx.AsyncClient(
            base_url=settings.erp_url.rstrip("/"), transport=erp_transport, timeout=timeout
        ) as client:
            response = await client.get("/health")
        if response.status_code != 200:
            raise RuntimeError(f"GET /health answered {response.status_code}")

    return {"imap": imap, "database": database, "erp": erp}
