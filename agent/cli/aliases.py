"""`mailorder aliases list|remove`: learned aliases are visible and reversible."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from mailorder.agent.cli.common import config_option, load_settings, read_sessions
from mailorder.store import repo
from mailorder.store.aliases import list_aliases, remove_alias

aliases_app = typer.Typer(help="Aliases learned from rep corrections.", no_args_is_help=True)


@aliases_app.command("list")
def list_cmd(
    customer: Optional[str] = typer.Option(None, "--customer", help="Company id, e.g. COMP-004"),
    config: Optional[Path] = config_option(),
) -> None:
    """Show learned aliases."""
    with read_sessions(load_settings(config))() as session:
        rows = list_aliases(session, customer)
    table = Table("id", "customer", "source text", "sku", "unit", "taught by", "when", "uses")
    for a in rows:
        table.add_row(
            str(a.id),
            a.customer_id,
            a.source_text,
            a.sku,
            a.unit or "",
            a.taught_by,
            a.taught_at.strftime("%Y-%m-%d %H:%M"),
            str(a.uses),
        )
    Console(width=200).print(table)


@aliases_app.command("remove")
def remove_cmd(alias_id: int, config: Optional[Path] = config_option()) -> None:
    """Delete one alias (audited); takes effect at the next start of serve."""
    sessions = read_sessions(load_settings(config))
    with sessions.begin() as session:
        alias = remove_alias(session, alias_id)
        if alias is None:
            typer.echo(f"no alias {alias_id}", err=True)
            raise typer.Exit(1)
        repo.audit(
            session,
            datetime.now(UTC).replace(tzinfo=None),
            "cli",
            "alias_removed",
            alias_id=alias_id,
            customer_id=alias.customer_id,
            source_text=alias.source_text,
            sku=alias.sku,
        )
    typer.echo(f"removed alias {alias_id}")
