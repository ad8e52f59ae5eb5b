"""`mailorder` command line: demo, serve, erp, mailserver, eval, orders."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import logging
from datetime import UTC
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from mailorder.agent.cli.aliases import aliases_app
from mailorder.agent.cli.autopost import autopost_app
from mailorder.agent.cli.common import config_option, fail, load_settings, read_sessions
from mailorder.agent.cli.console import console_cmd, eval_triage_cmd
from mailorder.agent.cli.db import db_app
from mailorder.agent.cli.prompts import prompts_app
from mailorder.agent.cli.tokens import tokens_app
from mailorder.agent.cli.users import users_app
from mailorder.agent.config import Settings
from mailorder.agent.review.autopost_policy import Policy

app = typer.Typer(help="mailorder: an email-native order desk.", no_args_is_help=True, add_completion=False)
orders_app = typer.Typer(help="Inspect drafts and their audit trail.", no_args_is_help=True)
app.add_typer(orders_app, name="orders")
app.add_typer(aliases_app, name="aliases")
app.add_typer(autopost_app, name="autopost")
app.add_typer(db_app, name="db")
app.add_typer(prompts_app, name="prompts")
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
app.command("console")(console_cmd)
app.command("eval-triage")(eval_triage_cmd)
console = Console()


def _version(value: bool) -> None:
    if value:
        from mailorder import __version__

        console.print(f"mailorder {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """mailorder: an email-native order desk."""


def _logging(verbose: bool, json_lines: bool = False) -> None:
    """Root logging with email/draft ids on every line (agent.logs); JSON Lines when asked."""
    from mailorder.agent.logs import install

    install(level=logging.DEBUG if verbose else logging.INFO, json_lines=json_lines)


def _require_dev_extra(command: str) -> None:
    """The dev servers (mail server, mock ERP) are an extra; say which one when it is missing."""
    missing = [
        name for name in ("aiosmtpd", "pymap", "fastapi", "uvicorn") if importlib.util.find_spec(name) is None
    ]
    if missing:
        console.print(
            f"`mailorder {command}` needs the dev extra ({', '.join(missing)} missing): "
            "pip install 'mailorder[dev]'",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(2)


@app.command()
def serve(
    config: Optional[Path] = config_option(),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
    log_json: bool = typer.Option(
        False,
        "--log-json",
        help="One JSON object per log line (time, level, logger, message, email_id, draft_id).",
    ),
    http_port: Optional[int] = typer.Option(
        None, "--http-port", help="Serve /healthz, /readyz, /metrics on this port (MAILORDER_HTTP_PORT)."
    ),
) -> None:
    """Run the agent: poll the inbox, draft orders, handle rep replies. SIGTERM or Ctrl-C drains
    the emails in flight (MAILORDER_DRAIN_SECONDS) and exits 0; a second one exits at once."""
    from mailorder.agent.extract.prompts import PromptNotFound
    from mailorder.agent.service import serve as run_serve
    from mailorder.store.db import SchemaNotCurrent

    _logging(verbose, json_lines=log_json)
    settings = load_settings(config, http_port=http_port)
    try:
        asyncio.run(run_serve(settings))
    except (SchemaNotCurrent, PromptNotFound) as exc:
        fail(str(exc))


@app.command()
def erp(
    port: int = typer.Option(8001, help="HTTP port on 127.0.0.1."),
    dataset: Optional[Path] = typer.Option(
        None, help="Folder with products.json, contacts.json, companies.json (default: the bundled data/)."
    ),
    db: Path = typer.Option(Path("var/mock-erp.db"), help="SQLite file for orders."),
    latency_ms: float = typer.Option(0.0, help="Added latency per API call."),
    error_rate: float = typer.Option(0.0, help="Share of submit-order calls answered with 500."),
    force_status: Optional[int] = typer.Option(
        None, help="Answer every submit-order with this status (500/503)."
    ),
) -> None:
    """Run the mock ERP (FastAPI)."""
    _require_dev_extra("erp")
    from mailorder.mock_erp.faults import Faults
    from mailorder.mock_erp.server import run_erp

    _logging(False)
    faults = Faults(latency_ms=latency_ms, error_rate=error_rate, force_status=force_status)
    run_erp(port=port, dataset_dir=dataset, db_path=db, faults=faults)


@app.command()
def mailserver(
    imap_port: int = typer.Option(3143, help="IMAP port (GreenMail's test default)."),
    smtp_port: int = typer.Option(3025, help="SMTP port (GreenMail's test default)."),
    data_dir: Path = typer.Option(Path("var/mail"), help="Maildir storage (survives restarts)."),
    accounts: str = typer.Option(
        "", help="Extra accounts, comma-separated (orders@example.com and rep@example.com always exist)."
    ),
    password: str = typer.Option("dev", help="Password of explicit accounts."),
    auto_accounts: bool = typer.Option(
        True,
        "--auto-accounts/--no-auto-accounts",
        help="Create accounts on first delivery (login = password = address).",
    ),
) -> None:
    """Run the embedded dev mail server (IMAP + SMTP on loopback)."""
    _require_dev_extra("mailserver")
    from mailorder.mail.devserver import run_mailserver

    _logging(False)
    extra = [a.strip() for a in accounts.split(",") if a.strip()]
    console.print(f"SMTP 127.0.0.1:{smtp_port}  IMAP 127.0.0.1:{imap_port}  data {data_dir}")
    run_mailserver(
        data_dir=data_dir,
        smtp_port=smtp_port,
        imap_port=imap_port,
        accounts=extra,
        password=password,
        auto_accounts=auto_accounts,
    )


@app.command(name="eval")
def evaluate(
    dataset: Path = typer.Option(..., help="Dataset folder in the interchange format."),
    out: Path = typer.Option(Path("results/predictions.jsonl"), help="Predictions (JSON Lines)."),
    details: bool = typer.Option(False, help="One row per email."),
    prompt_version: Optional[str] = typer.Option(None, help="Prompt version for the model path."),
    learn: bool = typer.Option(False, help="Replay with the ground truth as the rep's corrections."),
    autopost: bool = typer.Option(
        False, help="Apply the automatic-posting policy (history from the replay): would / unsafe auto-post."
    ),
    compare: Optional[str] = typer.Option(
        None, help="A second prompt version: both versions' metrics side by side in one run."
    ),
    config: Optional[Path] = config_option(),
) -> None:
    """Backtest the extraction pipeline on a dataset and print accuracy, latency and tokens."""
    _require_dev_extra("eval")  # the backtest answers catalog and customers from an in-process mock ERP
    from mailorder.agent.evaluation.harness import format_report, run_eval
    from mailorder.agent.extract.attachments import use_attachment_settings
    from mailorder.agent.service import make_llm_extractor

    _logging(False)
    logging.getLogger().setLevel(logging.WARNING)
    if compare:  # agent/cli/prompts.py runs both versions
        from mailorder.agent.cli.prompts import compare_versions

        text = compare_versions(
            dataset, out, prompt_version, compare, details=details, learn=learn, config=config
        )
        console.print(text, markup=False, highlight=False)
        return
    settings = load_settings(config)
    use_attachment_settings(settings)  # order files in the dataset are read within the same limits as `serve`
    extractor = make_llm_extractor(settings)
    if extractor is not None and prompt_version:  # admins compare prompt versions on one dataset
        from mailorder.agent.extract.prompts import load_prompt

        extractor.extractor.prompt = load_prompt("extract", prompt_version)
    report = asyncio.run(
        run_eval(
            dataset,
            out,
            llm_extractor=extractor,
            details=details,
            prompt_version=prompt_version,
            learn=learn,
            autopost=_autopost_policy(settings) if autopost else None,
        )
    )
    console.print(format_report(report), markup=False, highlight=False)


def _autopost_policy(settings: Settings) -> Policy:
    """The policy as configured, applied to every customer of the dataset."""
    return Policy(
        enabled=True,
        customers=frozenset({"*"}),
        min_history=settings.autopost_min_history,
        max_total=settings.autopost_max_total,
        window_seconds=settings.autopost_window_seconds,
    )


@app.command()
def demo(
    interactive: bool = typer.Option(False, "--interactive", help="Be the rep yourself at the terminal."),
    workdir: Path = typer.Option(Path("var/demo"), help="Where the demo keeps its mail, DBs and logs."),
    keep_running: bool = typer.Option(
        False, help="Keep the servers up afterwards (to watch with a mail client)."
    ),
    limit: int = typer.Option(0, help="Only load the first N sample emails (0 = all)."),
) -> None:
    """Start mail server, ERP and agent on free ports, load the sample emails, play the loop."""
    _require_dev_extra("demo")
    from mailorder.agent.demo import run_demo

    _logging(False)
    logging.getLogger().setLevel(logging.WARNING)
    asyncio.run(
        run_demo(console, workdir=workdir, interactive=interactive, keep_running=keep_running, limit=limit)
    )


@app.command()
def stats(
    days: int = typer.Option(7, help="Period: the last N days (0 = everything)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output for dashboards."),
    config: Optional[Path] = config_option(),
) -> None:
    """Emails by class, drafts by state, automation rate, latencies, ERP errors."""
    from datetime import datetime, timedelta

    from mailorder.store.stats import compute_stats

    sessions = read_sessions(load_settings(config))
    since = datetime.now(UTC) - timedelta(days=days) if days else None
    with sessions() as session:
        figures = compute_stats(session, since=since.replace(tzinfo=None) if since else None)
    if as_json:
        print(json.dumps(figures))
        return
    table = Table("figure", "value", title=f"mailorder stats ({f'last {days} days' if days else 'all time'})")
    for key, value in figures.items():
        if key != "period":
            table.add_row(key.replace("_", " "), json.dumps(value) if isinstance(value, dict) else str(value))
    console.print(table)


# --- orders ------------------------------------------------------------------------------------


@orders_app.command("list")
def orders_list(
    status: Optional[str] = typer.Option(None, help="e.g. awaiting_review, confirmed, rejected."),
    limit: int = typer.Option(50),
    config: Optional[Path] = config_option(),
) -> None:
    """List drafts, newest first."""
    from mailorder.store import repo

    sessions = read_sessions(load_settings(config))
    table = Table("draft", "ver", "status", "customer", "rep", "ERP order", "subject", "updated")
    with sessions() as session:
        for d in repo.list_drafts(session, status, limit):
            email = repo.get_email(session, d.email_id)
            table.add_row(
                f"MO-{d.id}",
                f"v{d.version}",
                d.status,
                d.customer_id or "unknown",
                d.rep,
                d.erp_order_id or "",
                (email.subject if email else "")[:50],
                f"{d.updated_at:%Y-%m-%d %H:%M}",
            )
    console.print(table)


@orders_app.command("show")
def orders_show(
    draft: str = typer.Argument(..., help="Draft id, e.g. 12 or MO-12."),
    config: Optional[Path] = config_option(),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Show one draft: its current version and the full audit trail."""
    from mailorder.store import repo

    draft_id = int(draft.upper().removeprefix("MO-"))
    sessions = read_sessions(load_settings(config))
    with sessions() as session:
        record = repo.get_draft(session, draft_id)
        if record is None:
            console.print(f"no draft MO-{draft_id}")
            raise typer.Exit(1)
        email = repo.get_email(session, record.email_id)
        version = repo.version_row(session, record.id, record.version)
        trail = repo.audit_trail(session, email_id=record.email_id, draft_id=record.id)
        if as_json:
            console.print_json(
                json.dumps(
                    {
                        "draft_id": record.id,
                        "status": record.status,
                        "version": record.version,
                        "payload": version.payload,
                        "audit": [
                            {
                                "at": e.at.isoformat(),
                                "actor": e.actor,
                                "action": e.action,
                                "details": e.details,
                            }
                            for e in trail
                        ],
                    }
                )
            )
            return
        console.print(
            f"[bold]MO-{record.id} v{record.version}[/] {record.status}  "
            f"customer {record.customer_id or 'unknown'}  rep {record.rep}  ERP {record.erp_order_id or '-'}"
        )
        if email is not None:
            console.print(f"email #{email.id} from {email.sender}: {email.subject}")
        lines = Table("#", "SKU", "qty", "unit", "name", "unit price", "total", "conf")
        for n, line in enumerate(version.payload.get("lines", []), 1):
            qty = line.get("qty")
            lines.add_row(
                str(n),
                line.get("sku") or "?",
                "?" if qty is None else f"{qty:g}",
                line.get("unit") or "",
                (line.get("product_name") or "")[:50],
                f"{line.get('unit_price', 0):.2f}",
                f"{line.get('line_total', 0):.2f}",
                f"{line.get('confidence', 0):.2f}",
            )
        console.print(lines)
        for issue in version.payload.get("issues", []):
            console.print(f"  issue: {issue['code']}: {issue['message']}")
        audit = Table("when", "actor", "action", "details")
        for e in trail:
            audit.add_row(
                f"{e.at:%Y-%m-%d %H:%M:%S}",
                e.actor,
                e.action,
                json.dumps(e.details, ensure_ascii=False)[:120],
            )
        console.print(audit)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
