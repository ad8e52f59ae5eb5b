"""The monitoring pieces one by one: the HTTP server, the readiness cache, the store collector,
the ERP request counter and the model-call observer."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from types import SimpleNamespace

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from mailorder.agent.extract.ratelimit import LimitedExtractor, RateLimiter
from mailorder.agent.monitoring.endpoints import Liveness, routes
from mailorder.agent.monitoring.http import HttpServer, Response
from mailorder.agent.monitoring.instrument import CountedEditProposer, CountingTransport, erp_outcome
from mailorder.agent.monitoring.metrics import Metrics
from mailorder.agent.monitoring.readiness import ReadinessChecker
from mailorder.store import repo
from mailorder.store.db import make_engine, make_session_factory
from mailorder.store.models import DraftRecord, EmailRecord, OutboxMessage

T0 = datetime(2026, 3, 2, 9, 0)


def samples(metrics: Metrics) -> dict[tuple[str, tuple], float]:
    found = {}
    for family in text_string_to_metric_families(metrics.exposition().decode()):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


# --- HTTP --------------------------------------------------------------------------------------------
async def raw_request(port: int, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    return answer


async def test_http_server_routes_methods_and_bad_requests():
    async def hello() -> Response:
        return Response.json(200, {"hello": "world"})

    async def broken() -> Response:
        raise RuntimeError("boom")

    async with HttpServer("127.0.0.1", 0, {"/hello": hello, "/broken": broken}) as server:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
            ok = await client.get("/hello?x=1")
            assert ok.status_code == 200 and ok.json() == {"hello": "world"}
            assert ok.headers["connection"] == "close"
            assert (await client.head("/hello")).status_code == 200
            assert (await client.get("/nope")).status_code == 404
            assert (await client.post("/hello")).status_code == 405
            assert (await client.get("/broken")).status_code == 500
        assert (await raw_request(server.port, b"garbage\r\n\r\n")).startswith(b"HTTP/1.1 400")
        huge = b"GET /hello HTTP/1.1\r\n" + b"X-Pad: " + b"a" * 20000 + b"\r\n\r\n"
        assert (await raw_request(server.port, huge)).startswith(b"HTTP/1.1 400")


async def test_health_and_readiness_follow_the_service_state():
    calls = []

    async def fine() -> None:
        calls.append("fine")

    async def down() -> None:
        raise ConnectionRefusedError("connection refused")

    liveness = Liveness()
    readiness = ReadinessChecker({"imap": fine, "erp": down}, interval=60)
    table = routes(liveness, readiness, None)
    assert "/metrics" not in table
    assert (await table["/healthz"]()).status == 503  # starting
    liveness.state = "running"
    assert (await table["/healthz"]()).status == 200
    response = await table["/readyz"]()
    assert response.status == 503
    body = json.loads(response.body)
    assert body["failed"] == ["erp"] and body["checks"]["imap"]["ok"]
    assert "ConnectionRefusedError: connection refused" in body["checks"]["erp"]["error"]
    await table["/readyz"]()
    assert calls == ["fine"]  # cached within the interval
    liveness.state = "draining"
    assert (await table["/healthz"]()).status == 503


async def test_readiness_is_cached_shared_and_bounded():
    clock = SimpleNamespace(now=0.0)
    started = []

    async def slow() -> None:
        started.append(1)
        await asyncio.sleep(0.2)

    async def hangs() -> None:
        await asyncio.sleep(30)

    checker = ReadinessChecker({"slow": slow}, interval=5, clock=lambda: clock.now)
    results = await asyncio.gather(*(checker.status() for _ in range(5)))
    assert len(started) == 1 and all(r.ready for r in results)  # concurrent callers share one check
    clock.now = 4.9
    await checker.status()
    assert len(started) == 1
    clock.now = 5.1
    await checker.status()
    assert len(started) == 2
    bounded = ReadinessChecker({"hangs": hangs}, timeout=0.1)
    result = await bounded.status()
    assert not result.ready and "no answer within 0.1 s" in result.checks["hangs"]["error"]


# --- metrics -------------------------------------------------------------------------------------------
def test_store_collector_counts_emails_drafts_outbox_and_latencies(tmp_path):
    sessions = make_session_factory(make_engine(f"sqlite:///{tmp_path / 'mo.db'}"))
    with sessions.begin() as session:
        for i, (status, label) in enumerate(
            [("drafted", "order"), ("drafted", "order"), ("not_order", "quote_request"), ("received", None)],
            1,
        ):
            session.add(
                EmailRecord(
                    id=i,
                    message_id=f"<{i}@x>",
                    sender="c@x",
                    subject="s",
                    received_at=T0,
                    status=status,
                    triage_label=label,
                )
            )
        session.flush()
        session.add_all(
            [
                DraftRecord(id=1, email_id=1, status="confirmed", rep="r", created_at=T0, updated_at=T0),
                DraftRecord(
                    id=2, email_id=2, status="awaiting_review", rep="r", created_at=T0, updated_at=T0
                ),
            ]
        )
        session.add(
            OutboxMessage(
                message_id="<m@x>", kind="summary", sender="a", recipients=["r"], raw=b"x", created_at=T0
            )
        )
        for email_id in (1, 2, 3, 4):
            repo.audit(session, T0, "agent", "ingested", email_id=email_id)
        repo.audit(session, T0 + timedelta(seconds=3), "agent", "summary_sent", email_id=1, draft_id=1)
        repo.audit(session, T0 + timedelta(seconds=40), "agent", "summary_sent", email_id=2, draft_id=2)
        repo.audit(session, T0 + timedelta(seconds=50), "agent", "summary_sent", email_id=1, draft_id=1)  # v2
        repo.audit(session, T0 + timedelta(minutes=30), "rep", "approved", email_id=1, draft_id=1)

    metrics = Metrics()
    metrics.watch_store(sessions, cache_seconds=0)
    found = samples(metrics)
    assert found[("mailorder_emails_total", (("class", "order"),))] == 2
    assert found[("mailorder_emails_total", (("class", "quote_request"),))] == 1
    assert ("mailorder_emails_total", (("class", "received"),)) not in found  # not processed yet
    assert found[("mailorder_emails_pending", ())] == 1
    assert found[("mailorder_drafts", (("state", "confirmed"),))] == 1
    assert found[("mailorder_drafts", (("state", "awaiting_review"),))] == 1
    assert found[("mailorder_drafts", (("state", "rejected"),))] == 0
    assert found[("mailorder_outbox_pending", ())] == 1
    # first summaries only: 3 s and 40 s; the decision 30 min after the first summary
    assert found[("mailorder_email_to_summary_seconds_count", ())] == 2
    assert found[("mailorder_email_to_summary_seconds_sum", ())] == 43
    assert found[("mailorder_email_to_summary_seconds_bucket", (("le", "5"),))] == 1
    assert found[("mailorder_summary_to_decision_seconds_count", ())] == 1
    assert found[("mailorder_summary_to_decision_seconds_sum", ())] == 1800 - 3

    with sessions.begin() as session:  # new events are added, old ones not counted again
        repo.audit(session, T0 + timedelta(hours=1), "rep", "rejected", email_id=2, draft_id=2)
        repo.audit(session, T0 + timedelta(hours=2), "rep", "approved", email_id=1, draft_id=1)  # not first
    found = samples(metrics)
    assert found[("mailorder_email_to_summary_seconds_count", ())] == 2
    assert found[("mailorder_summary_to_decision_seconds_count", ())] == 2


def test_store_collector_caches_and_survives_a_broken_store(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'mo.db'}")
    metrics = Metrics()
    metrics.watch_store(make_session_factory(engine), cache_seconds=60)
    assert samples(metrics)[("mailorder_store_scrape_errors_total", ())] == 0
    assert metrics.store is not None
    metrics.store._at = float("-inf")  # the cache ran out

    def broken():
        raise RuntimeError("database gone")

    metrics.store.sessions = broken  # type: ignore[assignment]
    found = samples(metrics)
    assert found[("mailorder_store_scrape_errors_total", ())] == 1
    assert found[("mailorder_outbox_pending", ())] == 0  # the last figures are still shown


@pytest.mark.parametrize(
    ("status", "error", "outcome"),
    [
        (200, None, "ok"),
        (404, None, "client_error"),
        (503, None, "server_error"),
        (None, httpx.ConnectTimeout("t"), "timeout"),
        (None, httpx.ConnectError("c"), "connection_error"),
    ],
)
def test_erp_outcomes(status, error, outcome):
    assert erp_outcome(status, error) == outcome


async def test_erp_requests_are_counted_through_the_transport():
    answers = iter([200, 503])

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/down":
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(next(answers))

    metrics = Metrics()
    transport = CountingTransport(httpx.MockTransport(handler), metrics)
    async with httpx.AsyncClient(base_url="http://erp", transport=transport) as client:
        await client.get("/a")
        await client.get("/b")
        with pytest.raises(httpx.ConnectError):
            await client.get("/down")
    found = samples(metrics)
    assert found[("mailorder_erp_requests_total", (("outcome", "ok"),))] == 1
    assert found[("mailorder_erp_requests_total", (("outcome", "server_error"),))] == 1
    assert found[("mailorder_erp_requests_total", (("outcome", "connection_error"),))] == 1
    assert found[("mailorder_erp_request_seconds_count", ())] == 3


async def test_model_calls_and_tokens_are_counted():
    class Usage(SimpleNamespace):
        pass

    class Failed(Exception):
        usage = Usage(calls=0, prompt_tokens=0, completion_tokens=0)

    async def extractor(email, body, toolbox):
        if email == "bad":
            raise Failed()
        return SimpleNamespace(usage=Usage(calls=2, prompt_tokens=900, completion_tokens=100))

    metrics = Metrics()
    limited = LimitedExtractor(
        extractor, RateLimiter(concurrency=2, rpm=1000, tpm=10**6), observer=metrics.model_observer("extract")
    )
    await limited("good", None, None)
    with pytest.raises(Failed):
        await limited("bad", None, None)

    async def propose(request: str, block: str) -> list:
        return ["op"] if "make" in request else []

    counted = CountedEditProposer(propose, metrics)
    assert await counted("make it 4", "") == ["op"]
    assert await counted("thanks", "") == []
    found = samples(metrics)
    assert found[("mailorder_model_calls_total", (("outcome", "ok"), ("purpose", "extract")))] == 2
    assert found[("mailorder_model_calls_total", (("outcome", "failed"), ("purpose", "extract")))] == 1
    assert found[("mailorder_model_tokens_total", (("kind", "prompt"), ("purpose", "extract")))] == 900
    assert found[("mailorder_model_tokens_total", (("kind", "completion"), ("purpose", "extract")))] == 100
    assert found[("mailorder_model_calls_total", (("outcome", "ok"), ("purpose", "edit")))] == 1
    assert found[("mailorder_model_calls_total", (("outcome", "empty"), ("purpose", "edit")))] == 1
