"""Engine and session handling. SQLite by default; PostgreSQL (psycopg 3) for several workers."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.schema import CreateColumn

from mailorder.store.models import Base

POSTGRES_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")
SCHEMA_LOCK_KEY = 0x6D6F5F73  # pg advisory lock taken while creating tables ("mo_s")


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


def make_engine(url: str) -> Engine:
    if is_postgres(url):
        return _postgres_engine(url)
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, future=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    with engine.begin() as conn:
        Base.metadata.create_all(conn)
        add_missing_columns(conn)
    return engine


def _postgres_engine(url: str) -> Engine:
    # Timestamps are stored without a zone: pin the session zone so every worker stores UTC.
    engine = create_engine(
        sqlalchemy_url(url), future=True, pool_pre_ping=True, connect_args={"options": "-c timezone=UTC"}
    )
    with engine.begin() as conn:  # two workers starting together must not race on CREATE TABLE
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
        Base.metadata.create_all(conn)
        add_missing_columns(conn)
    return engine


def add_missing_columns(conn) -> list[str]:
    """The one migration there is (no Alembic yet): nullable columns added to a model since the
    table was created are added to it. Anything else (types, constraints) needs a real migration."""
    added = []
    inspector = inspect(conn)
    for table in Base.metadata.sorted_tables:
        if not inspector.has_table(table.name):
            continue
        present = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in present and column.nullable and column.server_default is None:
                ddl = CreateColumn(column).compile(dialect=conn.dialect)
                conn.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {ddl}"))
                added.append(f"{table.name}.{column.name}")
    return added


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")  # with WAL: consistent after a crash, fewer fsyncs
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


import mailorder.store.aliases  # noqa: E402,F401  (creates the aliases table)
