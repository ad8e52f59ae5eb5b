"""Evaluation metrics over a dataset folder (interchange format of the eval README). Pure.

Lines compare per SKU in base units (qty x per_base), merged per email on both sides.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

from mailorder.tools.units import canonical_unit

log = logging.getLogger(__name__)


# the figures `mailorder eval` prints and the console shows, in order (all read as percentages)
METRIC_ROWS = [
    ("triage accuracy", "triage_accuracy"),
    ("triage precision", "triage_precision"),
    ("triage recall", "triage_recall"),
    ("customer accuracy", "customer_accuracy"),
    ("line precision", "line_precision"),
    ("line recall", "line_recall"),
    ("line F1", "line_f1"),
    ("SKU-only recall", "sku_recall"),
    ("top-3 SKU recall", "top3_sku_recall"),
    ("perfect-order rate", "perfect_order_rate"),
    ("safe automation", "safe_automation_rate"),
    ("unsafe automation", "unsafe_automation_rate"),
    ("review rate", "review_rate"),
    ("safe-automation ceiling", "safe_automation_ceiling"),
]


@dataclass
class TruthEmail:
    is_order: bool
    lines: dict[str, float]  # sku -> base qty
    company_id: str | None
    known: bool
    phenomena: dict[str, str] = field(default_factory=dict)  # sku -> the line's `phenomenon` tag


@dataclass
class Truth:
    catalog: dict[str, dict[str, float]]  # sku -> unit -> per_base ("" = base unit)
    emails: dict[str, TruthEmail] = field(default_factory=dict)


def load_truth(dataset_dir: Path) -> Truth:
    def read(name: str) -> list[dict]:
        return json.loads((dataset_dir / name).read_text(encoding="utf-8"))

    catalog: dict[str, dict[str, float]] = {}
    for p in read("products.json"):
        units = {u["unit"]: float(u["per_base"]) for u in p["units"]}
        units[""] = units.get(p["base_unit"], 1.0)
        catalog[p["sku"]] = units
    truth = Truth(catalog=catalog)
    companies = {c["id"]: c["company_id"] for c in read("companies.json")}
    contacts = {c["id"]: companies.get(c["company_id"]) for c in read("contacts.json")}
    orders = {o["id"]: o for o in read("orders.json")}
    lines_by_order: dict[int, list[dict]] = {}
    for line in read("order_lines.json"):
        lines_by_order.setdefault(line["order_id"], []).append(line)
    links: dict[str, list[int]] = {}
    for link in read("order_emails.json"):
        links.setdefault(link["email_id"], []).append(link["order_id"])
    for email in read("emails.json"):
        order_ids = links.get(email["email_id"], [])
        is_order = bool(email.get("is_order_email", bool(order_ids)))
        raw_lines = [ln for oid in order_ids for ln in lines_by_order.get(oid, [])]
        contact_id = next((orders[o]["contact_id"] for o in order_ids if o in orders), None)
        known = contact_id in contacts
        truth.emails[email["email_id"]] = TruthEmail(
            is_order=is_order,
            lines=merge_lines(raw_lines, catalog) or {},
            company_id=contacts.get(contact_id) if known else None,
            known=known,
            phenomena={ln["sku"]: str(ln["phenomenon"]) for ln in raw_lines if ln.get("phenomenon")},
        )
    return truth


def base_qty(catalog: dict[str, dict[str, float]], sku: str | None, qty, unit) -> float | None:
    units = catalog.get(sku or "")
    if units is None or qty is None:
        return None
    key = "" if unit in (None, "") else (canonical_unit(str(unit)) or str(unit).strip().lower())
    per_base = units.get(key)
    if per_base is None:
        return None
    try:
        return float(qty) * per_base
    except (TypeError, ValueError):
        return None


def merge_lines(lines: list[dict], catalog: dict[str, dict[str, float]]) -> dict[str, float]:
    """sku -> summed base quantity; lines that cannot be converted are kept as NaN (never match)."""
    merged: dict[str, float] = {}
    for i, line in enumerate(lines):
        sku = str(line.get("sku") or "")
        value = base_qty(catalog, sku, line.get("qty"), line.get("unit"))
        key = sku if value is not None else f"!invalid{i}:{sku}"
        merged[key] = merged.get(key, 0.0) + (value if value is not None else math.nan)
    return merged


def _equal(a: float, b: float) -> bool:
    return not (math.isnan(a) or math.isnan(b)) and math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)


def load_predictions(path: Path) -> dict[str, dict]:
    preds: dict[str, dict] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        if raw.strip():
            record = json.loads(raw)
            preds[record["email_id"]] = record
    return preds


def _ratio(num: float, den: float) -> float:
    return num / den if den else 0.0


def offered_skus(lines: list[dict], per_line: int = 2) -> set[str]:
    """SKUs a rep is offered: every predicted line's SKU and its first `per_line` alternatives."""
    offered: set[str] = set()
    for line in lines:
        if isinstance(line.get("sku"), str) and line["sku"].strip():
            offered.add(line["sku"].strip())
        alternatives = line.get("alternatives")
        if isinstance(alternatives, list):
            offered |= {a.strip() for a in alternatives[:per_line] if isinstance(a, str) and a.strip()}
    return offered


def phenomenon_recall(truth: Truth, preds: dict[str, dict]) -> dict[str, dict[str, float]]:
    """Per `phenomenon` tag of the truth lines: lines, line recall, SKU-only and top-3 recall."""
    counts: dict[str, list[int]] = {}
    for eid, t in truth.emails.items():
        if not t.is_order or not t.phenomena:
            continue
        p = preds.get(eid) or {}
        lines = (p.get("lines") or []) if p.get("is_order") else []
        merged = merge_lines(lines, truth.catalog) or {}
        predicted = {str(ln.get("sku")).strip() for ln in lines if ln.get("sku")}
        offered = offered_skus(lines)
        for sku, qty in t.lines.items():
            row = counts.setdefault(t.phenomena.get(sku, "-"), [0, 0, 0, 0])
            row[0] += 1
            row[1] += int(sku in merged and _equal(merged[sku], qty))
            row[2] += int(sku in predicted)
            row[3] += int(sku in offered)
    return {
        name: {
            "lines": n,
            "recall": _ratio(ok, n),
            "sku_recall": _ratio(sku, n),
            "top3_recall": _ratio(top, n),
        }
        for name, (n, ok, sku, top) in sorted(counts.items())
    }


def missed_lines(truth: Truth, preds: dict[str, dict]) -> list[dict]:
    """True lines not matched (SKU and base quantity), with their phenomenon, per email."""
    missed = []
    for eid, t in truth.emails.items():
        if not t.is_order:
            continue
        p = preds.get(eid) or {}
        lines = (p.get("lines") or []) if p.get("is_order") else []
        merged = merge_lines(lines, truth.catalog) or {}
        offered = offered_skus(lines)
        for sku, qty in t.lines.items():
            if sku in merged and _equal(merged[sku], qty):
                continue
            how = (
                "wrong quantity"
                if sku in merged
                else "offered as alternative"
                if sku in offered
                else "missed"
            )
            missed.append({"email_id": eid, "sku": sku, "phenomenon": t.phenomena.get(sku, "-"), "how": how})
    return missed


def score(truth: Truth, preds: dict[str, dict]) -> dict:
    """All README metrics; `per_email` holds one row per email."""
    n = len(truth.emails)
    n_orders = sum(1 for t in truth.emails.values() if t.is_order)
    triage_ok = tp = fp = fn = customer_ok = 0
    line_tp = line_pred = line_truth = sku_tp = top3_tp = perfect = safe = unsafe = review = ceiling = 0
    rows = []
    for eid, t in truth.emails.items():
        p = preds.get(eid)
        pred_order = bool(p.get("is_order")) if p else None
        needs_review = bool(p.get("needs_review", True)) if p else True
        triage_ok += int(pred_order == t.is_order)
        tp += int(bool(pred_order) and t.is_order)
        fp += int(bool(pred_order) and not t.is_order)
        fn += int(not pred_order and t.is_order)
        raw_lines = (p.get("lines") or []) if p and pred_order else []
        pred_lines = merge_lines(raw_lines, truth.catalog) if raw_lines else {}
        pred_skus = {str(ln.get("sku")).strip() for ln in raw_lines if ln.get("sku")}
        offered = offered_skus(raw_lines)
        matched = sum(1 for sku, q in pred_lines.items() if sku in t.lines and _equal(q, t.lines[sku]))
        cust_ok = False
        if t.is_order:
            ceiling += int(t.known)
            company = ((p or {}).get("customer") or {}).get("company_id") if p else None
            cust_ok = bool(p) and (company == t.company_id if t.known else company is None and needs_review)
            customer_ok += int(cust_ok)
            line_tp += matched
            line_pred += len(pred_lines)
            line_truth += len(t.lines)
            sku_tp += sum(1 for sku in t.lines if sku in pred_skus)
            top3_tp += sum(1 for sku in t.lines if sku in offered)
        else:
            line_pred += len(pred_lines)
        is_perfect = bool(t.is_order and pred_order and matched == len(t.lines) == len(pred_lines))
        perfect += int(is_perfect)
        correct = (not t.is_order and pred_order is False) or (is_perfect and cust_ok)
        automated = bool(p) and not needs_review
        safe += int(automated and t.is_order and correct)
        unsafe += int(automated and not correct)
        review += int(bool(p) and needs_review)
        rows.append(
            {
                "email_id": eid,
                "truth_order": t.is_order,
                "pred_order": pred_order,
                "customer_ok": cust_ok,
                "lines_tp": matched,
                "lines_pred": len(pred_lines),
                "lines_truth": len(t.lines),
                "perfect": is_perfect,
                "automated": automated,
                "correct": bool(correct),
            }
        )
    lp, lr = _ratio(line_tp, line_pred), _ratio(line_tp, line_truth)
    return {
        "n_emails": n,
        "n_order_emails": n_orders,
        "n_predictions": sum(1 for e in truth.emails if e in preds),
        "triage_accuracy": _ratio(triage_ok, n),
        "triage_precision": _ratio(tp, tp + fp),
        "triage_recall": _ratio(tp, tp + fn),
        "customer_accuracy": _ratio(customer_ok, n_orders),
        "line_precision": lp,
        "line_recall": lr,
        "line_f1": _ratio(2 * lp * lr, lp + lr),
        "line_tp": line_tp,
        "line_pred": line_pred,
        "line_truth": line_truth,
        "sku_recall": _ratio(sku_tp, line_truth),
        "top3_sku_recall": _ratio(top3_tp, line_truth),
        "perfect_order_rate": _ratio(perfect, n_orders),
        "safe_automation_rate": _ratio(safe, n_orders),
        "unsafe_automation_rate": _ratio(unsafe, n),
        "review_rate": _ratio(review, n),
        "safe_automation_ceiling": _ratio(ceiling, n_orders),
        "per_email": rows,
    }
