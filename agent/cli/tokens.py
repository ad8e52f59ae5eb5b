"""`mailorder tokens create|list|revoke`: bearer tokens of /api/classify. A token is printed once,
when it is created; the store keeps only its sha256."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from mailorder.agent.cli.common import config_option, fail, load_settings, read_sessions

tokens_app = typer.Typer(help="API tokens for POST /api/classify.", no_args_is_help=True)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@tokens_app.command("create")
def create_cmd(
    name: str = typer.Argument(..., help="What the token is for, e.g. crm-sync (unique)."),
    config: Optional[Path] = config_option(),
) -> None:
    """Create a token and print it (once: it cannot be shown again)."""
    from mailorder.agent.console.auth import new_api_token, sha256
    from mailorder.store import console as console_store
    from mailorder.store import repo

    name = name.strip()
    if not name or len(name) > 100:
        fail("a token name has 1 to 100 characters")
    token = new_api_token()
    with read_sessions(load_settings(config)).begin() as session:
        if (
            console_store.add_api_token(
                session, _now(), name=name, token_hash=sha256(token), prefix=token[:10]
            )
            is None
        ):
            fail(f"a token named {name!r} exists already (mailorder tokens revoke {name})", code=1)
        repo.audit(session, _now(), "cli", "api_token_created", name=name, prefix=token[:10])
    print(token)


@tokens_app.command("list")
def list_cmd(config: Optional[Path] = config_option()) -> None:
    """Show the tokens (name, first characters, created, revoked); never the tokens themselves."""
    from mailorder.store import console as console_store

    with read_sessions(load_settings(config))() as session:
        rows = console_store.list_api_tokens(session)
    table = Table("name", "starts with", "created", "revoked")
    for row in rows:
        table.add_row(
            row.name,
            row.prefix + "…",
            f"{row.created_at:%Y-%m-%d %H:%M}",
            f"{row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "",
        )
    Console(width=160).print(table)


@tokens_app.command("revoke")
def revoke_cmd(name: str, config: Optional[Path] = config_option()) -> None:
    """Revoke a token: /api/classify refuses it from the next request on."""
    from mailorder.store import console as console_store
    from mailorder.store import repo

    with read_sessions(load_settings(config)).begin() as session:
        row = console_store.revoke_api_token(session, _now(), name.strip())
        if row is None:
            fail(f"no live token named {name!r}", code=1)
        repo.audit(session, _now(), "cli", "api_token_revoked", name=row.name)
    typer.echo(f"revoked {name.strip()}")
