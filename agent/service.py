"""`mailorder serve`: wire settings into clients, open the checkpointer, poll on an interval."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from mailorder.agent.config import DEV_SECRET, Settings
from mailorder.agent.extract.learning import load_aliases
from mailorder.agent.inbox.runner import Runner
from mailorder.agent.outgoing.followups import send_digests, send_due_reminders
from mailorder.agent.workflow.context import Services
from mailorder.agent.workflow.graph import build_graph
from mailorder.mail.imap import ImapInbox
from mailorder.mail.smtp import SmtpSender
from mailorder.store.db import is_postgres, libpq_url, make_engine, make_session_factory
from mailorder.tools.erp_client import ErpClient
from mailorder.tools.toolbox import Toolbox

if TYPE_CHECKING:  # the model path is imported only when a model is configured
    from mailorder.agent.extract.model import LlmSettings
    from mailorder.agent.extract.ratelimit import LimitedExtractor
    from mailorder.agent.review.free_text import EditProposer

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_S = 20.0  # how long a stop waits for the poll in progress


def utc_now() -> datetime:
    return datetime.now(UTC)


def llm_settings(settings: Settings) -> LlmSettings | None:
    """The model's connection settings when a key is configured, else None (rules only)."""
    if not settings.openai_api_key:
        return None
    from mailorder.agent.extract.model import LlmSettings

    return LlmSettings(
        api_key=settings.openai_api_key,
        base_url=settings.openai_base_url,
        model=settings.model,
        timeout=settings.llm_timeout,
    )


def make_llm_extractor(settings: Settings) -> LimitedExtractor | None:
    """The model path when a key is configured, else None (rules only)."""
    model = llm_settings(settings)
    if model is None:
        return None
    from mailorder.agent.extract.model import LlmExtractor
    from mailorder.agent.extract.ratelimit import LimitedExtractor, RateLimiter

    extractor = LlmExtractor(model)
    limiter = RateLimiter(concurrency=settings.llm_concurrency, rpm=settings.llm_rpm, tpm=settings.llm_tpm)
    return LimitedExtractor(extractor, limiter)


def make_edit_proposer(settings: Settings) -> EditProposer | None:
    """Free-text edits through the model when one is configured, else None (commands only)."""
    model = llm_settings(settings)
    if model is None:
        return None
    from mailorder.agent.review.free_text import EditProposer

    return EditProposer(model)


@asynccontextmanager
async def open_runner(
    settings: Settings, *, clock: Callable[[], datetime] = utc_now, erp_transport=None
) -> AsyncIterator[Runner]:
    """Everything `serve` needs, opened and closed together; tests use the same entry point."""
    if settings.secret == DEV_SECRET:
        log.warning("MAILORDER_SECRET is the development default; set a real secret in production")
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    erp = ErpClient(
        settings.erp_url,
        transport=erp_transport,
        timeout=settings.erp_timeout,
        max_attempts=settings.erp_attempts,
        backoff_initial=settings.erp_backoff,
    )
    inbox = ImapInbox(
        settings.imap_host,
        settings.imap_port,
        settings.imap_user,
        settings.imap_password,
        ssl=settings.imap_ssl,
        folder=settings.imap_folder,
    )
    smtp = SmtpSender(
        settings.smtp_host,
        settings.smtp_port,
        user=settings.smtp_user,
        password=settings.smtp_password,
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
            llm_extractor=make_llm_extractor(settings),
            edit_proposer=make_edit_proposer(settings),
        )
        async with open_checkpointer(settings) as checkpointer:
            runner = Runner(services, build_graph(checkpointer), inbox)
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


async def serve(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """Poll every poll_seconds until stop is set (or forever)."""
    stop = stop or asyncio.Event()
    async with open_runner(settings) as runner:
        in_flight: set[asyncio.Task] = set()

        async def poll() -> None:
            task = asyncio.current_task()
            assert task is not None  # a scheduler job runs as a task
            in_flight.add(task)
            try:
                await runner.poll_once()
            except asyncio.CancelledError:  # shutdown; like a crash, recovery resumes the work at start-up
                log.warning("poll cancelled by shutdown")
            finally:
                in_flight.discard(task)

        scheduler = AsyncIOScheduler()
        scheduler.add_job(
            poll,
            "interval",
            seconds=settings.poll_seconds,
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(),
        )
        scheduler.add_job(
            runner.services.toolbox.refresh, "interval", minutes=10, max_instances=1, coalesce=True
        )
        scheduler.add_job(
            send_due_reminders, "interval", args=[runner.services], minutes=5, max_instances=1, coalesce=True
        )
        scheduler.add_job(
            send_digests, "interval", args=[runner.services], minutes=5, max_instances=1, coalesce=True
        )
        scheduler.start()
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
            scheduler.shutdown(wait=False)
            await _finish(in_flight, SHUTDOWN_GRACE_S)


async def _finish(tasks: set[asyncio.Task], grace: float) -> None:
    """Let a running poll finish (bounded) before the store and checkpointer close under it;
    what is still running after the grace period is cancelled (recovery resumes it at start-up)."""
    if not tasks:
        return
    log.info("waiting up to %.0fs for the running poll to finish", grace)
    _, pending = await asyncio.wait(set(tasks), timeout=grace)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=5)
