"""The routes of the monitoring server and the liveness state `serve` keeps for /healthz."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST

from mailorder.agent.monitoring.http import HttpServer, Response
from mailorder.agent.monitoring.metrics import Metrics
from mailorder.agent.monitoring.readiness import ReadinessChecker


@dataclass
class Liveness:
    """What the loops of `serve` are doing: /healthz answers 200 while they run."""

    state: str = "starting"  # starting | running | draining | stopped
    polls: int = 0
    poll_started: float | None = None  # time.monotonic()
    poll_finished: float | None = None

    def poll_start(self) -> None:
        self.poll_started = time.monotonic()

    def poll_end(self) -> None:
        self.polls += 1
        self.poll_finished = time.monotonic()

    def body(self) -> dict[str, Any]:
        now = time.monotonic()

        def ago(t: float | None) -> float | None:
            return None if t is None else round(now - t, 1)

        in_poll = self.poll_started is not None and (
            self.poll_finished is None or self.poll_started > self.poll_finished
        )
        return {
            "status": "ok" if self.state == "running" else self.state,
            "polls": self.polls,
            "in_poll": in_poll,
            "seconds_since_poll_started": ago(self.poll_started),
            "seconds_since_poll_finished": ago(self.poll_finished),
        }


def routes(liveness: Liveness, readiness: ReadinessChecker, metrics: Metrics | None) -> dict[str, Any]:
    async def healthz() -> Response:
        return Response.json(200 if liveness.state == "running" else 503, liveness.body())

    async def readyz() -> Response:
        if liveness.state != "running":
            return Response.json(503, {"status": liveness.state, "failed": [], "checks": {}})
        result = await readiness.status()
        return Response.json(200 if result.ready else 503, result.body())

    async def prometheus() -> Response:
        assert metrics is not None
        body = await asyncio.to_thread(metrics.exposition)  # the store collector queries the database
        return Response(200, body, CONTENT_TYPE_LATEST)

    table = {"/healthz": healthz, "/readyz": readyz}
    if metrics is not None:
        table["/metrics"] = prometheus
    return table


@asynccontextmanager
async def serving(
    host: str, port: int, liveness: Liveness, readiness: ReadinessChecker, metrics: Metrics | None
) -> AsyncIterator[HttpServer]:
    async with HttpServer(host, port, routes(liveness, readiness, metrics)) as server:
        yield server
