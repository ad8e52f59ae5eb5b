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
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import httpx
from pydantic import BaseModel, Field

from agent.pipeline import Analysis, LlmExtractor, analyse_email
from agent.scoring import load_truth, score
from mail.parse import parse_email
from mock_erp.app import create_app
from tools.erp_client import ErpClient
from tools.models import TriageLabel
from tools.toolbox import Toolbox

log = logging.getLogger(__name__)

# non-orders recognised from headers are safe to leave alone; everything else gets a human look
_SELF_EVIDENT = {TriageLabel.AUTO_REPLY, TriageLabel.MARKETING}
METRIC_ROWS = [
    ("triage accuracy", "triage_accuracy"), ("triage precision", "triage_precision"),
    ("triage recall", "triage_recall"), ("customer accuracy", "customer_accuracy"),
    ("line precision", "line_precision"), ("line recall", "line_recall"),
    ("line F1", "line_f1"), ("SKU-only recall", "sku_recall"),
    ("perfect-order rate", "perfect_order_rate"), ("safe automation", "safe_automation_rate"),
    ("unsafe automation", "unsafe_automation_rate"), ("review rate", "review_rate"),
    ("safe-automation ceiling", "safe_automation_ceiling"),
]


class EvalReport(BaseModel):
    dataset: str
    predictions: str
    prompt_version: str | None = None
    method: str = "rules"
    metrics: dict = Field(default_factory=dict)  # score() output without per_email
    per_email: list[dict] = Field(default_factory=list)
    latency_ms: dict[str, float] = Field(default_factory=dict)  # median, p95, max
    report_files: list[str] = Field(default_factory=list)


def email_to_mime(record: dict) -> bytes:
    """The input fields of a dataset email record as a multipart/alternative message."""
    msg = EmailMessage()
    msg["Message-ID"] = f"<{record['email_id']}@eval.mailorder>"
    msg["From"] = record.get("sender") or ""
    for header, key in (("To", "recipients"), ("Cc", "cc")):
        value = record.get(key)
        if value:
            msg[header] = ", ".join(value) if isinstance(value, list) else str(value)
    msg["Subject"] = record.get("subject") or ""
    received = received_at(record)
    if received:
        msg["Date"] = format_datetime(received)
    msg.set_content(record.get("body_text") or "")
    if record.get("body_html"):
        msg.add_alternative(record["body_html"], subtype="html")
    return bytes(msg)


def received_at(record: dict) -> datetime | None:
    value = record.get("received_date")
    if not value:
        return None
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def prediction(email_id: str, analysis: Analysis) -> dict:
    """One JSONL record in the README's prediction format."""
    is_order = analysis.triage.label == TriageLabel.ORDER
    # only a known contact is an identified customer; a domain match is a suggestion for the rep
    customer = analysis.customer.customer if analysis.customer.method == "contact" else None
    record = {"email_id": email_id, "is_order": is_order,
              "customer": {"company_id": customer.company_id if customer else None,
                           "contact_email": customer.contact_email if customer else None},
              "lines": [], "reference": None, "delivery_date": None,
              "confidence": analysis.triage.confidence,
              "needs_review": analysis.triage.label not in _SELF_EVIDENT}
    draft = analysis.draft
    if is_order and draft is not None:
        record.update(
            lines=[{"sku": l.sku, "qty": l.qty, "unit": l.unit, "reference": l.reference}
                   for l in draft.lines],
            reference=draft.reference,
            delivery_date=draft.delivery_date.isoformat() if draft.delivery_date else None,
            confidence=draft.confidence, needs_review=draft.needs_review)
    return record


async def run_eval(dataset_dir: Path, out: Path, *, llm_extractor: LlmExtractor | None = None,
                   details: bool = False, prompt_version: str | None = None,
                   results_dir: Path | None = Path("results"),
                   clock: Callable[[], float] = time.perf_counter) -> EvalReport:
    """Predict every email of the dataset in received order, write JSONL, score, report."""
    dataset_dir = Path(dataset_dir)
    records = json.loads((dataset_dir / "emails.json").read_text(encoding="utf-8"))
    records.sort(key=lambda r: str(r.get("received_date") or ""))
    erp = ErpClient("http://erp", transport=httpx.ASGITransport(app=create_app(dataset_dir)))
    latencies: list[float] = []
    lines_out: list[str] = []
    try:
        toolbox = await Toolbox.create(erp)
        for record in records:
            email = parse_email(email_to_mime(record))
            now = received_at(record) or datetime.now(timezone.utc)
            started = clock()
            analysis = await analyse_email(email, toolbox, now=now, llm_extractor=llm_extractor)
            latencies.append((clock() - started) * 1000)
            lines_out.append(json.dumps(prediction(record["email_id"], analysis), ensure_ascii=False))
    finally:
        await erp.aclose()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines_out) + "\n", encoding="utf-8")
    metrics = score(load_truth(dataset_dir), {json.loads(l)["email_id"]: json.loads(l) for l in lines_out})
    per_email = metrics.pop("per_email")
    report = EvalReport(dataset=str(dataset_dir), predictions=str(out), prompt_version=prompt_version,
                        method="model" if llm_extractor else "rules", metrics=metrics,
                        per_email=per_email if details else [], latency_ms=_latency(latencies))
    if results_dir is not None:
        report.report_files = write_report(report, results_dir)
    return report


def _latency(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return {"median": round(statistics.median(ordered), 2), "p95": round(p95, 2),
            "max": round(ordered[-1], 2)}


def format_report(report: EvalReport) -> str:
    """A plain-text table of the metrics (and per-email rows when present)."""
    rows = [f"dataset     {report.dataset}", f"predictions {report.predictions}",
            f"method      {report.method}  prompt {report.prompt_version or '-'}",
            f"emails      {report.metrics.get('n_emails', 0)} "
            f"(orders {report.metrics.get('n_order_emails', 0)})", ""]
    for label, key in METRIC_ROWS:
        rows.append(f"{label:<24} {100 * report.metrics.get(key, 0.0):6.1f}%")
    if report.latency_ms:
        rows.append(f"{'latency median / p95':<24} {report.latency_ms['median']:.1f} / "
                    f"{report.latency_ms['p95']:.1f} ms")
    if report.per_email:
        rows += ["", "email_id                              order  cust  tp/pred/truth  perfect  auto  ok"]
        for r in report.per_email:
            rows.append(f"{r['email_id']:<37} {str(r['pred_order'])[:5]:<6} "
                        f"{str(r['customer_ok'])[:5]:<5} {r['lines_tp']}/{r['lines_pred']}/"
                        f"{r['lines_truth']:<9} {str(r['perfect'])[:5]:<8} "
                        f"{str(r['automated'])[:5]:<5} {str(r['correct'])[:5]}")
    return "\n".join(rows)


def write_report(report: EvalReport, results_dir: Path, now: datetime | None = None) -> list[str]:
    """results/eval-<timestamp>[-<prompt version>].md and .json."""
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    name = f"eval-{stamp}" + (f"-{report.prompt_version}" if report.prompt_version else "")
    results_dir.mkdir(parents=True, exist_ok=True)
    md = results_dir / f"{name}.md"
    js = results_dir / f"{name}.json"
    md.write_text(f"# Eval {stamp}\n\n```\n{format_report(report)}\n```\n", encoding="utf-8")
    js.write_text(report.model_dump_json(indent=2), encoding="utf-8")
    return [str(md), str(js)]
