"""`mailorder autopost status|enable COMP-…|disable COMP-…`: earned autonomy per customer, audited."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from mailorder.agent.cli.common import config_option, load_settings, read_sessions
from mailorder.store import autopost as plans
from mailorder.store import repo

autopost_app = typer.Typer(help="Automatic posting of routine orders (off unless MAILORDER_AUTOPOST=on).")


@autopost_app.command("status")
def status_cmd(config: Optional[Path] = config_option()) -> None:
    """The policy, the customers switched on or off, and the plans of the last 7 days."""
    settings = load_settings(config)
    console = Console(width=160)
    console.print(
        f"MAILORDER_AUTOPOST={settings.autopost}  customers={','.join(settings.autopost_customers) or '-'}  "
        f"min history={settings.autopost_min_history}  max total={settings.autopost_max_total:.2f}  "
        f"window={settings.autopost_window_seconds:.0f}s (working time)",
        markup=False,
    )
    with read_sessions(settings)() as session:
        switches = plans.customer_switches(session)
        recent = plans.plans_since(session, datetime.now(UTC).replace(tzinfo=None) - timedelta(days=7))
    table = Table("customer", "switched", title="per customer (`autopost enable|disable`)")
    for company_id, enabled in sorted(switches.items()):
        table.add_row(company_id, "on" if enabled else "off")
    console.print(table)
    counts: dict[str, int] = {}
    for plan in recent:
        counts[plan.status] = counts.get(plan.status, 0) + 1
    console.print(
        "plans, last 7 days: " + (", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none")
    )


def _switch(company_id: str, enabled: bool, by: str | None, config: Optional[Path]) -> None:
    settings = load_settings(config)
    company_id = company_id.strip().upper()
    actor = by or getpass.getuser()
    now = datetime.now(UTC).replace(tzinfo=None)
    with read_sessions(settings).begin() as session:
        plans.set_customer(session, now, company_id, enabled=enabled, by=actor)
        repo.audit(
            session, now, actor, "autopost_enabled" if enabled else "autopost_disabled", customer=company_id
        )
    state = "on" if enabled else "off"
    typer.echo(f"automatic posting {state} for {company_id} (audited as {actor})")
    if enabled and settings.autopost != "on":
        typer.echo("note: MAILORDER_AUTOPOST is off, so nothing posts by itself until it is on", err=True)


@autopost_app.command("enable")
def enable_cmd(
    company_id: str,
    by: Optional[str] = typer.Option(None, "--by", help="Who switches it (default: the login name)."),
    config: Optional[Path] = config_option(),
) -> None:
    """Let a customer's routine orders post themselves (within the policy)."""
    _switch(company_id, True, by, config)


@autopost_app.command("disable")
def disable_cmd(
    company_id: str,
    by: Optional[str] = typer.Option(None, "--by", help="Who switches it (default: the login name)."),
    config: Optional[Path] = config_option(),
) -> None:
    """Never post this customer's orders by themselves (wins over MAILORDER_AUTOPOST_CUSTOMERS=*)."""
    _switch(company_id, False, by, config)
