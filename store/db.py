"""Engine and session handling, and the schema's migrations (Alembic, store/migrations/).

SQLite by default; PostgreSQL (psycopg 3) for several workers. `make_engine` brings the schema
to the newest revision under a lock (PostgreSQL: an advisory lock; SQLite: BEGIN EXCLUSIVE), so
N workers starting together do not race; a database created before migrations existed (today's
tables, no alembic_version) is stamped at the baseline first. `open_existing` is for read-only
commands: it never creates a database file and never changes the schema."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, MetaData, create_engine, event, inspect, text
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool
from sqlalchemy.schema import CreateColumn

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)
logging.getLogger("alembic").setLevel(logging.WARNING)  # its per-connection chatter; we log what changed

POSTGRES_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")
SCHEMA_LOCK_KEY = 0x6D6F5F73  # pg advisory lock taken while migrating ("mo_s")
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BASELINE = "0001"  # the schema that `create_all` made before migrations existed
BUSY_TIMEOUT_S = 5.0  # SQLite: how long a statement waits for another connection's write lock
MIGRATION_LOCK_TIMEOUT_S = 300.0  # SQLite: how long a worker waits for another one's migration


class DatabaseMissing(LookupError):
    """A read-only command was pointed at a database that does not exist."""


class SchemaNotCurrent(RuntimeError):
    """The database's schema is not the revision this code expects."""


def is_postgres(url: str) -> bool:
    return url.startswith(POSTGRES_SCHEMES)


def sqlalchemy_url(url: str) -> str:
    """The URL SQLAlchemy needs: PostgreSQL URLs get the psycopg 3 driver."""
    for scheme in POSTGRES_SCHEMES:
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url.removeprefix(scheme)
    return url


def libpq_url(url: str) -> str:
    """The same PostgreSQL URL as psycopg/libpq reads it (no SQLAlchemy driver suffix)."""
    for scheme in POSTGRES_SCHEMES:
        if url.startswith(scheme):
            return "postgresql://" + url.removeprefix(scheme)
    raise ValueError(f"not a PostgreSQL URL: {url.split('://')[0]}://…")


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None for PostgreSQL and in-memory databases)."""
    if not url.startswith("sqlite:///") or url.startswith("sqlite:///:memory:"):
        return None
    return Path(url.removeprefix("sqlite:///").split("?", 1)[0])


def safe_url(url: str) -> str:
    """The URL for logs and messages: the password masked."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a URL SQLAlchemy cannot read is shown without its credentials
        return url.split("@")[-1]


# --- engines ---------------------------------------------------------------------------------------
def make_engine(url: str, *, migrate: bool = True) -> Engine:
    """An engine for the store; with migrate (the default) the schema is upgraded to the newest
    revision first (the SQLite file and its folder are created when missing)."""
    path = sqlite_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = engine_for(url)
    if migrate:
        upgrade(engine)
    return engine


def open_existing(url: str) -> Engine:
    """An engine on an existing, current database, for read-only commands: never creates a file,
    never changes the schema. Raises DatabaseMissing or SchemaNotCurrent (the message says what to do)."""
    path = sqlite_file(url)
    if path is not None and not path.is_file():
        raise DatabaseMissing(
            f"no database at {path.resolve()} (set MAILORDER_DATA_DIR or MAILORDER_DATABASE_URL)"
        )
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            current = _current_revision(conn)
            has_tables = inspect(conn).has_table("emails")
    except Exception:
        engine.dispose()
        raise
    if current is None and not has_tables:
        engine.dispose()
        raise DatabaseMissing(f"{safe_url(url)} holds no mailorder tables (run `mailorder db upgrade`)")
    if current != head_revision():
        engine.dispose()
        raise SchemaNotCurrent(
            f"database {safe_url(url)} is at schema revision {current or 'none'}, this mailorder needs "
            f"{head_revision()}: run `mailorder db upgrade`"
        )
    return engine


def engine_for(url: str) -> Engine:
    """An engine on `url` as it is: no folder created, no migration (see make_engine, open_existing)."""
    if is_postgres(url):
        # Timestamps are stored without a zone: pin the session zone so every worker stores UTC.
        return create_engine(
            sqlalchemy_url(url), pool_pre_ping=True, connect_args={"options": "-c timezone=UTC"}
        )
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_conn, _record, busy_timeout_s: float | None = None) -> None:
    wait_ms = int((BUSY_TIMEOUT_S if busy_timeout_s is None else busy_timeout_s) * 1000)
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout={wait_ms}")  # first: switching to WAL may have to wait
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")  # with WAL: consistent after a crash, fewer fsyncs
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


# --- migrations ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Upgrade:
    before: str | None  # revision before (None: an empty or pre-migration database)
    after: str
    stamped: bool = False  # a pre-migration database was stamped at the baseline
    added_columns: tuple[str, ...] = ()  # baseline columns a pre-migration database lacked

    @property
    def changed(self) -> bool:
        return self.before != self.after


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


@lru_cache(maxsize=1)
def head_revision() -> str:
    """The newest revision in store/migrations/versions, read from the files without importing
    Alembic (a start-up whose database is current never needs it)."""
    revisions: dict[str, str | None] = {}
    for path in (MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        revision = _ASSIGNMENT.search(source)
        down = re.search(r'^down_revision\s*=\s*(?:"([^"]*)"|None)', source, re.M)
        if revision is not None:
            revisions[revision[1]] = down[1] if down is not None else None
    heads = set(revisions) - set(revisions.values())
    if len(heads) != 1:
        raise RuntimeError(f"store/migrations must have exactly one head, found {sorted(heads)}")
    return heads.pop()


_ASSIGNMENT = re.compile(r'^revision\s*=\s*"([^"]+)"', re.M)


def known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    return {s.revision for s in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


def schema_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return _current_revision(conn)


def _current_revision(conn: Connection) -> str | None:
    """The revision in alembic_version (None: no such table, or empty), by plain SQL."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    versions = [row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))]
    if len(versions) > 1:
        raise SchemaNotCurrent(f"database has several schema heads {versions}: resolve them with Alembic")
    return versions[0] if versions else None


def upgrade(engine: Engine, revision: str = "head") -> Upgrade:
    """Bring the schema to `revision` under the migration lock; a no-op (one query) when current."""
    from alembic import command

    if revision == "head":
        with engine.connect() as conn:
            if _current_revision(conn) == head_revision():
                return Upgrade(head_revision(), head_revision())
    with _migration_lock(engine) as conn:
        before = _current_revision(conn)  # again, under the lock: another worker may have done it
        if before is not None and before not in known_revisions():
            raise SchemaNotCurrent(
                f"database schema revision {before} is newer than this mailorder knows "
                f"(newest {head_revision()}): upgrade mailorder on this machine"
            )
        config = alembic_config(conn)
        stamped = False
        added: tuple[str, ...] = ()
        if before is None and inspect(conn).has_table("emails"):
            added = tuple(_add_baseline_columns(conn))
            command.stamp(config, BASELINE)
            stamped = True
            log.info("database without migration history stamped at the baseline %s", BASELINE)
        command.upgrade(config, revision)
        after = _current_revision(conn)
    assert after is not None
    if after != before:
        log.info(
            "database schema upgraded from %s to %s", before or ("baseline" if stamped else "empty"), after
        )
    return Upgrade(before, after, stamped, added)


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that no other worker's migration runs beside."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:  # transactional DDL: the whole upgrade commits or none of it
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
            yield conn
        return
    if engine.dialect.name == "sqlite" and sqlite_file(engine.url.render_as_string(hide_password=False)):
        # a connection of its own whose transactions really begin (pysqlite would run DDL outside
        # one) and begin EXCLUSIVE: the upgrade is atomic and one worker at a time runs it
        exclusive = create_engine(
            engine.url, poolclass=NullPool, connect_args={"timeout": MIGRATION_LOCK_TIMEOUT_S}
        )

        @event.listens_for(exclusive, "connect")
        def _connect(dbapi_conn, record) -> None:
            _sqlite_pragmas(dbapi_conn, record, busy_timeout_s=MIGRATION_LOCK_TIMEOUT_S)
            dbapi_conn.isolation_level = None

        @event.listens_for(exclusive, "begin")
        def _begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN EXCLUSIVE")

        try:
            with exclusive.begin() as conn:
                yield conn
        finally:
            exclusive.dispose()
        return
    with engine.begin() as conn:  # in-memory SQLite: one process
        yield conn


@lru_cache(maxsize=1)
def _baseline_metadata() -> MetaData:
    """The baseline schema, reflected from an in-memory database upgraded to it."""
    from alembic import command

    engine = create_engine("sqlite://")
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), BASELINE)
            metadata = MetaData()
            metadata.reflect(conn)
        return metadata
    finally:
        engine.dispose()


def _add_baseline_columns(conn: Connection) -> list[str]:
    """A database made by `create_all` before migrations: nullable columns of the baseline that an
    older version of its tables lacks are added (what start-up used to do), so it is the baseline.
    Column types come from the models (right for the dialect), names from the baseline."""
    from mailorder.store.models import Base

    added = []
    inspector = inspect(conn)
    for baseline in _baseline_metadata().sorted_tables:
        model = Base.metadata.tables.get(baseline.name)
        if model is None or not inspector.has_table(baseline.name):
            continue
        present = {c["name"] for c in inspector.get_columns(baseline.name)}
        for column in model.columns:
            if column.name in baseline.columns and column.name not in present and column.nullable:
                ddl = CreateColumn(column).compile(dialect=conn.dialect)
                conn.execute(text(f"ALTER TABLE {baseline.name} ADD COLUMN {ddl}"))
                added.append(f"{baseline.name}.{column.name}")
    if added:
        log.info("columns added to a pre-migration database: %s", ", ".join(added))
    return added


import mailorder.store.aliases  # noqa: E402,F401  (the aliases table belongs to the metadata)
from mailorder.store import autopost as _autopost_tables  # noqa: E402,F401  (and earned autonomy's)
from mailorder.store import console as _console_tables  # noqa: E402,F401  (so do the console's)
