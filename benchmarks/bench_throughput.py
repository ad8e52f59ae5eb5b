"""Backlog throughput of the whole agent on loopback: IMAP in, drafts, summary emails out.

The dev mail server, the mock ERP and (with --llm) the fake OpenAI server run in a child
process, so the agent process has its own core and GIL, as in production. N varied order
emails (the sample dataset's order emails plus emails generated from the catalog, each with a
unique Message-ID) are delivered by SMTP first; then the clock starts, the agent's runner
(agent.service.open_runner + poll_once) drains the inbox, and the rate is summaries sent per
second from the first poll to the last summary.

    .venv/bin/python benchmarks/bench_throughput.py                    # rules, ERP 0 ms and 50 ms
    .venv/bin/python benchmarks/bench_throughput.py --n 200 --runs 1   # a quick run
    .venv/bin/python benchmarks/bench_throughput.py --only llm         # fake model, 1.5 s per answer
    .venv/bin/python benchmarks/bench_throughput.py --profile          # cProfile of one run
    .venv/bin/python benchmarks/bench_throughput.py --only rules --http-port   # monitoring overhead
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import hashlib
import io
import json
import logging
import multiprocessing as mp
import os
import pstats
import random
import re
import smtplib
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mailorder.agent.config import Settings  # noqa: E402
from mailorder.agent.evaluation.dataset import load_emails, record_to_message  # noqa: E402

ORDERS, REP, PASSWORD = "orders@example.com", "rep@example.com", "dev"
DATA = ROOT / "data"
LLM_DELAY_S = 1.5
SKU = re.compile(r"\b\d{2}-\d{4}-\d{4}\b")


# --- the emails ----------------------------------------------------------------------------------
def _json(name: str) -> list[dict[str, Any]]:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def known_senders() -> list[str]:
    companies = {c["id"] for c in _json("companies.json")}
    return [c["email_address"] for c in _json("contacts.json") if c["company_id"] in companies]


def order_line(product: dict[str, Any], rng: random.Random) -> str:
    """One order line in a shape customers use: SKU, name with unit, or a table row."""
    qty = rng.randint(1, 12)
    unit = rng.choice([u["unit"] for u in product.get("units", [])] or [product["base_unit"]])
    shape = rng.randrange(4)
    if shape == 0:
        return f"{qty}x {product['sku']}"
    if shape == 1:
        return f"{qty} {unit} {product['name']}"
    if shape == 2:
        return f"{product['name']} | {qty} | {unit}"
    return f"- {product['sku'].replace('-', '')} {product['name'][:30]}, aantal {qty} {unit}"


def generated_order(
    index: int, products: list[dict[str, Any]], senders: list[str], rng: random.Random
) -> EmailMessage:
    lines = [order_line(p, rng) for p in rng.sample(products, rng.randint(1, 6))]
    greeting = rng.choice(["Goedemorgen", "Hallo", "Beste collega's", "Guten Tag"])
    message = EmailMessage()
    message["From"] = rng.choice(senders)
    message["To"] = ORDERS
    message["Subject"] = rng.choice(["Bestelling", "Order", "bestelling week", "PO"]) + f" {1000 + index}"
    message["Date"] = "Mon, 02 Mar 2026 08:30:00 +0100"
    message.set_content(
        f"{greeting},\n\nGraag het volgende bestellen:\n\n"
        + "\n".join(lines)
        + f"\n\nReferentie: REF-{index}\n\nMet vriendelijke groet,\nInkoop\nTel 0123-456789\n"
    )
    return message


def backlog(n: int, seed: int = 7) -> list[bytes]:
    """n order emails: the dataset's order emails in turn with generated ones, unique Message-IDs."""
    rng = random.Random(seed)
    products = [p for p in _json("products.json") if p.get("active", True)]
    senders = known_senders()
    truth = {r["email_id"] for r in _json("emails.json") if r.get("is_order_email")}
    samples = [r for r in load_emails(DATA) if r["email_id"] in truth]
    raws = []
    for i in range(n):
        if i % 2 == 0 and samples:
            message = record_to_message(samples[(i // 2) % len(samples)], to=ORDERS)
        else:
            message = generated_order(i, products, senders, rng)
        del message["Message-ID"]
        message["Message-ID"] = (
            f"<bench-{i}-{hashlib.sha1(str(seed).encode()).hexdigest()[:8]}@bench.invalid>"
        )
        raws.append(message.as_bytes(policy=policy.SMTP))
    return raws


# --- the servers, in a child process -------------------------------------------------------------
def fake_model_answer(body: dict[str, Any]) -> Any:
    """A valid order after LLM_DELAY_S: the SKUs written in the email, else the first catalog hit."""
    from tests.fake_openai import Delay

    user = next((m.get("content") or "" for m in body.get("messages", []) if m.get("role") == "user"), "")
    skus = list(dict.fromkeys(SKU.findall(user)))[:6] or ["06-0100-1000"]
    lines = [{"sku": s, "qty": 1, "unit": None, "source_text": s, "reference": None} for s in skus]
    return Delay(LLM_DELAY_S, {"is_order": True, "lines": lines, "reference": None, "delivery_date": None})


def serve_children(conn, workdir: str, with_llm: bool) -> None:
    """Child process: mail server, ERP, fake model; report ports, then wait for commands."""
    logging.basicConfig(level=logging.WARNING)
    from mailorder.mail.devserver import DevMailServer
    from mailorder.mock_erp.server import ErpServer

    work = Path(workdir)
    mail = DevMailServer(work / "mail", smtp_port=0, imap_port=0, accounts=[ORDERS, REP], password=PASSWORD)
    erp = ErpServer(DATA, f"sqlite:///{work / 'erp.db'}", port=0)
    mail.start()
    erp.start()
    fake = None
    if with_llm:
        from tests.fake_openai import FakeOpenAI

        fake = FakeOpenAI(responder=fake_model_answer).start()
    conn.send(
        {
            "smtp": mail.smtp_port,
            "imap": mail.imap_port,
            "erp": erp.url,
            "llm": fake.base_url if fake else None,
        }
    )
    while True:
        command = conn.recv()
        if command == "cpu":
            conn.send(time.process_time())
        elif command == "tokens":
            conn.send([r.prompt_tokens for r in fake.history] if fake else [])
        elif command == "stop":
            break
    if fake:
        fake.stop()
    erp.stop()
    mail.stop()
    conn.send("stopped")


@dataclass
class Servers:
    smtp: int
    imap: int
    erp: str
    llm: str | None
    process: Any
    conn: Any

    def prompt_tokens(self) -> list[int]:
        self.conn.send("tokens")
        return self.conn.recv()

    def cpu(self) -> float:
        self.conn.send("cpu")
        return self.conn.recv()

    def stop(self) -> None:
        self.conn.send("stop")
        self.conn.recv()
        self.process.join(10)


def start_servers(workdir: Path, with_llm: bool) -> Servers:
    parent, child = mp.Pipe()
    process = mp.get_context("spawn").Process(
        target=serve_children, args=(child, str(workdir), with_llm), daemon=True
    )
    process.start()
    ports = parent.recv()
    return Servers(ports["smtp"], ports["imap"], ports["erp"], ports["llm"], process, parent)


def deliver(raws: list[bytes], smtp_port: int) -> None:
    """All messages over one SMTP session, before the clock starts."""
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=60) as client:
        for raw in raws:
            client.sendmail("bench@customer.example", [ORDERS], raw)


def wait_for_inbox(imap_port: int, n: int, timeout: float = 120.0) -> None:
    """Until the IMAP INBOX shows n messages (the maildir backend notices files about once a second)."""
    from imapclient import IMAPClient

    deadline = time.monotonic() + timeout
    with IMAPClient("127.0.0.1", port=imap_port, ssl=False) as client:
        client.login(ORDERS, PASSWORD)
        while True:
            client.select_folder("INBOX", readonly=True)
            exists = client.folder_status("INBOX", ["MESSAGES"])[b"MESSAGES"]
            if exists >= n:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {exists} of {n} messages arrived")
            time.sleep(0.2)


# --- one measured run ----------------------------------------------------------------------------
@dataclass
class RunResult:
    label: str
    emails: int
    seconds: float
    summaries: int
    ignored: int
    failed: int
    polls: int
    prompt_tokens: list[int] = field(default_factory=list)
    latency_p50: float = 0.0  # ingest -> summary sent, seconds (queueing included)
    latency_p95: float = 0.0
    agent_cpu_s: float = 0.0  # CPU seconds of the agent process (all threads) while draining
    load: float = 0.0  # 1-minute load average at the end (other work on the machine = noise)
    servers_cpu_s: float = 0.0  # CPU seconds of the server process (mail, ERP, fake model)

    @property
    def rate(self) -> float:
        return self.summaries / self.seconds if self.seconds else 0.0


def settings_for(servers: Servers, workdir: Path, args: argparse.Namespace) -> Settings:
    values: dict[str, Any] = dict(
        imap_port=servers.imap,
        smtp_port=servers.smtp,
        imap_user=ORDERS,
        imap_password=PASSWORD,
        from_address=ORDERS,
        erp_url=servers.erp,
        reps=[REP],
        secret="bench-secret",
        database_url=f"sqlite:///{workdir / 'mailorder.db'}",
        concurrency=args.concurrency,
        http_port=0 if args.http_port else None,  # 0: the OS picks a free port
    )
    if servers.llm:
        values.update(
            openai_api_key="bench-key",
            openai_base_url=servers.llm,
            model="fake-model",
            llm_timeout=30,
            llm_concurrency=args.llm_concurrency,
            llm_rpm=args.llm_rpm,
        )
    return Settings(**values)


async def drain(settings: Settings, n: int, profile: cProfile.Profile | None) -> tuple[float, int, dict]:
    """Open the runner (catalog load not timed), then poll until every email is handled."""
    from contextlib import AsyncExitStack

    from mailorder.agent.service import open_runner
    from mailorder.store.models import EmailRecord, EmailStatus, OutboxMessage

    async with AsyncExitStack() as stack:
        metrics = None
        if settings.http_port is not None:  # --http-port: monitoring on, scraped every second
            from mailorder.agent.monitoring.metrics import Metrics

            metrics = Metrics()
        runner = await stack.enter_async_context(open_runner(settings, metrics=metrics))
        if settings.http_port is not None:
            await monitored(stack, settings, runner, metrics)
        sessions = runner.services.sessions
        polls, idle = 0, 0
        if profile:
            profile.enable()
        started, cpu_started = time.perf_counter(), time.process_time()
        while True:
            report = await runner.poll_once()
            polls += 1
            with sessions() as s:
                pending = s.query(EmailRecord).filter(EmailRecord.status == EmailStatus.RECEIVED).count()
                stored = s.query(EmailRecord).count()
            if stored >= n and pending == 0:
                break
            idle = idle + 1 if report.fetched == 0 and report.processed == 0 else 0
            if idle > 50:
                raise RuntimeError(
                    f"stalled: {stored} stored, {pending} pending; last errors {report.errors[:3]}"
                )
        with sessions() as s:
            last_sent = max(
                (o.sent_at for o in s.query(OutboxMessage).filter(OutboxMessage.kind == "summary")),
                default=None,
            )
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        if profile:
            profile.disable()
        counts = outcome_counts(sessions)
        counts["last_sent"], counts["cpu"] = last_sent, cpu
        return elapsed, polls, counts


def outcome_counts(sessions) -> dict:
    from mailorder.store.models import AuditEvent, EmailRecord, EmailStatus, OutboxMessage, OutboxStatus

    with sessions() as s:
        summaries = (
            s.query(OutboxMessage)
            .filter(OutboxMessage.kind == "summary", OutboxMessage.status == OutboxStatus.SENT)
            .count()
        )
        ignored = s.query(EmailRecord).filter(EmailRecord.status == EmailStatus.IGNORED).count()
        failed = s.query(EmailRecord).filter(EmailRecord.status == EmailStatus.FAILED).count()
        ingested = {e.email_id: e.at for e in s.query(AuditEvent).filter(AuditEvent.action == "ingested")}
        sent = {e.email_id: e.at for e in s.query(AuditEvent).filter(AuditEvent.action == "summary_sent")}
    latencies = sorted((sent[i] - ingested[i]).total_seconds() for i in sent if i in ingested)
    return {"summaries": summaries, "ignored": ignored, "failed": failed, "latencies": latencies}


def run_once(
    label: str,
    args: argparse.Namespace,
    raws: list[bytes],
    *,
    erp_latency_ms: float = 0,
    with_llm: bool = False,
    profile: cProfile.Profile | None = None,
) -> RunResult:
    with tempfile.TemporaryDirectory(prefix="bench-throughput-") as tmp:
        workdir = Path(tmp)
        servers = start_servers(workdir, with_llm)
        try:
            import httpx

            httpx.post(f"{servers.erp}/_faults", json={"latency_ms": 0}).raise_for_status()
            deliver(raws, servers.smtp)
            wait_for_inbox(servers.imap, len(raws))
            settings = settings_for(servers, workdir, args)
            servers_cpu = servers.cpu()
            # the catalog load at start-up is not timed; the latency applies to calls while draining
            elapsed, polls, counts = asyncio.run(
                drain_with_latency(settings, servers, len(raws), profile, erp_latency_ms)
            )
            servers_cpu = servers.cpu() - servers_cpu  # includes the untimed catalog load
            tokens = servers.prompt_tokens() if with_llm else []
        finally:
            servers.stop()
    lat = counts["latencies"]
    return RunResult(
        label,
        len(raws),
        elapsed,
        counts["summaries"],
        counts["ignored"],
        counts["failed"],
        polls,
        tokens,
        _pct(lat, 0.5),
        _pct(lat, 0.95),
        counts["cpu"],
        os.getloadavg()[0],
        servers_cpu,
    )


async def monitored(stack, settings: Settings, runner, metrics) -> None:
    """/healthz, /readyz and /metrics as `serve --http-port` has them, scraped every second
    (Prometheus scrapes every 15-30 s: this is the pessimistic case)."""
    import contextlib

    import httpx

    from mailorder.agent.monitoring.endpoints import Liveness
    from mailorder.agent.service import open_endpoints

    liveness = Liveness(state="running")
    server = await stack.enter_async_context(open_endpoints(settings, runner, liveness, metrics))
    client = await stack.enter_async_context(httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}"))

    async def scrape() -> None:
        while True:
            for path in ("/metrics", "/readyz", "/healthz"):
                (await client.get(path)).raise_for_status()
            await asyncio.sleep(1.0)

    task = asyncio.create_task(scrape())

    async def stop() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    stack.push_async_callback(stop)


async def drain_with_latency(settings: Settings, servers: Servers, n: int, profile, erp_latency_ms: float):
    import httpx

    async with httpx.AsyncClient() as client:
        (await client.post(f"{servers.erp}/_faults", json={"latency_ms": erp_latency_ms})).raise_for_status()
    return await drain(settings, n, profile)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    return values[min(len(values) - 1, int(q * len(values)))]


# --- reporting -----------------------------------------------------------------------------------
def report(label: str, results: list[RunResult]) -> None:
    rates = [r.rate for r in results]
    r0 = results[0]
    spread = f" (runs {', '.join(f'{x:.1f}' for x in rates)})" if len(rates) > 1 else ""
    spread += f" load avg {', '.join(f'{r.load:.1f}' for r in results)}"
    print(f"{label:<34} {statistics.median(rates):6.1f} emails/s{spread}")
    print(
        f"{'':<34} {r0.summaries}/{r0.emails} summaries, {r0.ignored} ignored, {r0.failed} failed, "
        f"{r0.polls} polls, {r0.seconds:.1f} s, agent CPU {r0.agent_cpu_s / r0.seconds:.0%} of a core "
        f"({1000 * r0.agent_cpu_s / r0.emails:.0f} ms/email), "
        f"servers {1000 * r0.servers_cpu_s / r0.emails:.0f} ms/email; "
        f"ingest->summary p50 {r0.latency_p50:.1f} s p95 {r0.latency_p95:.1f} s"
    )
    tokens = [t for r in results for t in r.prompt_tokens]
    if tokens:
        print(
            f"{'':<34} prompt tokens per model call: median {statistics.median(tokens):.0f}, "
            f"max {max(tokens)}, calls {len(tokens) // len(results)} per run"
        )
    sys.stdout.flush()


PROFILE_FILE = "/tmp/bench_throughput.prof"


def print_profile(profile: cProfile.Profile, top: int) -> None:
    profile.dump_stats(PROFILE_FILE)
    print(f"profile saved to {PROFILE_FILE} (python -m pstats {PROFILE_FILE})")
    for key in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profile, stream=out).strip_dirs().sort_stats(key).print_stats(top)
        text = out.getvalue()
        print(f"\n--- cProfile, top {top} by {key} ---")
        print(text[text.index("ncalls") :] if "ncalls" in text else text)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=1000, help="emails in the backlog")
    parser.add_argument("--runs", type=int, default=3, help="repeats per scenario (median printed)")
    parser.add_argument(
        "--concurrency", type=int, default=Settings().concurrency, help="MAILORDER_CONCURRENCY"
    )
    parser.add_argument("--only", choices=["rules", "erp50", "llm"], help="run one scenario")
    parser.add_argument(
        "--http-port",
        action="store_true",
        help="with /healthz, /readyz, /metrics on (metrics hooks, store collector), scraped every second",
    )
    parser.add_argument("--llm-concurrency", type=int, default=32, help="MAILORDER_LLM_CONCURRENCY")
    parser.add_argument(
        "--llm-rpm",
        type=int,
        default=100_000,
        help="MAILORDER_LLM_RPM (the default 500 caps a long backlog at 8.3 calls/s)",
    )
    parser.add_argument(
        "--fetch-batch",
        type=int,
        default=0,
        help="what if agent.inbox.ingest.FETCH_BATCH were this (0 = as is)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="one cProfile'd run instead (rules, or --only llm)"
    )
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)

    raws = backlog(args.n)
    print(
        f"backlog: {len(raws)} emails, {sum(map(len, raws)) / len(raws) / 1024:.1f} KiB average; "
        f"{mp.cpu_count()} CPUs; servers in a child process"
    )
    if args.fetch_batch:
        from mailorder.agent.inbox import ingest

        ingest.FETCH_BATCH = args.fetch_batch
        print(f"what-if: FETCH_BATCH={args.fetch_batch}")
    if args.profile:
        profile, with_llm = cProfile.Profile(), args.only == "llm"
        label = "fake model (profiled)" if with_llm else "rules, ERP 0 ms (profiled)"
        report(label, [run_once("profile", args, raws, profile=profile, with_llm=with_llm)])
        print_profile(profile, args.top)
        return
    if args.only in (None, "rules"):
        report("rules, ERP 0 ms", [run_once("rules", args, raws) for _ in range(args.runs)])
    if args.only in (None, "erp50"):
        report(
            "rules, ERP +50 ms per call",
            [run_once("rules-erp50", args, raws, erp_latency_ms=50) for _ in range(args.runs)],
        )
    if args.only in (None, "llm"):
        report(
            f"fake model {LLM_DELAY_S:g} s, llm_conc {args.llm_concurrency}",
            [run_once("llm", args, raws, with_llm=True) for _ in range(args.runs)],
        )


if __name__ == "__main__":
    main()
