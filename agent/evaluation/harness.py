"""`mailorder eval`: run the production pipeline over a dataset folder and score it.

Each email record becomes a real MIME message (input fields only), is parsed by
mail.parse, and runs through agent.pipeline against an in-process mock ERP.
"""

from __future__ import annotations

import json
import logging
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
from pydantic import BaseModel, Field

from mailorder.agent.evaluation.autopost_replay import AutopostReplay
from mailorder.agent.evaluation.dataset import record_to_message
from mailorder.agent.evaluation.scoring import (
    METRIC_ROWS,
    Truth,
    TruthEmail,
    load_truth,
    missed_lines,
    phenomenon_recall,
    score,
)
from mailorder.agent.review.autopost_policy import Policy
from mailorder.agent.workflow.pipeline import Analysis, LlmExtractor, analyse_email
from mailorder.domain import TriageLabel
from mailorder.mail.parse import parse_email
from mailorder.mock_erp.app import create_app
from mailorder.tools.catalog import normalise_alias
from mailorder.tools.erp_client import ErpClient
from mailorder.tools.toolbox import Toolbox

log = logging.getLogger(__name__)

# non-orders recognised from headers are safe to leave alone; everything else gets a human look
_SELF_EVIDENT = {TriageLabel.AUTO_REPLY, TriageLabel.MARKETING}


class EvalReport(BaseModel):
    dataset: str
    predictions: str
    prompt_version: str | None = None
    method: str = "rules"
    metrics: dict = Field(default_factory=dict)  # score() output without per_email
    per_email: list[dict] = Field(default_factory=list)
    latency_ms: dict[str, float] = Field(default_factory=dict)  # median, p95, max
    report_files: list[str] = Field(default_factory=list)
    learning: dict = Field(default_factory=dict)  # --learn: line F1 on later emails without/with
    autopost: dict = Field(default_factory=dict)  # --autopost: would / unsafe automatic posts
    tokens: dict = Field(default_factory=dict)  # model path: prompt tokens per email
    phenomena: dict = Field(default_factory=dict)  # --details: per `phenomenon` tag of truth lines
    missed: list[dict] = Field(default_factory=list)  # --details: true lines not matched


def email_to_mime(record: dict, dataset_dir: Path | None = None) -> bytes:
    """The input fields of a dataset email record as a multipart/alternative message (with its
    order files attached, their paths relative to `dataset_dir`)."""
    return bytes(record_to_message(record, dataset_dir=dataset_dir))


def received_at(record: dict) -> datetime | None:
    value = record.get("received_date")
    if not value:
        return None
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def prediction(email_id: str, analysis: Analysis) -> dict:
    """One JSONL record in the README's prediction format."""
    is_order = analysis.triage.label == TriageLabel.ORDER
    # only a known contact is an identified customer; a domain match is a suggestion for the rep
    customer = analysis.customer.customer if analysis.customer.method == "contact" else None
    record = {
        "email_id": email_id,
        "is_order": is_order,
        "customer": {
            "company_id": customer.company_id if customer else None,
            "contact_email": customer.contact_email if customer else None,
        },
        "lines": [],
        "reference": None,
        "delivery_date": None,
        "confidence": analysis.triage.confidence,
        # a label from headers or clear wording is left alone; an unsure one gets a human look
        "needs_review": analysis.triage.label not in _SELF_EVIDENT or analysis.triage.confidence < 0.9,
    }
    draft = analysis.draft
    if is_order and draft is not None:
        record.update(
            lines=[
                {
                    "sku": ln.sku,
                    "qty": ln.qty,
                    "unit": ln.unit,
                    "reference": ln.reference,
                    "alternatives": [c.sku for c in ln.candidates if c.sku != ln.sku][:3],
                }
                for ln in draft.lines
            ],
            reference=draft.reference,
            delivery_date=draft.delivery_date.isoformat() if draft.delivery_date else None,
            confidence=draft.confidence,
            needs_review=draft.needs_review,
        )
    usage = getattr(analysis.extraction, "usage", None)
    if usage is not None and usage.prompt_tokens:
        record["prompt_tokens"] = usage.prompt_tokens  # extra field: the scorer ignores it
    return record


async def _predict(
    dataset_dir: Path,
    records: list[dict],
    *,
    llm_extractor: LlmExtractor | None,
    clock: Callable[[], float],
    teacher: Truth | None = None,
    autopost: AutopostReplay | None = None,
) -> tuple[list[dict], list[float], int]:
    """Predictions in received order; with a teacher, its truth plays the rep's corrections
    after each email (taught as per-customer aliases, used for the later emails)."""
    erp = ErpClient("http://erp", transport=httpx.ASGITransport(app=create_app(dataset_dir)))
    latencies: list[float] = []
    predictions: list[dict] = []
    taught = 0
    try:
        toolbox = await Toolbox.create(erp)
        for record in records:
            email = parse_email(email_to_mime(record, dataset_dir))
            now = received_at(record) or datetime.now(UTC)
            started = clock()
            analysis = await analyse_email(email, toolbox, now=now, llm_extractor=llm_extractor)
            latencies.append((clock() - started) * 1000)
            predictions.append(prediction(record["email_id"], analysis))
            if autopost is not None:
                autopost.see(record["email_id"], email, analysis, predictions[-1])
            if teacher is not None and analysis.draft is not None:
                taught += _teach(toolbox, teacher.emails.get(record["email_id"]), analysis)
    finally:
        await erp.aclose()
    return predictions, latencies, taught


def _teach(toolbox: Toolbox, truth: TruthEmail | None, analysis: Analysis) -> int:
    """The rep's corrections for one email: each wrongly identified line is paired, in order,
    with a true SKU nobody predicted, and its source text becomes an alias for the customer."""
    if truth is None or not truth.is_order or not truth.company_id or analysis.draft is None:
        return 0
    predicted = {ln.sku for ln in analysis.draft.lines}
    missing = [sku for sku in truth.lines if not sku.startswith("!") and sku not in predicted]
    wrong = [ln for ln in analysis.draft.lines if ln.sku not in truth.lines and ln.source_text]
    aliases = toolbox.customer_aliases.setdefault(truth.company_id, {})
    for line, sku in zip(wrong, missing, strict=False):
        aliases[normalise_alias(line.source_text)] = (sku, None, "learned from the rep's correction (replay)")
    return min(len(wrong), len(missing))


async def run_eval(
    dataset_dir: Path,
    out: Path,
    *,
    llm_extractor: LlmExtractor | None = None,
    details: bool = False,
    prompt_version: str | None = None,
    learn: bool = False,
    autopost: Policy | None = None,
    results_dir: Path | None = Path("results"),
    clock: Callable[[], float] = time.perf_counter,
) -> EvalReport:
    """Predict every email of the dataset in received order, write JSONL, score, report.

    With learn=True the dataset is replayed twice, without and with the ground truth playing
    the rep's corrections, and line F1 on the later half of the emails is compared."""
    dataset_dir = Path(dataset_dir)
    records = json.loads((dataset_dir / "emails.json").read_text(encoding="utf-8"))
    records.sort(key=lambda r: str(r.get("received_date") or ""))
    truth = load_truth(dataset_dir)
    replay = AutopostReplay(autopost, truth) if autopost is not None else None
    predictions, latencies, _ = await _predict(
        dataset_dir, records, llm_extractor=llm_extractor, clock=clock, autopost=replay
    )
    learning: dict = {}
    if learn:
        learned, _, taught = await _predict(
            dataset_dir, records, llm_extractor=llm_extractor, clock=clock, teacher=truth
        )
        later = [r["email_id"] for r in records[len(records) // 2 :]]
        later_truth = Truth(
            catalog=truth.catalog, emails={e: truth.emails[e] for e in later if e in truth.emails}
        )

        def later_f1(preds: list[dict]) -> float:
            return score(
                later_truth, {p["email_id"]: p for p in preds if p["email_id"] in later_truth.emails}
            )["line_f1"]

        learning = {
            "aliases_taught": taught,
            "later_emails": len(later_truth.emails),
            "later_line_f1_without": later_f1(predictions),
            "later_line_f1_with": later_f1(learned),
            "line_f1_with": score(truth, {p["email_id"]: p for p in learned})["line_f1"],
        }
    lines_out = [json.dumps(p, ensure_ascii=False) for p in predictions]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines_out) + "\n", encoding="utf-8")
    by_id = {p["email_id"]: p for p in predictions}
    metrics = score(truth, by_id)
    per_email = metrics.pop("per_email")
    report = EvalReport(
        dataset=str(dataset_dir),
        predictions=str(out),
        prompt_version=prompt_version,
        method="model" if llm_extractor else "rules",
        metrics=metrics,
        per_email=per_email if details else [],
        latency_ms=_latency(latencies),
        learning=learning,
        tokens=_tokens(predictions),
        phenomena=phenomenon_recall(truth, by_id) if details else {},
        missed=missed_lines(truth, by_id) if details else [],
        autopost=replay.report() if replay is not None else {},
    )
    if results_dir is not None:
        report.report_files = write_report(report, results_dir)
    return report


def _tokens(predictions: list[dict]) -> dict[str, float]:
    counts = [p["prompt_tokens"] for p in predictions if p.get("prompt_tokens")]
    if not counts:
        return {}
    return {"median": statistics.median(counts), "max": max(counts), "total": sum(counts)}


def _latency(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "median": round(statistics.median(ordered), 2),
        "p95": round(p95, 2),
        "max": round(ordered[-1], 2),
    }


def format_report(report: EvalReport) -> str:
    """A plain-text table of the metrics (and per-email rows when present)."""
    rows = [
        f"dataset     {report.dataset}",
        f"predictions {report.predictions}",
        f"method      {report.method}  prompt {report.prompt_version or '-'}",
        f"emails      {report.metrics.get('n_emails', 0)} (orders {report.metrics.get('n_order_emails', 0)})",
        "",
    ]
    for label, key in METRIC_ROWS:
        rows.append(f"{label:<24} {100 * report.metrics.get(key, 0.0):6.1f}%")
    if report.latency_ms:
        rows.append(
            f"{'latency median / p95':<24} {report.latency_ms['median']:.1f} / "
            f"{report.latency_ms['p95']:.1f} ms"
        )
    if report.tokens:
        rows.append(
            f"{'prompt tokens median/max':<24} {report.tokens['median']:.0f} / {report.tokens['max']:.0f}"
            f" (total {report.tokens['total']:.0f})"
        )
    if report.autopost:
        a = report.autopost
        rate = a["automation_rate"]
        rows += [
            "",
            f"autopost replay (min history {a['min_history']}, max total {a['max_total']:.0f})",
            f"{'would auto-post':<24} {a['would_auto_post']} of {a['orders']} orders"
            + (f" ({100 * rate:.1f}%)" if rate is not None else ""),
            f"{'unsafe auto-post':<24} {a['unsafe_auto_post']}",
        ]
        held = ", ".join(f"{name} {n}" for name, n in list(a.get("held_by", {}).items())[:4])
        if held:
            rows.append(f"{'held back by':<24} {held}")
    if report.learning:
        ln = report.learning
        rows += [
            "",
            f"learning replay: {ln['aliases_taught']} aliases taught by the truth as the rep",
            f"{'later-half line F1':<24} {100 * ln['later_line_f1_without']:6.1f}% without, "
            f"{100 * ln['later_line_f1_with']:.1f}% with learning ({ln['later_emails']} emails)",
            f"{'line F1 with learning':<24} {100 * ln['line_f1_with']:6.1f}%",
        ]
    if report.phenomena:
        rows += ["", f"{'phenomenon':<20} {'lines':>5} {'recall':>7} {'SKU':>7} {'top-3':>7}"]
        for name, r in report.phenomena.items():
            rows.append(
                f"{name:<20} {r['lines']:>5} {100 * r['recall']:6.1f}% {100 * r['sku_recall']:6.1f}% "
                f"{100 * r['top3_recall']:6.1f}%"
            )
    if report.missed:
        rows += ["", "missed truth lines (email id start, sku, phenomenon, how)"]
        for m in report.missed:
            rows.append(f"{m['email_id'][:8]}  {m['sku']:<13} {m['phenomenon']:<18} {m['how']}")
    if report.per_email:
        rows += ["", "email_id                              order  cust  tp/pred/truth  perfect  auto  ok"]
        for r in report.per_email:
            rows.append(
                f"{r['email_id']:<37} {str(r['pred_order'])[:5]:<6} "
                f"{str(r['customer_ok'])[:5]:<5} {r['lines_tp']}/{r['lines_pred']}/"
                f"{r['lines_truth']:<9} {str(r['perfect'])[:5]:<8} "
                f"{str(r['automated'])[:5]:<5} {str(r['correct'])[:5]}"
            )
    return "\n".join(rows)


def write_report(report: EvalReport, results_dir: Path, now: datetime | None = None) -> list[str]:
    """results/eval-<timestamp>[-<prompt version>].md and .json."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    name = f"eval-{stamp}" + (f"-{report.prompt_version}" if report.prompt_version else "")
    results_dir.mkdir(parents=True, exist_ok=True)
    md = results_dir / f"{name}.md"
    js = results_dir / f"{name}.json"
    md.write_text(f"# Eval {stamp}\n\n```\n{format_report(report)}\n```\n", encoding="utf-8")
    js.write_text(report.model_dump_json(indent=2), encoding="utf-8")
    return [str(md), str(js)]
