"""`mailorder console` (the web console and /api/classify beside `serve`) and
`mailorder eval-triage` (backtest of that classification)."""

from __future__ import annotations

import importlib.util
import json
import logging
from pathlib import Path
from typing import Optional

import typer

from mailorder.agent.cli.common import config_option, fail, load_settings

log = logging.getLogger(__name__)

# import name -> package, of what the console needs beyond `serve` (the `console` extra)
CONSOLE_MODULES = {
    "fastapi": "fastapi",
    "uvicorn": "uvicorn",
    "multipart": "python-multipart",
    "argon2": "argon2-cffi",
    "nh3": "nh3",
}


def require_console_extra(command: str) -> None:
    """Stop with one line naming the extra when its packages are missing."""
    missing = [
        package for module, package in CONSOLE_MODULES.items() if importlib.util.find_spec(module) is None
    ]
    if missing:
        fail(
            f"`mailorder {command}` needs the console extra ({', '.join(missing)} missing): "
            "pip install 'mailorder[console]'"
        )


def console_cmd(
    port: Optional[int] = typer.Option(None, "--port", help="Port (MAILORDER_CONSOLE_PORT, default 8080)."),
    host: Optional[str] = typer.Option(
        None, "--host", help="Address (MAILORDER_CONSOLE_HOST, default loopback)."
    ),
    config: Optional[Path] = config_option(),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
    log_json: bool = typer.Option(False, "--log-json", help="One JSON object per log line."),
) -> None:
    """Run the web console and POST /api/classify (same settings and database as `serve`).
    Several console processes may run beside several workers: sign-ins, throttling, tokens and
    decisions live in the store. Put TLS in front of it; cookies are Secure behind https."""
    require_console_extra("console")
    import uvicorn

    from mailorder.agent.console.app import create_app
    from mailorder.agent.console.classification import LabelSetError
    from mailorder.agent.logs import install
    from mailorder.store.db import SchemaNotCurrent

    install(level=logging.DEBUG if verbose else logging.INFO, json_lines=log_json)
    settings = load_settings(config, console_port=port, console_host=host)
    try:
        app = create_app(settings)
    except LabelSetError as exc:
        fail(f"MAILORDER_CONSOLE_LABEL_SETS: {exc}")
    except SchemaNotCurrent as exc:
        fail(str(exc))
    log.info("console on http://%s:%s", settings.console_host, settings.console_port)
    uvicorn.run(
        app,
        host=settings.console_host,
        port=settings.console_port,
        log_config=None,
        proxy_headers=True,  # X-Forwarded-Proto/-For from a TLS proxy on loopback (uvicorn's default trust)
        server_header=False,
        access_log=verbose,
    )


def eval_triage_cmd(
    dataset: Path = typer.Option(..., help="Dataset folder (emails.json with is_order_email or label)."),
    mailbox: Optional[str] = typer.Option(
        None, help="Classify every email as received by this mailbox (default: its receiving_email)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    config: Optional[Path] = config_option(),
) -> None:
    """Backtest the classification of /api/classify: per-label precision, recall, F1 and a
    confusion matrix (with the mailbox label sets of MAILORDER_CONSOLE_LABEL_SETS)."""
    from mailorder.agent.console.backtest import backtest, format_backtest
    from mailorder.agent.console.classification import LabelSetError, load_label_sets

    settings = load_settings(config)
    logging.getLogger().setLevel(logging.WARNING)
    if not (dataset / "emails.json").is_file():
        fail(f"no emails.json in {dataset}")
    try:
        label_sets = load_label_sets(settings.console_label_sets)
    except LabelSetError as exc:
        fail(f"MAILORDER_CONSOLE_LABEL_SETS: {exc}")
    result = backtest(dataset, label_sets, mailbox)
    if as_json:
        print(json.dumps(result.as_dict(), indent=2))
    else:
        typer.echo(format_backtest(result))
