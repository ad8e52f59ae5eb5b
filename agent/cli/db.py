"""`mailorder db upgrade|current|prune|revision`: the store's schema and housekeeping."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Optional

import typer

from mailorder.agent.cli.common import config_option, fail, load_settings, read_sessions
from mailorder.agent.config import Settings

db_app = typer.Typer(help="The store: schema migrations and housekeeping.", no_args_is_help=True)

_AGE = re.compile(r"^\s*(\d+)\s*([dhw]?)\s*$")


def parse_age(text: str) -> timedelta:
    """'90d', '12h', '2w' or a bare number of days (pure)."""
    match = _AGE.match(text.lower())
    if not match:
        raise ValueError(f"cannot read {text!r} as an age (use e.g. 90d, 12h, 2w)")
    number, unit = int(match[1]), match[2] or "d"
    return {"d": timedelta(days=number), "h": timedelta(hours=number), "w": timedelta(weeks=number)}[unit]


@db_app.command("upgrade")
def upgrade_cmd(
    config: Optional[Path] = config_option(),
    revision: str = typer.Option("head", help="Target revision."),
) -> None:
    """Bring the schema to the newest revision (creates the database when there is none).
    Safe while other workers start: the migration runs under a lock."""
    from mailorder.store.db import SchemaNotCurrent, make_engine, safe_url, upgrade

    settings = load_settings(config)
    try:
        engine = make_engine(settings.database_url, migrate=False)
        result = upgrade(engine, revision)
    except SchemaNotCurrent as exc:
        fail(str(exc))
    engine.dispose()
    where = safe_url(settings.database_url)
    if result.changed:
        start = result.before or (
            "pre-migration tables, stamped at the baseline" if result.stamped else "empty"
        )
        typer.echo(f"{where}: upgraded from {start} to {result.after}")
    else:
        typer.echo(f"{where}: already at {result.after}")


@db_app.command("current")
def current_cmd(config: Optional[Path] = config_option()) -> None:
    """The database's schema revision and the newest one this mailorder knows (exit 1 when behind)."""
    from sqlalchemy import inspect

    from mailorder.store.db import engine_for, head_revision, safe_url, schema_revision, sqlite_file

    settings = load_settings(config)
    path = sqlite_file(settings.database_url)
    if path is not None and not path.is_file():
        fail(f"no database at {path.resolve()}")
    engine = engine_for(settings.database_url)
    try:
        current = schema_revision(engine)
        with engine.connect() as conn:
            has_tables = inspect(conn).has_table("emails")
    finally:
        engine.dispose()
    head = head_revision()
    where = safe_url(settings.database_url)
    if current == head:
        typer.echo(f"{where}: {current} (head)")
        return
    if current is None:
        state = "pre-migration tables (upgrade stamps them)" if has_tables else "empty"
    else:
        state = current
    typer.echo(f"{where}: {state}; newest is {head}: run `mailorder db upgrade`")
    raise typer.Exit(1)


@db_app.command("prune")
def prune_cmd(
    older_than: str = typer.Option(
        "90d", "--older-than", help="Age of finished work to prune: 90d, 12h, 2w."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only report what would be removed."),
    vacuum: bool = typer.Option(False, "--vacuum", help="SQLite: shrink the checkpoint file afterwards."),
    config: Optional[Path] = config_option(),
) -> None:
    """Remove LangGraph checkpoints of finished threads: drafts confirmed or rejected, emails that
    were no order, failed or ignored, last changed longer ago than --older-than. The store's rows
    (emails, drafts, audit) are kept."""
    try:
        age = parse_age(older_than)
    except ValueError as exc:
        fail(str(exc))
    settings = load_settings(config)
    sessions = read_sessions(settings)
    before = datetime.now(UTC).replace(tzinfo=None) - age
    report = asyncio.run(_prune(settings, sessions, before, dry_run=dry_run, vacuum=vacuum))
    typer.echo(report)


async def _prune(settings: Settings, sessions, before: datetime, *, dry_run: bool, vacuum: bool) -> str:
    from mailorder.agent.service import open_checkpointer
    from mailorder.agent.workflow.graph import thread_config
    from mailorder.store import repo
    from mailorder.store.db import is_postgres

    with sessions() as session:
        email_ids = repo.finished_thread_email_ids(session, before)
    sqlite_file = None if is_postgres(settings.database_url) else settings.resolved_checkpoint_path
    if sqlite_file is not None and not sqlite_file.is_file():
        return f"no checkpoint file at {sqlite_file}: nothing to prune"
    size_before = sqlite_file.stat().st_size if sqlite_file is not None else None
    threads = checkpoints = 0
    async with open_checkpointer(settings) as saver:
        for email_id in email_ids:
            config = thread_config(email_id)
            found = 0
            async for _ in saver.alist(config):
                found += 1
            if not found:
                continue
            threads += 1
            checkpoints += found
            if not dry_run:
                await saver.adelete_thread(config["configurable"]["thread_id"])
        if vacuum and sqlite_file is not None and not dry_run:
            await saver.conn.execute("VACUUM")
    verb = "would remove" if dry_run else "removed"
    lines = [
        f"{len(email_ids)} finished email(s) last changed before {before:%Y-%m-%d %H:%M} UTC; "
        f"{verb} {checkpoints} checkpoint(s) of {threads} thread(s)"
    ]
    if sqlite_file is not None and size_before is not None:
        size_after = sqlite_file.stat().st_size
        lines.append(
            f"checkpoint file {sqlite_file}: {size_before / 1e6:.1f} MB -> {size_after / 1e6:.1f} MB"
            + ("" if vacuum or dry_run else " (space is reused; --vacuum shrinks the file)")
        )
    return "\n".join(lines)


@db_app.command("revision", hidden=True)
def revision_cmd(
    message: str = typer.Option(..., "-m", "--message", help="What the revision changes."),
) -> None:
    """Developers: write a new migration autogenerated from the models (review it before use)."""
    import tempfile

    from alembic import command

    from mailorder.store.db import alembic_config, head_revision, make_engine

    rev_id = f"{int(head_revision()) + 1:04d}"
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'head.db'}")
        with engine.begin() as conn:
            script = command.revision(alembic_config(conn), message=message, autogenerate=True, rev_id=rev_id)
        engine.dispose()
    path = getattr(script, "path", None) if script is not None and not isinstance(script, list) else None
    typer.echo(f"wrote {path or 'a new revision'}: review it, then run `ruff format` on it")
