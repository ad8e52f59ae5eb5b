"""`mailorder serve`: wire settings into clients, open the checkpointer, poll on an interval;
optionally serve /healthz, /readyz and /metrics; drain on SIGTERM/SIGINT (agent/shutdown.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from mailorder.agent.config import DEV_SECRET, Settings, unknown_environment
from mailorder.agent.extract.attachments import use_attachment_settings
from mailorder.agent.extract.learning import load_aliases
from mailorder.agent.extract.prompts import Prompt, load_prompt, use_prompts_dir
from mailorder.agent.inbox.runner import Runner
from mailorder.agent.outgoing.followups import send_digests, send_due_reminders
from mailorder.agent.shutdown import DrainGate, DrainingInbox, ShutdownSignals
from mailorder.agent.workflow.context import Services
from mailorder.agent.workflow.graph import build_graph
from mailorder.mail.smtp import SmtpSender
from mailorder.store import repo
from mailorder.store.db import (
    SchemaNotCurrent,
    head_revision,
    is_postgres,
    libpq_url,
    make_engine,
    make_session_factory,
    safe_url,
    schema_revision,
)
from mailorder.tools.erp_client import ErpClient, ErpUnavailable
from mailorder.tools.toolbox import Toolbox

if TYPE_CHECKING:  # the model path and monitoring are imported only when configured
    from mailorder.agent.extract.model import LlmSettings
    from mailorder.agent.extract.ratelimit import LimitedExtractor
    from mailorder.agent.monitoring.metrics import Metrics
    from mailorder.agent.review.free_text import EditProposer

log = logging.getLogger(__name__)

FLUSH_MIN_SECONDS = 5.0  # the final outbox flush gets at least this long, whatever the drain left


def utc_now() -> datetime:
    return datetime.now(UTC)


def llm_settings(settings: Settings) -> LlmSettings | None:
    """The model's connection settings when a key is configured, else None (rules only)."""
    if not settings.llm_enabled or settings.openai_api_key is None:
        return None
    from mailorder.agent.extract.model import LlmSettings

    return LlmSettings(
        api_key=settings.openai_api_key.get_secret_value(),
        base_url=settings.openai_base_url,
        model=settings.model,
        timeout=settings.llm_timeout,
        max_tokens=settings.llm_max_tokens,
    )


def make_llm_extractor(settings: Settings, metrics: Metrics | None = None) -> LimitedExtractor | None:
    """The model path when a key is configured, else None (rules only); the prompt is the pinned
    MAILORDER_PROMPT_VERSION, else the newest."""
    model = llm_settings(settings)
    if model is None:
        return None
    from mailorder.agent.extract.model import LlmExtractor
    from mailorder.agent.extract.ratelimit import LimitedExtractor, RateLimiter

    use_prompts_dir(settings.prompts_dir)
    extractor = LlmExtractor(model, prompt_version=settings.prompt_version)
    limiter = RateLimiter(concurrency=settings.llm_concurrency, rpm=settings.llm_rpm, tpm=settings.llm_tpm)
    observer = metrics.model_observer("extract") if metrics is not None else None
    return LimitedExtractor(extractor, limiter, observer=observer)


def make_edit_proposer(
    settings: Settings, metrics: Metrics | None = None
) -> Callable[[str, str], Awaitable[list[Any]]] | None:
    """Free-text edits through the model when one is configured, else None (commands only)."""
    model = llm_settings(settings)
    if model is None:
        return None
    from mailorder.agent.review.free_text import EditProposer

    use_prompts_dir(settings.prompts_dir)
    proposer: EditProposer = EditProposer(model, prompt_version=settings.edit_prompt_version)
    if metrics is None:
        return proposer
    from mailorder.agent.monitoring.instrument import CountedEditProposer

    return CountedEditProposer(proposer, metrics)


def live_prompts(settings: Settings) -> dict[str, Prompt]:
    """The prompt versions this configuration runs (raises PromptNotFound for a pinned version
    that does not exist, so a typo stops the start instead of the first model call)."""
    use_prompts_dir(settings.prompts_dir)
    return {
        "extract": load_prompt("extract", settings.prompt_version),
        "edit": load_prompt("edit", settings.edit_prompt_version),
    }


@asynccontextmanager
async def open_runner(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = utc_now,
    erp_transport: httpx.AsyncBaseTransport | None = None,
    metrics: Metrics | None = None,
    gate: DrainGate | None = None,
) -> AsyncIterator[Runner]:
    """Everything `serve` needs, opened and closed together; tests use the same entry point.
    With `metrics`, ERP requests, model calls, claims and store figures are counted into it;
    with `gate`, a shutdown can stop new work while the work in flight finishes."""
    use_prompts_dir(settings.prompts_dir)
    use_attachment_settings(settings)
    engine = make_engine(settings.database_url, migrate=settings.auto_migrate)
    if not settings.auto_migrate and schema_revision(engine) != head_revision():
        engine.dispose()
        raise SchemaNotCurrent(
            f"database schema is at {schema_revision(engine) or 'none'}, this mailorder needs "
            f"{head_revision()}: run `mailorder db upgrade` (MAILORDER_AUTO_MIGRATE is off)"
        )
    sessions = make_session_factory(engine)
    if metrics is not None:
        from mailorder.agent.monitoring.instrument import CountingTransport

        erp_transport = CountingTransport(erp_transport or httpx.AsyncHTTPTransport(), metrics)
    erp = ErpClient(
        settings.erp_url,
        transport=erp_transport,
        timeout=settings.erp_timeout,
        max_attempts=settings.erp_attempts,
        backoff_initial=settings.erp_backoff,
    )
    inbox = DrainingInbox(
        settings.imap_host,
        settings.imap_port,
        settings.imap_user,
        settings.imap_password.get_secret_value(),
        ssl=settings.imap_ssl,
        folder=settings.imap_folder,
        gate=gate or DrainGate(),
    )
    smtp = SmtpSender(
        settings.smtp_host,
        settings.smtp_port,
        user=settings.smtp_user,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        use_tls=settings.smtp_port == 465,
        start_tls=settings.smtp_tls,
        timeout=settings.smtp_timeout,
    )
    try:
        toolbox = await Toolbox.create(erp)
        with sessions() as session:  # learned per-customer aliases
            toolbox.customer_aliases = load_aliases(session)
        services = Services(
            settings=settings,
            sessions=sessions,
            erp=erp,
            toolbox=toolbox,
            smtp=smtp,
            clock=clock,
            llm_extractor=make_llm_extractor(settings, metrics),
            edit_proposer=make_edit_proposer(settings, metrics),
        )
        async with open_checkpointer(settings) as checkpointer:
            runner = Runner(services, build_graph(checkpointer), inbox)
            if gate is not None:
                gate.install(runner.claims)
            if metrics is not None:
                metrics.watch_claims(lambda: runner.claims.held)
                metrics.watch_store(sessions)
            try:
                await runner.recover()
                yield runner
            finally:
                runner.close()
    finally:
        await asyncio.to_thread(inbox.close)
        await smtp.close()
        await erp.aclose()
        engine.dispose()


CHECKPOINT_SETUP_LOCK = 0x6D6F5F63  # pg advisory lock held while creating checkpoint tables ("mo_c")


@asynccontextmanager
async def open_checkpointer(settings: Settings) -> AsyncIterator:
    """LangGraph's checkpointer: in the PostgreSQL database when the store is there (every worker
    sees every thread), else a SQLite file beside the store."""
    if not is_postgres(settings.database_url):
        checkpoint_path = settings.resolved_checkpoint_path
        checkpoint_path.parent.mkdir(parents=True, exist_ok=True)
        async with AsyncSqliteSaver.from_conn_string(str(checkpoint_path)) as checkpointer:
            await checkpointer.conn.execute("PRAGMA journal_mode=WAL")  # durable at each step, one fsync
            await checkpointer.conn.execute("PRAGMA synchronous=NORMAL")  # per checkpoint instead of two
            yield checkpointer
        return
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from psycopg import AsyncConnection
    from psycopg.rows import dict_row
    from psycopg_pool import AsyncConnectionPool

    conninfo = libpq_url(settings.database_url)
    # what the saver expects: autocommit, no prepared statements, rows as dicts
    options: dict[str, Any] = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
    connect = AsyncConnection.connect(conninfo, autocommit=True, prepare_threshold=0, row_factory=dict_row)
    async with await connect as conn:  # workers set up one at a time
        await conn.execute("SELECT pg_advisory_lock(%s)", (CHECKPOINT_SETUP_LOCK,))
        await AsyncPostgresSaver(conn).setup()
        await conn.execute("SELECT pg_advisory_unlock(%s)", (CHECKPOINT_SETUP_LOCK,))
    # The saver serialises its queries on one lock; the pool replaces a connection the server dropped.
    async with AsyncConnectionPool[AsyncConnection[dict[str, Any]]](
        conninfo,
        min_size=1,
        max_size=2,
        kwargs=options,
        open=False,
        check=AsyncConnectionPool.check_connection,
    ) as pool:
        yield AsyncPostgresSaver(pool)


# --- serve -----------------------------------------------------------------------------------------
class Jobs:
    """The scheduled jobs running now (a poll, reminders, digests, the catalog refresh).

    Each run is a task of its own, shielded from the scheduler: APScheduler cancels the jobs it
    is running when it shuts down, and a drain must let them finish instead (drain() decides
    when to give up and cancel them)."""

    def __init__(self) -> None:
        self.running: set[asyncio.Task] = set()

    def tracked(self, job: Callable[..., Awaitable[Any]], name: str) -> Callable[..., Awaitable[None]]:
        def finished(task: asyncio.Task) -> None:
            self.running.discard(task)
            if task.cancelled():  # shutdown; like a crash, recovery resumes the work at start-up
                log.warning("%s cancelled by shutdown", name)
            elif task.exception() is not None:
                log.error("%s failed", name, exc_info=task.exception())

        async def run(*args: Any) -> None:
            task = asyncio.ensure_future(job(*args))
            self.running.add(task)
            task.add_done_callback(finished)
            with contextlib.suppress(asyncio.CancelledError):  # the scheduler stopped: the run goes on
                await asyncio.wait({task})  # its outcome is logged by finished()

        return run


async def serve(
    settings: Settings, *, stop: asyncio.Event | None = None, handle_signals: bool = True
) -> None:
    """Poll every poll_seconds until stop is set, SIGTERM or SIGINT; then drain and return."""
    stop = stop or asyncio.Event()
    signals = ShutdownSignals(stop)
    if handle_signals:
        signals.install(asyncio.get_running_loop())
    try:
        await _serve(settings, stop)
    finally:
        signals.remove()


def describe_start(settings: Settings) -> None:
    """Log where data lives, which prompts are live and settings that look like typos."""
    where = (
        "checkpoints in the same PostgreSQL database"
        if is_postgres(settings.database_url)
        else f"checkpoints {settings.resolved_checkpoint_path.resolve()}"
    )
    log.info("data dir %s; database %s; %s", settings.data_dir, safe_url(settings.database_url), where)
    prompts = live_prompts(settings)
    source = settings.prompts_dir or "bundled prompts"
    log.info(
        "prompts from %s: %s (%s), %s (%s)",
        source,
        prompts["extract"].version,
        "pinned" if settings.prompt_version else "newest",
        prompts["edit"].version,
        "pinned" if settings.edit_prompt_version else "newest",
    )
    if settings.secret.get_secret_value() == DEV_SECRET:
        log.warning("MAILORDER_SECRET is the development default; set a real secret in production")
    for name in unknown_environment():
        log.warning("environment variable %s is not a mailorder setting (a typo?); ignored", name)


async def _serve(settings: Settings, stop: asyncio.Event) -> None:
    from mailorder.agent.monitoring.endpoints import Liveness

    describe_start(settings)
    liveness = Liveness()
    metrics = _metrics(settings) if settings.http_port is not None else None
    gate = DrainGate()
    async with open_runner_when_erp_answers(settings, stop, metrics=metrics, gate=gate) as runner:
        if runner is None:
            log.info("stopped before the ERP answered; nothing was started")
            return
        async with open_endpoints(settings, runner, liveness, metrics):
            await _run_until_stopped(settings, runner, stop, liveness, metrics, gate)
    log.info("stopped")


START_RETRY_FIRST_S = 1.0  # serve retries a start the ERP did not answer after this, doubling
START_RETRY_MAX_S = 60.0


@asynccontextmanager
async def open_runner_when_erp_answers(
    settings: Settings, stop: asyncio.Event, **options: Any
) -> AsyncIterator[Runner | None]:
    """open_runner, tried again (1 s, 2 s, 4 s … at most a minute apart) while the ERP does not
    answer at start (the catalog comes from it); None when `stop` is set meanwhile."""
    delay = START_RETRY_FIRST_S
    while True:
        stack = AsyncExitStack()
        try:
            runner = await stack.enter_async_context(open_runner(settings, **options))
        except ErpUnavailable as exc:
            await stack.aclose()
            log.warning("cannot start yet, the ERP does not answer (%s); trying again in %.0f s", exc, delay)
            try:
                await asyncio.wait_for(stop.wait(), timeout=delay)
            except TimeoutError:
                delay = min(delay * 2, START_RETRY_MAX_S)
                continue
            yield None
            return
        async with stack:
            yield runner
        return


async def _run_until_stopped(
    settings: Settings,
    runner: Runner,
    stop: asyncio.Event,
    liveness: Any,
    metrics: Metrics | None,
    gate: DrainGate,
) -> None:
    """The scheduled jobs (poll, catalog refresh, reminders, digests) until `stop`; then drain."""
    jobs = Jobs()

    async def poll() -> None:
        liveness.poll_start()
        report = await runner.poll_once()
        liveness.poll_end()
        if metrics is not None:
            metrics.polls.inc()
            metrics.poll_errors.inc(len(report.errors))
            metrics.emails_stored.inc(report.stored)
            metrics.emails_run.inc(report.processed)

    scheduler = AsyncIOScheduler()
    scheduler.add_job(
        jobs.tracked(poll, "poll"),
        "interval",
        seconds=settings.poll_seconds,
        max_instances=1,
        coalesce=True,
        next_run_time=datetime.now(),
    )
    scheduler.add_job(
        jobs.tracked(runner.services.toolbox.refresh, "catalog refresh"),
        "interval",
        minutes=10,
        max_instances=1,
        coalesce=True,
    )
    for job, name in ((send_due_reminders, "reminders"), (send_digests, "digests")):
        scheduler.add_job(
            jobs.tracked(job, name),
            "interval",
            args=[runner.services],
            minutes=5,
            max_instances=1,
            coalesce=True,
        )
    scheduler.start()
    liveness.state = "running"
    log.info(
        "serving: inbox %s@%s:%s every %ss, ERP %s, reps %s, extraction %s",
        settings.imap_user,
        settings.imap_host,
        settings.imap_port,
        settings.poll_seconds,
        settings.erp_url,
        ",".join(settings.reps),
        settings.model if settings.llm_enabled else "rules",
    )
    try:
        await stop.wait()
    finally:
        liveness.state = "draining"
        if metrics is not None:
            metrics.draining.set(1)
        scheduler.shutdown(wait=False)
        await drain(runner, gate, jobs, settings.drain_seconds)
        liveness.state = "stopped"


def _metrics(settings: Settings) -> Metrics:
    from mailorder import __version__
    from mailorder.agent.monitoring.metrics import Metrics

    metrics = Metrics()
    prompts = live_prompts(settings)
    metrics.info.info(
        {
            "version": __version__,
            "extraction": settings.model if settings.llm_enabled else "rules",
            "prompt_version": prompts["extract"].version,
        }
    )
    return metrics


@asynccontextmanager
async def open_endpoints(
    settings: Settings, runner: Runner, liveness: Any, metrics: Metrics | None
) -> AsyncIterator[Any]:
    """/healthz, /readyz, /metrics on MAILORDER_HTTP_HOST:MAILORDER_HTTP_PORT (nothing without a port)."""
    if settings.http_port is None:
        yield None
        return
    from mailorder.agent.monitoring.endpoints import serving
    from mailorder.agent.monitoring.readiness import ReadinessChecker, service_checks

    readiness = ReadinessChecker(
        service_checks(settings, runner.services.sessions), interval=settings.ready_interval
    )
    async with serving(settings.http_host, settings.http_port, liveness, readiness, metrics) as server:
        log.info("HTTP endpoints on http://%s:%s: /healthz /readyz /metrics", settings.http_host, server.port)
        yield server


async def drain(runner: Runner, gate: DrainGate, jobs: Jobs, seconds: float) -> None:
    """Stop taking work, let what is in flight finish (bounded), flush the outbox once, and log
    what was finished and what is left for recovery at the next start."""
    started = time.monotonic()
    gate.close()
    in_flight = sorted(gate.held)
    log.info(
        "draining: no new polls or claims; waiting up to %.0fs for %d email(s) in flight%s",
        seconds,
        len(in_flight),
        f" {in_flight}" if in_flight else "",
    )
    unfinished: set[asyncio.Task] = set()
    if jobs.running:
        _, unfinished = await asyncio.wait(set(jobs.running), timeout=seconds)
    interrupted = sorted(gate.held)
    for task in unfinished:
        task.cancel()
    if unfinished:
        await asyncio.wait(unfinished, timeout=5)
    flush_budget = max(FLUSH_MIN_SECONDS, seconds - (time.monotonic() - started))
    try:  # with the gate closed a poll fetches and claims nothing: it only retries pending mail
        async with asyncio.timeout(flush_budget):
            await runner.poll_once()
    except TimeoutError:
        log.warning("outbox flush did not finish within %.0fs", flush_budget)
    with runner.services.sessions() as session:
        outbox = repo.count_by_status(session)[2]
    finished = [e for e in in_flight if e not in interrupted]
    log.info(
        "drained in %.1fs: %d email(s) finished%s; %d left for recovery at the next start%s; "
        "outbox: %d pending",
        time.monotonic() - started,
        len(finished),
        f" {finished}" if finished else "",
        len(interrupted),
        f" {interrupted}" if interrupted else "",
        outbox.get("pending", 0),
    )
