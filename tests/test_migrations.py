"""Alembic migrations of the store: a new database is built by them, a database made by today's
`create_all` (no alembic_version, data in it) is stamped at the baseline and upgraded without
losing a row, N workers upgrading at once do not race, read-only opening never creates a file,
and the models never drift from the migrations. On SQLite and, when a server can be had, on
PostgreSQL (tests/pg_server.py)."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, select, text
from typer.testing import CliRunner

from mailorder.agent.cli import app
from mailorder.store import repo
from mailorder.store.aliases import Alias
from mailorder.store.db import (
    BASELINE,
    DatabaseMissing,
    SchemaNotCurrent,
    alembic_config,
    head_revision,
    make_engine,
    make_session_factory,
    open_existing,
    schema_revision,
    sqlalchemy_url,
)
from mailorder.store.models import Base, DraftRecord, EmailRecord
from tests.pg_server import fresh_database, postgres_admin_url

NOW = datetime(2026, 3, 2, 9, 0)


@pytest.fixture(scope="module")
def pg_admin_url():
    with postgres_admin_url() as url:
        if url is None:
            pytest.skip("no PostgreSQL server (set MAILORDER_TEST_POSTGRES_URL or install postgresql)")
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'mo.db'}"
        return
    admin = request.getfixturevalue("pg_admin_url")
    with fresh_database(admin) as pg:
        yield pg


def _todays_database(url: str, *, baseline_only: bool) -> None:
    """A database as `create_all` made it before migrations: the baseline's tables (or today's
    models) and no alembic_version table, with data in it."""
    engine = create_engine(sqlalchemy_url(url))
    with engine.begin() as conn:
        if baseline_only:
            command.upgrade(alembic_config(conn), BASELINE)
            conn.execute(text("DROP TABLE alembic_version"))
        else:
            Base.metadata.create_all(conn)
        conn.execute(
            text(
                "INSERT INTO emails (id, message_id, mailbox, uidvalidity, uid, sender, subject, received_at,"
                " size, status, triage_label) VALUES (1, '<a@x>', 'INBOX', 7, 1, 'c@x', 'Bestelling', :now,"
                " 10, 'drafted', 'order')"
            ),
            {"now": NOW},
        )
        conn.execute(
            text(
                "INSERT INTO drafts (id, email_id, version, status, rep, created_at, updated_at)"
                " VALUES (1, 1, 1, 'awaiting_review', 'rep@x', :now, :now)"
            ),
            {"now": NOW},
        )
        conn.execute(
            text(
                "INSERT INTO aliases (customer_id, source_key, source_text, sku, taught_by, taught_at, uses)"
                " VALUES ('COMP-1', 'wit', 'wit', '01-0001-0001', 'rep@x', :now, 1)"
            ),
            {"now": NOW},
        )
        conn.execute(
            text("INSERT INTO mailbox_state (mailbox, uidvalidity, last_uid) VALUES ('INBOX', 7, 1)")
        )
    engine.dispose()


def _drift(engine) -> list:
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)


def test_one_head_read_without_alembic_is_alembics_head():
    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_a_new_database_is_built_by_the_migrations_and_matches_the_models(url):
    engine = make_engine(url)
    try:
        assert schema_revision(engine) == head_revision()
        assert _drift(engine) == [], "the models changed without a migration: `mailorder db revision -m ...`"
        make_engine(url).dispose()  # a second start is a no-op
        assert schema_revision(engine) == head_revision()
    finally:
        engine.dispose()


@pytest.mark.parametrize("baseline_only", [True, False], ids=["baseline-schema", "todays-models"])
def test_todays_database_with_data_is_stamped_and_upgraded(url, baseline_only):
    _todays_database(url, baseline_only=baseline_only)
    with pytest.raises(SchemaNotCurrent, match="db upgrade"):
        open_existing(url)  # read-only commands ask for the upgrade first
    engine = make_engine(url)
    try:
        assert schema_revision(engine) == head_revision()
        assert _drift(engine) == []
        assert "fingerprint" in {c["name"] for c in inspect(engine).get_columns("emails")}
        sessions = make_session_factory(engine)
        with sessions() as session:
            email = session.get(EmailRecord, 1)
            assert email is not None and email.subject == "Bestelling" and email.fingerprint is None
            assert session.get(DraftRecord, 1).rep == "rep@x"
            assert session.scalars(select(Alias.sku)).all() == ["01-0001-0001"]
            assert repo.mailbox_state(session, "INBOX").last_uid == 1
        with sessions.begin() as session:  # and it is writable as before
            repo.audit(session, NOW, "test", "after_upgrade", email_id=1)
        open_existing(url).dispose()
    finally:
        engine.dispose()


def test_workers_starting_together_upgrade_once(url):
    errors: list[BaseException] = []

    def start() -> None:
        try:
            make_engine(url).dispose()
        except BaseException as exc:  # noqa: BLE001 - collected and shown by the assertion
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [
                head_revision()
            ]
    finally:
        engine.dispose()


def test_a_schema_newer_than_the_code_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'mo.db'}"
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(SchemaNotCurrent, match="newer than this mailorder"):
        make_engine(url)


def test_read_only_opening_never_creates_a_file(tmp_path):
    missing = tmp_path / "sub" / "mo.db"
    with pytest.raises(DatabaseMissing, match=str(missing)):
        open_existing(f"sqlite:///{missing}")
    assert not missing.parent.exists()


def test_db_commands(tmp_path, monkeypatch):
    monkeypatch.setenv("MAILORDER_DATABASE_URL", f"sqlite:///{tmp_path / 'mo.db'}")
    runner = CliRunner()
    result = runner.invoke(app, ["db", "current"])
    assert result.exit_code == 2 and "no database at" in result.output
    assert not (tmp_path / "mo.db").exists()
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0 and f"upgraded from empty to {head_revision()}" in result.output
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0 and f"already at {head_revision()}" in result.output
    result = runner.invoke(app, ["db", "current"])
    assert result.exit_code == 0 and f"{head_revision()} (head)" in result.output


def test_serve_refuses_an_old_schema_when_auto_migrate_is_off(tmp_path):
    import asyncio

    from mailorder.agent.config import Settings
    from mailorder.agent.service import open_runner

    url = f"sqlite:///{tmp_path / 'mo.db'}"
    _todays_database(url, baseline_only=True)
    settings = Settings(database_url=url, auto_migrate=False, erp_url="http://127.0.0.1:9")

    async def start() -> None:
        async with open_runner(settings):
            pass

    with pytest.raises(SchemaNotCurrent, match="MAILORDER_AUTO_MIGRATE"):
        asyncio.run(start())


def test_a_worker_waits_for_a_long_migration_beyond_the_statement_timeout(tmp_path, monkeypatch):
    """SQLite: a worker that finds another one migrating waits for the migration lock as long as
    MIGRATION_LOCK_TIMEOUT_S, not just the few seconds an ordinary statement waits."""
    from mailorder.store import db

    monkeypatch.setattr(db, "BUSY_TIMEOUT_S", 0.1)
    url = f"sqlite:///{tmp_path / 'store.db'}"
    holding, release = threading.Event(), threading.Event()

    def migrating_worker() -> None:
        engine = db.engine_for(url)
        try:
            with db._migration_lock(engine):
                holding.set()
                release.wait(timeout=30)
        finally:
            engine.dispose()

    other = threading.Thread(target=migrating_worker)
    other.start()
    try:
        assert holding.wait(timeout=30)
        threading.Timer(1.0, release.set).start()  # ten times the statement timeout
        make_engine(url).dispose()
    finally:
        release.set()
        other.join(timeout=30)
    engine = make_engine(url)
    try:
        assert schema_revision(engine) == head_revision()
    finally:
        engine.dispose()
