"""POST /api/classify on one console worker: classifications per second and p50/p99 latency over
loopback, next to GET /healthz measured in the same run (what the HTTP stack alone costs).

    .venv/bin/python benchmarks/bench_classify.py [--requests 4000] [--concurrency 1 4]

The console (`agent.console.app.create_app`, one uvicorn worker, access log off) runs in a child
process with a fresh SQLite store and one API token; the bodies are the sample emails of data/
(subject, sender, plain text; HTML-only emails as their text), sent in turn. Load comes from
`concurrency` client processes, each with one keep-alive connection (http.client) sending its next
request when the answer arrived (closed loop). Rate = all answers / wall time of the measured
phase; latency is per request, as the client saw it. Targets: >= 500/s, p99 <= 20 ms.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_RATE, TARGET_P99_MS = 500.0, 20.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(database_url: str, port: int) -> None:
    """The child process: one console worker."""
    import uvicorn

    from mailorder.agent.config import Settings
    from mailorder.agent.console.app import create_app

    settings = Settings(database_url=database_url, secret="bench-secret")
    uvicorn.run(create_app(settings), host="127.0.0.1", port=port, log_level="warning", access_log=False)


def make_token(database_url: str) -> str:
    from datetime import datetime

    from mailorder.agent.console.auth import new_api_token, sha256
    from mailorder.store import console as console_store
    from mailorder.store.db import make_engine, make_session_factory

    engine = make_engine(database_url)
    token = new_api_token()
    with make_session_factory(engine).begin() as session:
        console_store.add_api_token(
            session, datetime(2026, 1, 1), name="bench", token_hash=sha256(token), prefix=token[:10]
        )
    engine.dispose()
    return token


def bodies() -> list[bytes]:
    from mailorder.mail.html import html_to_text

    records = json.loads((ROOT / "data" / "emails.json").read_text(encoding="utf-8"))
    return [
        json.dumps(
            {
                "mailbox": r.get("receiving_email") or "orders@example.com",
                "sender": r.get("sender") or "",
                "subject": r.get("subject") or "",
                "body": r.get("body_text") or html_to_text(r.get("body_html") or ""),
            }
        ).encode()
        for r in records
    ]


def client(
    args: tuple[int, str, str, list[bytes], dict[str, str], int],
) -> tuple[float, float, list[float], int]:
    """One closed-loop client: (start, end, latencies in ms, non-2xx answers)."""
    port, method, path, payloads, headers, count = args
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies, errors = [], 0
    start = time.perf_counter()
    for i in range(count):
        body = payloads[i % len(payloads)] if payloads else None
        sent = time.perf_counter()
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        latencies.append((time.perf_counter() - sent) * 1000)
        errors += not 200 <= response.status < 300
    end = time.perf_counter()
    conn.close()
    return start, end, latencies, errors


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(
    port: int, method: str, path: str, payloads, headers, total: int, concurrency: int, pid: int
) -> dict:
    cpu_before = cpu_seconds(pid)
    per_client = max(1, total // concurrency)
    jobs = [
        (port, method, path, payloads[i::concurrency] or payloads, headers, per_client)
        for i in range(concurrency)
    ]
    with multiprocessing.get_context("fork").Pool(concurrency) as pool:
        results = pool.map(client, jobs)
    cpu = cpu_seconds(pid) - cpu_before
    start = min(r[0] for r in results)
    end = max(r[1] for r in results)
    latencies = sorted(lat for r in results for lat in r[2])
    count = len(latencies)
    return {
        "requests": count,
        "errors": sum(r[3] for r in results),
        "rate": count / (end - start),
        "p50_ms": statistics.median(latencies),
        "p99_ms": latencies[min(count - 1, int(0.99 * count))],
        "max_ms": latencies[-1],
        "cpu_ms": 1000 * cpu / count,  # the server's CPU per request
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=4000, help="requests per measurement")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4], help="client processes")
    parser.add_argument("--serve", nargs=2, metavar=("DATABASE_URL", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]))
        return
    with tempfile.TemporaryDirectory() as folder:
        database_url = f"sqlite:///{Path(folder) / 'bench.db'}"
        token = make_token(database_url)
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("MAILORDER_")}
        server = subprocess.Popen([sys.executable, __file__, "--serve", database_url, str(port)], env=env)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                        break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise SystemExit("the console did not start") from None
                    time.sleep(0.1)
            payloads = bodies()
            auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            measure(port, "POST", "/api/classify", payloads, auth, 300, 2, server.pid)  # warm-up
            measure(port, "GET", "/healthz", [], {}, 300, 2, server.pid)
            print(
                f"{'endpoint':<16} {'clients':>7} {'requests':>8} {'per s':>8} {'p50 ms':>7} {'p99 ms':>7} "
                f"{'max ms':>7} {'server CPU ms/req':>17}"
            )
            for concurrency in args.concurrency:
                for label, method, path, sent, headers in (
                    ("/api/classify", "POST", "/api/classify", payloads, auth),
                    ("/healthz", "GET", "/healthz", [], {}),
                ):
                    r = measure(port, method, path, sent, headers, args.requests, concurrency, server.pid)
                    flag = ""
                    if label == "/api/classify":
                        ok = r["rate"] >= TARGET_RATE and r["p99_ms"] <= TARGET_P99_MS
                        flag = "  meets target" if ok else "  BELOW TARGET (>= 500/s, p99 <= 20 ms)"
                    print(
                        f"{label:<16} {concurrency:>7} {r['requests']:>8} {r['rate']:>8.0f} "
                        f"{r['p50_ms']:>7.2f} {r['p99_ms']:>7.2f} {r['max_ms']:>7.1f} "
                        f"{r['cpu_ms']:>17.2f}{flag}" + (f"  ({r['errors']} errors)" if r["errors"] else "")
                    )
            print(f"load average (1 min): {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
