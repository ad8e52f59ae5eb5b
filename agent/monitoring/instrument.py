"""Hooks that count into Metrics without touching the code they observe: an httpx transport
wrapper for the ERP client, and a wrapper for the free-text edit proposer."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from mailorder.agent.monitoring.metrics import Metrics


def erp_outcome(status: int | None, error: BaseException | None = None) -> str:
    """ok (< 400), client_error (4xx), server_error (5xx), timeout, connection_error (pure)."""
    if error is not None:
        return "timeout" if isinstance(error, httpx.TimeoutException) else "connection_error"
    assert status is not None
    if status >= 500:
        return "server_error"
    return "client_error" if status >= 400 else "ok"


class CountingTransport(httpx.AsyncBaseTransport):
    """Counts every request the ERP client sends (each retry is a request) by outcome, and times it."""

    def __init__(self, inner: httpx.AsyncBaseTransport, metrics: Metrics) -> None:
        self.inner, self.metrics = inner, metrics

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        started = time.perf_counter()
        try:
            response = await self.inner.handle_async_request(request)
        except Exception as exc:
            self._count(erp_outcome(None, exc), started)
            raise
        self._count(erp_outcome(response.status_code), started)
        return response

    def _count(self, outcome: str, started: float) -> None:
        self.metrics.erp_requests.labels(outcome).inc()
        self.metrics.erp_seconds.observe(time.perf_counter() - started)

    async def aclose(self) -> None:
        await self.inner.aclose()


class CountedEditProposer:
    """The free-text edit proposer, counted as model calls (purpose "edit"): outcome "ok" when it
    proposed operations, "empty" when not (the proposer answers [] both when the model saw nothing
    to change and when the call failed; its log tells which)."""

    def __init__(self, proposer: Callable[[str, str], Awaitable[list[Any]]], metrics: Metrics) -> None:
        self.proposer, self.metrics = proposer, metrics

    def __getattr__(self, name: str) -> Any:  # name, prompt, model: as the proposer has them
        return getattr(self.proposer, name)

    async def __call__(self, request: str, block: str) -> list[Any]:
        ops = await self.proposer(request, block)
        self.metrics.model_calls.labels("edit", "ok" if ops else "empty").inc()
        return ops
