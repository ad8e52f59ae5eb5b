"""`mailorder serve` as operators run it, black-box: a child process against real loopback servers.

- /healthz, /readyz (503 naming the ERP while it is down, 200 again when it is back), /metrics in
  Prometheus text whose email counters count the emails processed;
- SIGTERM drains the emails in flight and exits 0; after a restart every email has exactly one
  summary; a second signal exits at once and nothing is lost either;
- read-only commands never create a database."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from mailorder.mail.devserver import DevMailServer
from mailorder.mock_erp.faults import Faults
from mailorder.mock_erp.server import ErpServer
from tests.conftest import ROOT, free_port
from tests.loop_harness import ORDERS, PASSWORD, REP, Loop, catalog, known_contact, order_email
from tests.serve_process import Serve, serve_env, wait_for

pytestmark = pytest.mark.e2e

START_S = 120.0  # a child's start (imports, catalog) on a busy 2-core machine


def _helper(tmp_path: Path, imap_port: int, smtp_port: int) -> Loop:
    """A Loop only for its mailbox helpers (no agent inside)."""
    from mailorder.mail.smtp import SmtpSender

    helper = Loop(tmp_path, clock=None)
    helper.imap_port, helper.smtp_port, helper.smtp = imap_port, smtp_port, SmtpSender("127.0.0.1", smtp_port)
    return helper


def _orders(n: int, tag: str) -> list:
    sender, _ = known_contact()
    products = [p for p in catalog() if p.get("active", True)]
    return [
        order_email(
            sender, f"{tag} {i}", f"Goedemorgen,\n\nGraag {i % 4 + 1}x {products[i % len(products)]['sku']}\n"
        )
        for i in range(n)
    ]


def _get(url: str) -> httpx.Response | None:
    try:
        return httpx.get(url, timeout=10)
    except httpx.HTTPError:
        return None


def _status(url: str) -> int | None:
    response = _get(url)
    return None if response is None else response.status_code


def _db(path: Path, sql: str) -> list[tuple]:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as con:
            return con.execute(sql).fetchall()
    except sqlite3.Error:
        return []  # not created yet


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    """Every sample of a Prometheus text exposition, parsed by prometheus-client's own parser."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def _total(samples: dict, name: str) -> float:
    return sum(v for (n, _), v in samples.items() if n == name)


async def test_health_readiness_and_metrics_over_http(tmp_path):
    smtp_port, imap_port, erp_port, http_port = free_port(), free_port(), free_port(), free_port()
    erp_db = f"sqlite:///{tmp_path / 'erp.db'}"
    with DevMailServer(
        tmp_path / "mail", smtp_port=smtp_port, imap_port=imap_port, accounts=[ORDERS, REP], password=PASSWORD
    ):
        erp = ErpServer(ROOT / "data", erp_db, port=erp_port).start()
        env = serve_env(
            imap_port=imap_port,
            smtp_port=smtp_port,
            erp_url=erp.url,
            database=tmp_path / "mo.db",
            reps=REP,
            imap_user=ORDERS,
            imap_password=PASSWORD,
            MAILORDER_HTTP_PORT=str(http_port),
            MAILORDER_READY_INTERVAL="0.5",
        )
        base = f"http://127.0.0.1:{http_port}"
        helper = _helper(tmp_path, imap_port, smtp_port)
        serve = Serve(env, tmp_path / "serve.log").start()
        try:
            wait_for(lambda: _status(f"{base}/healthz") == 200, timeout=START_S, what="/healthz 200")
            wait_for(lambda: _status(f"{base}/readyz") == 200, timeout=30, what="/readyz 200")
            for message in _orders(3, "metrics"):
                await helper.send(message)

            def counted() -> dict | None:
                response = _get(f"{base}/metrics")
                if response is None or response.status_code != 200:
                    return None
                samples = _samples(response.text)
                done = _total(samples, "mailorder_emails_total") == 3
                return (
                    samples
                    if done and _total(samples, "mailorder_email_to_summary_seconds_count") == 3
                    else None
                )

            samples = wait_for(counted, timeout=60, what="3 emails counted in /metrics", interval=0.5)
            assert samples[("mailorder_emails_total", (("class", "order"),))] == 3
            assert samples[("mailorder_drafts", (("state", "awaiting_review"),))] == 3
            assert samples[("mailorder_outbox_pending", ())] == 0
            assert samples[("mailorder_erp_requests_total", (("outcome", "ok"),))] > 0
            assert ("mailorder_summary_to_decision_seconds_count", ()) in samples
            assert ("mailorder_claims_held", ()) in samples
            assert ("mailorder_model_calls_total", (("outcome", "ok"), ("purpose", "extract"))) in samples
            assert _total(samples, "mailorder_email_steps_total") >= 3

            # the ERP goes down: /readyz says so (naming it) within 45 s, and recovers with it
            erp.stop()
            down_at = time.monotonic()

            def not_ready() -> dict | None:
                response = _get(f"{base}/readyz")
                return response.json() if response is not None and response.status_code == 503 else None

            body = wait_for(not_ready, timeout=45, what="/readyz 503 with the ERP down", interval=0.3)
            assert time.monotonic() - down_at < 45
            assert (
                body["failed"] == ["erp"]
                and body["checks"]["imap"]["ok"]
                and body["checks"]["database"]["ok"]
            )
            assert body["checks"]["erp"]["error"]
            assert _status(f"{base}/healthz") == 200  # the loops still run
            erp = ErpServer(ROOT / "data", erp_db, port=erp_port).start()
            wait_for(lambda: _status(f"{base}/readyz") == 200, timeout=45, what="/readyz 200 again")
            assert _status(f"{base}/nothing-here") == 404
        finally:
            output = serve.stop()
            erp.stop()
        assert serve.returncode == 0, output
        assert "Traceback" not in output, output
        assert f"HTTP endpoints on http://127.0.0.1:{http_port}" in output


async def test_serve_waits_for_an_erp_that_is_down_at_start_and_a_stop_meanwhile_is_clean(tmp_path):
    """The catalog comes from the ERP: started before it, serve says so in one line and tries
    again (1 s, 2 s, 4 s …) instead of dying with a traceback; once the ERP answers it runs."""
    smtp_port, imap_port, erp_port = free_port(), free_port(), free_port()
    erp_db = f"sqlite:///{tmp_path / 'erp.db'}"
    with DevMailServer(
        tmp_path / "mail", smtp_port=smtp_port, imap_port=imap_port, accounts=[ORDERS, REP], password=PASSWORD
    ):
        env = serve_env(
            imap_port=imap_port,
            smtp_port=smtp_port,
            erp_url=f"http://127.0.0.1:{erp_port}",
            database=tmp_path / "mo.db",
            reps=REP,
            imap_user=ORDERS,
            imap_password=PASSWORD,
            MAILORDER_ERP_ATTEMPTS="1",
        )
        waiting = "cannot start yet, the ERP does not answer"
        serve = Serve(env, tmp_path / "first.log").start()
        try:
            wait_for(lambda: waiting in serve.output(), timeout=START_S, what="serve waiting for the ERP")
        finally:
            output = serve.stop()
        assert serve.returncode == 0 and "nothing was started" in output, output
        assert "Traceback" not in output, output

        helper = _helper(tmp_path, imap_port, smtp_port)
        serve = Serve(env, tmp_path / "second.log").start()
        erp = None
        try:
            wait_for(lambda: waiting in serve.output(), timeout=START_S, what="serve waiting for the ERP")
            erp = ErpServer(ROOT / "data", erp_db, port=erp_port).start()
            wait_for(lambda: "serving:" in serve.output(), timeout=START_S, what="serve started")
            for message in _orders(1, "late erp"):
                await helper.send(message)
            wait_for(lambda: helper.rep_mail("summary"), timeout=60, what="a summary")
        finally:
            output = serve.stop()
            if erp is not None:
                erp.stop()
        assert serve.returncode == 0, output
        assert "Traceback" not in output, output


async def test_sigterm_drains_then_a_restart_sends_every_email_exactly_one_summary(tmp_path):
    smtp_port, imap_port = free_port(), free_port()
    n = 25
    with (
        DevMailServer(
            tmp_path / "mail",
            smtp_port=smtp_port,
            imap_port=imap_port,
            accounts=[ORDERS, REP],
            password=PASSWORD,
        ),
        ErpServer(ROOT / "data", f"sqlite:///{tmp_path / 'erp.db'}", port=free_port()) as erp,
    ):
        database = tmp_path / "mo.db"
        env = serve_env(
            imap_port=imap_port,
            smtp_port=smtp_port,
            erp_url=erp.url,
            database=database,
            reps=REP,
            imap_user=ORDERS,
            imap_password=PASSWORD,
            MAILORDER_CONCURRENCY="3",
        )
        helper = _helper(tmp_path, imap_port, smtp_port)
        for message in _orders(n, "drain"):
            await helper.send(message)
        serve = Serve(env, tmp_path / "serve.log").start()
        try:
            wait_for(lambda: "serving:" in serve.output(), timeout=START_S, what="serve started")
            erp.faults.update({"latency_ms": 150})  # each email takes a while: some are in flight
            wait_for(
                lambda: len(_db(database, "select id from drafts")) >= 3, timeout=60, what="first drafts"
            )
            serve.signal(signal.SIGTERM)
            code = serve.wait_exit(timeout=60)
            first_run = serve.output()
            assert code == 0, first_run
            assert "SIGTERM received" in first_run and "drained in" in first_run, first_run
            done_before = len(
                _db(database, "select id from outbox where kind = 'summary' and status = 'sent'")
            )
            assert _db(database, "select id from emails where claimed_by is not null") == []

            erp.faults.update({"latency_ms": 0})
            serve.start()
            summaries = wait_for(
                lambda: (s := helper.rep_mail("summary")) and len(s) >= n and s,
                timeout=120,
                what=f"{n} summaries",
                interval=0.5,
            )
            time.sleep(1.0)  # a duplicate would arrive now
            summaries = helper.rep_mail("summary")
        finally:
            output = serve.stop()
        ids = [str(m["Message-ID"]) for m in summaries]
        assert len(ids) == n and len(set(ids)) == n, (done_before, sorted(ids))
        drafts = _db(database, "select email_id from drafts")
        assert len(drafts) == n and len({e for (e,) in drafts}) == n
        assert _db(database, "select count(*) from outbox where kind = 'summary' and status = 'sent'") == [
            (n,)
        ]
        assert "Traceback" not in output, output


async def test_a_second_signal_exits_at_once_and_the_restart_loses_nothing(tmp_path):
    smtp_port, imap_port = free_port(), free_port()
    n = 6
    with (
        DevMailServer(
            tmp_path / "mail",
            smtp_port=smtp_port,
            imap_port=imap_port,
            accounts=[ORDERS, REP],
            password=PASSWORD,
        ),
        ErpServer(
            ROOT / "data", f"sqlite:///{tmp_path / 'erp.db'}", port=free_port(), faults=Faults()
        ) as erp,
    ):
        database = tmp_path / "mo.db"
        env = serve_env(
            imap_port=imap_port,
            smtp_port=smtp_port,
            erp_url=erp.url,
            database=database,
            reps=REP,
            imap_user=ORDERS,
            imap_password=PASSWORD,
        )
        helper = _helper(tmp_path, imap_port, smtp_port)
        serve = Serve(env, tmp_path / "serve.log").start()
        try:
            wait_for(lambda: "serving:" in serve.output(), timeout=START_S, what="serve started")
            erp.faults.update({"latency_ms": 4000})  # every email now hangs on the ERP
            for message in _orders(n, "impatient"):
                await helper.send(message)
            wait_for(
                lambda: _db(database, "select id from emails where claimed_by is not null"),
                timeout=60,
                what="emails in flight",
            )
            serve.signal(signal.SIGTERM)
            wait_for(lambda: "SIGTERM received" in serve.output(), timeout=10, what="first signal logged")
            started = time.monotonic()
            serve.signal(signal.SIGTERM)
            code = serve.wait_exit(timeout=15)
            assert time.monotonic() - started < 5, serve.output()
            assert code == 128 + signal.SIGTERM, serve.output()
            assert "received again: exiting now" in serve.output()

            erp.faults.update({"latency_ms": 0})
            serve.start()
            wait_for(
                lambda: len({str(m["Message-ID"]) for m in helper.rep_mail("summary")}) >= n,
                timeout=120,
                what=f"{n} summaries after the restart",
                interval=0.5,
            )
        finally:
            output = serve.stop()
        # as after a crash: every email one summary; a re-send would carry the same Message-ID
        assert len({str(m["Message-ID"]) for m in helper.rep_mail("summary")}) == n
        assert len(_db(database, "select id from drafts")) == n
        assert "Traceback" not in output.split("received again")[-1], output


def test_read_only_commands_never_create_a_database(tmp_path):
    missing = tmp_path / "nowhere" / "mo.db"
    env = serve_env(
        imap_port=1, smtp_port=1, erp_url="http://127.0.0.1:9", database=missing, reps=REP, imap_user=ORDERS
    )
    result = subprocess.run(
        [sys.executable, "-m", "mailorder", "stats"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result
    assert str(missing) in result.stderr
    assert not missing.exists() and not missing.parent.exists()
    # the default location is the data dir under the working directory: named, not created
    env.pop("MAILORDER_DATABASE_URL")
    for command in (["orders", "list"], ["aliases", "list"], ["stats", "--json"]):
        result = subprocess.run(
            [sys.executable, "-m", "mailorder", *command],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 2, (command, result)
        assert str(tmp_path / "var" / "mailorder.db") in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []
