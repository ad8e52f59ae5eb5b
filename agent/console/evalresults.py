"""The `results/` of `mailorder eval` (agent.evaluation.harness.write_report writes one
eval-<UTC stamp>[-<prompt version>].json per run) for /eval: per dataset, the newest run of each
prompt version side by side, with that run's misses."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

MAX_FILES = 500  # newest result files read


@dataclass
class Run:
    file: str
    stamp: str  # 20261202T005041Z
    dataset: str
    prompt_version: str  # "rules" when no model ran
    method: str
    metrics: dict[str, Any] = field(default_factory=dict)
    latency_ms: dict[str, Any] = field(default_factory=dict)
    missed: list[dict[str, Any]] = field(default_factory=list)
    wrong_emails: list[dict[str, Any]] = field(default_factory=list)

    @property
    def column(self) -> str:
        return self.prompt_version if self.prompt_version != "rules" else f"{self.method} (no prompt)"

    @property
    def when(self) -> str:
        s = self.stamp
        return f"{s[0:4]}-{s[4:6]}-{s[6:8]} {s[9:11]}:{s[11:13]}" if len(s) >= 13 else s


@dataclass
class DatasetView:
    dataset: str
    columns: list[Run]  # newest run per prompt version, by column name

    def value(self, run: Run, key: str) -> str:
        value = run.metrics.get(key)
        if isinstance(value, (int, float)):
            return f"{100 * value:.1f} %"
        return "–"


def read_runs(results_dir: Path) -> list[Run]:
    """Every readable eval result, newest first."""
    if not results_dir.is_dir():
        return []
    files = sorted(results_dir.glob("eval-*.json"), reverse=True)[:MAX_FILES]
    runs = []
    for path in files:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            log.warning("eval result %s cannot be read: %s", path.name, exc)
            continue
        if not isinstance(data, dict) or not isinstance(data.get("metrics"), dict):
            continue
        stamp = path.stem.removeprefix("eval-").split("-", 1)[0]
        runs.append(
            Run(
                file=path.name,
                stamp=stamp,
                dataset=str(data.get("dataset") or "?"),
                prompt_version=str(data.get("prompt_version") or "rules"),
                method=str(data.get("method") or "rules"),
                metrics=data["metrics"],
                latency_ms=data.get("latency_ms") or {},
                missed=[m for m in data.get("missed") or [] if isinstance(m, dict)],
                wrong_emails=[
                    r
                    for r in data.get("per_email") or []
                    if isinstance(r, dict) and r.get("correct") is False
                ],
            )
        )
    runs.sort(key=lambda r: r.stamp, reverse=True)
    return runs


def by_dataset(runs: list[Run]) -> list[DatasetView]:
    """Per dataset (most recently run first): the newest run of each prompt version."""
    views: dict[str, dict[str, Run]] = {}
    for run in runs:  # newest first: the first run of a column is its newest
        views.setdefault(run.dataset, {}).setdefault(run.column, run)
    return [
        DatasetView(dataset, sorted(columns.values(), key=lambda r: r.column))
        for dataset, columns in views.items()
    ]
