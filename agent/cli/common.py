"""What every command shares: settings (exit 2 on a bad one), and the store opened read-only."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NoReturn, Optional

import typer
from sqlalchemy.orm import Session, sessionmaker

from mailorder.agent.config import ConfigError, Settings

CONFIG_HELP = "TOML file with the same keys as the environment (the environment wins)."


def config_option() -> Optional[Path]:
    return typer.Option(None, "--config", help=CONFIG_HELP)


def fail(message: str, code: int = 2) -> NoReturn:
    """One clear line on stderr, then exit (2: the configuration or the data cannot be used)."""
    typer.echo(f"mailorder: {message}", err=True)
    raise typer.Exit(code)


def load_settings(config: Optional[Path], **overrides: Any) -> Settings:
    try:
        return Settings.load(config_file=config, **overrides)
    except ConfigError as exc:
        fail(str(exc))


def read_sessions(settings: Settings) -> sessionmaker[Session]:
    """Sessions on the existing store; never creates a database (exit 2 naming what is missing)."""
    from sqlalchemy.exc import OperationalError

    from mailorder.store.db import (
        DatabaseMissing,
        SchemaNotCurrent,
        make_session_factory,
        open_existing,
        safe_url,
    )

    try:
        return make_session_factory(open_existing(settings.database_url))
    except (DatabaseMissing, SchemaNotCurrent) as exc:
        fail(str(exc))
    except OperationalError as exc:  # a server that cannot be reached, a login refused
        reason = str(exc.orig or exc).strip().splitlines()[0][:200]
        fail(f"cannot open the database {safe_url(settings.database_url)}: {reason}")
