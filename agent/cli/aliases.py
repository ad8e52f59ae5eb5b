"""`mailorder aliases list|remove`: learned aliases are visible and reversible."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from mailorder.agent.config import Settings
from mailorder.store import repo
from mailorder.store.aliases import list_aliases, remove_alias
from mailorder.store.db import make_engine, make_session_factory

aliases_app = typer.Typer(help="Aliases learned from rep corrections.", no_args_is_help=True)


def _sessions():
    return make_session_factory(make_engine(Settings.load().database_url))


@aliases_app.command("list")
def list_cmd(
    customer: Optional[str] = typer.Option(None, "--customer", help="Company id, e.g. COMP-004"),
) -> None:
    """Show learned aliases."""
    with _sessions()() as session:
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
def remove_cmd(alias_id: int) -> None:
    """Delete one alias (audited); takes effect at the next start of serve."""
    sessions = _sessions()
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
