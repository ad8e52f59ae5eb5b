"""`mailorder prompts list|show`, and the side-by-side report of `mailorder eval --compare`."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from mailorder.agent.cli.common import config_option, fail, load_settings
from mailorder.agent.extract.prompts import (
    PromptNotFound,
    find_prompt,
    list_prompts,
    load_prompt,
    use_prompts_dir,
)

if TYPE_CHECKING:
    from mailorder.agent.evaluation.harness import EvalReport

prompts_app = typer.Typer(help="The versioned prompts: which exist, which are live.", no_args_is_help=True)
console = Console()


@prompts_app.command("list")
def list_cmd(config: Optional[Path] = config_option()) -> None:
    """Every prompt version in the prompts folder; `live` marks what `serve` would use."""
    settings = load_settings(config)
    use_prompts_dir(settings.prompts_dir)
    files = list_prompts()
    pinned = {"extract": settings.prompt_version, "edit": settings.edit_prompt_version}
    try:
        live = {name: load_prompt(name, pinned.get(name)).version for name in {f.name for f in files}}
    except PromptNotFound as exc:
        fail(str(exc))
    table = Table(
        "version",
        "file",
        "chars",
        "live",
        "first line",
        title=f"prompts in {settings.prompts_dir or 'the package'}",
    )
    for f in files:
        is_live = live.get(f.name) == f.prompt.version
        how = ("pinned" if pinned.get(f.name) else "newest") if is_live else ""
        table.add_row(
            f.prompt.version,
            f.file,
            str(len(f.prompt.text)),
            how,
            f.prompt.text.splitlines()[0][:60] if f.prompt.text else "",
        )
    console.print(table)


@prompts_app.command("show")
def show_cmd(
    version: str = typer.Argument(..., help="e.g. extract-v1, edit-v1 (v1 alone: the extraction prompt)"),
    config: Optional[Path] = config_option(),
) -> None:
    """Print one prompt version's text."""
    settings = load_settings(config)
    use_prompts_dir(settings.prompts_dir)
    try:
        prompt = find_prompt(version)
    except PromptNotFound as exc:
        fail(str(exc))
    typer.echo(f"# {prompt.version}\n")
    typer.echo(prompt.text)


# --- eval --compare --------------------------------------------------------------------------------
def compare_versions(
    dataset: Path,
    out: Path,
    version_a: str | None,
    version_b: str,
    *,
    details: bool,
    learn: bool,
    config: Optional[Path],
) -> str:
    """Run the backtest once per prompt version and return both reports side by side."""
    from mailorder.agent.evaluation.harness import run_eval
    from mailorder.agent.service import make_llm_extractor

    settings = load_settings(config)
    use_prompts_dir(settings.prompts_dir)
    try:
        prompts = [
            load_prompt("extract", version_a or settings.prompt_version),
            load_prompt("extract", version_b),
        ]
    except PromptNotFound as exc:
        fail(str(exc))

    async def both() -> list[EvalReport]:  # one event loop: the model client is reused across runs
        reports = []
        for prompt in prompts:
            extractor = make_llm_extractor(settings)
            if extractor is not None:
                extractor.extractor.prompt = prompt
            target = out.with_name(f"{out.stem}-{prompt.version}{out.suffix}")
            reports.append(
                await run_eval(
                    dataset,
                    target,
                    llm_extractor=extractor,
                    details=details,
                    prompt_version=prompt.version,
                    learn=learn,
                )
            )
        return reports

    reports = asyncio.run(both())
    text = format_comparison(reports[0], reports[1])
    if not settings.llm_enabled:
        text += "\n\nno model configured (OPENAI_API_KEY): both runs used the rules extractor (no prompt)"
    return text


def format_comparison(a: EvalReport, b: EvalReport) -> str:
    """The metrics of two eval runs in two columns, with the difference."""
    from mailorder.agent.evaluation.scoring import METRIC_ROWS

    name_a, name_b = a.prompt_version or "a", b.prompt_version or "b"
    rows = [
        f"dataset     {a.dataset}",
        f"method      {a.method}",
        f"emails      {a.metrics.get('n_emails', 0)} (orders {a.metrics.get('n_order_emails', 0)})",
        "",
        f"{'metric':<24} {name_a:>12} {name_b:>12} {'change':>8}",
    ]
    for label, key in METRIC_ROWS:
        va, vb = 100 * a.metrics.get(key, 0.0), 100 * b.metrics.get(key, 0.0)
        rows.append(f"{label:<24} {va:11.1f}% {vb:11.1f}% {vb - va:+7.1f}")
    extra: list[tuple[str, Any, Any]] = []
    if a.latency_ms and b.latency_ms:
        extra.append(("latency median (ms)", a.latency_ms["median"], b.latency_ms["median"]))
        extra.append(("latency p95 (ms)", a.latency_ms["p95"], b.latency_ms["p95"]))
    if a.tokens and b.tokens:
        extra.append(("prompt tokens median", a.tokens["median"], b.tokens["median"]))
        extra.append(("prompt tokens total", a.tokens["total"], b.tokens["total"]))
    for label, va, vb in extra:
        rows.append(f"{label:<24} {va:12.1f} {vb:12.1f} {vb - va:+8.1f}")
    rows += ["", f"predictions {a.predictions}", f"            {b.predictions}"]
    return "\n".join(rows)
