"""`mailorder eval-triage`: backtest the classification /api/classify serves on a dataset folder
(the interchange format of ../shared/eval/README.md): per-label precision, recall and F1, and a
confusion matrix.

Truth per email: its `label` field when the dataset has one (a contact reason, e.g. of a
mailbox's own label set), else `order` / `not_order` from `is_order_email`. When the truth is
only order / not order, the prediction is compared as `is_order` (its label shown beside)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mailorder.agent.console.classification import ClassifyRequest, LabelSets, classify

BINARY = ("order", "not_order")


@dataclass
class LabelScore:
    label: str
    precision: float | None
    recall: float | None
    f1: float | None
    support: int  # true emails with this label
    predicted: int


@dataclass
class Backtest:
    dataset: str
    emails: int
    binary: bool  # the truth is order / not order only
    accuracy: float
    is_order_accuracy: float
    labels: list[str]
    scores: list[LabelScore]
    confusion: dict[str, dict[str, int]]  # truth -> predicted -> count
    misses: list[dict[str, Any]] = field(default_factory=list)
    predicted_labels: dict[str, int] = field(default_factory=dict)  # the API's own labels, counted

    def as_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "emails": self.emails,
            "binary": self.binary,
            "accuracy": self.accuracy,
            "is_order_accuracy": self.is_order_accuracy,
            "labels": self.labels,
            "per_label": [s.__dict__ for s in self.scores],
            "confusion": self.confusion,
            "predicted_labels": self.predicted_labels,
            "misses": self.misses,
        }


def request_of(record: dict[str, Any], mailbox: str | None = None) -> ClassifyRequest:
    """A dataset email as the API receives it (input fields only)."""
    return ClassifyRequest(
        mailbox=str(mailbox or record.get("receiving_email") or ""),
        sender=str(record.get("sender") or ""),
        subject=str(record.get("subject") or ""),
        body=str(record.get("body_text") or ""),
        html=str(record.get("body_html") or ""),
    )


def truth_of(record: dict[str, Any]) -> str:
    label = record.get("label")
    if isinstance(label, str) and label.strip():
        return label.strip()
    return "order" if record.get("is_order_email") else "not_order"


def score(
    truth: list[str], predicted: list[str]
) -> tuple[list[str], list[LabelScore], dict[str, dict[str, int]]]:
    """Per-label precision, recall, F1 and the confusion matrix (pure)."""
    labels = sorted(set(truth) | set(predicted))
    confusion = {t: dict.fromkeys(labels, 0) for t in labels}
    for t, p in zip(truth, predicted, strict=True):
        confusion[t][p] += 1
    scores = []
    for label in labels:
        tp = confusion[label][label]
        support = sum(confusion[label].values())
        made = sum(confusion[t][label] for t in labels)
        precision = tp / made if made else None
        recall = tp / support if support else None
        f1 = (
            2 * precision * recall / (precision + recall)
            if precision is not None and recall is not None and precision + recall > 0
            else (0.0 if precision is not None and recall is not None else None)
        )
        scores.append(LabelScore(label, precision, recall, f1, support, made))
    return labels, scores, confusion


def backtest(dataset: Path, label_sets: LabelSets, mailbox: str | None = None) -> Backtest:
    records = json.loads((dataset / "emails.json").read_text(encoding="utf-8"))
    truth = [truth_of(r) for r in records]
    binary = set(truth) <= set(BINARY)
    predicted, own, misses = [], Counter[str](), []
    order_right = 0
    for record, expected in zip(records, truth, strict=True):
        answer = classify(request_of(record, mailbox), label_sets)
        own[answer.label] += 1
        label = ("order" if answer.is_order else "not_order") if binary else answer.label
        predicted.append(label)
        order_right += answer.is_order == bool(record.get("is_order_email", expected == "order"))
        if label != expected:
            misses.append(
                {
                    "email_id": record.get("email_id"),
                    "subject": str(record.get("subject") or "")[:80],
                    "truth": expected,
                    "predicted": label,
                    "api_label": answer.label,
                    "reasons": answer.reasons,
                }
            )
    labels, scores, confusion = score(truth, predicted)
    right = sum(t == p for t, p in zip(truth, predicted, strict=True))
    return Backtest(
        dataset=str(dataset),
        emails=len(records),
        binary=binary,
        accuracy=right / len(records) if records else 0.0,
        is_order_accuracy=order_right / len(records) if records else 0.0,
        labels=labels,
        scores=scores,
        confusion=confusion,
        misses=misses,
        predicted_labels=dict(own),
    )


def format_backtest(result: Backtest) -> str:
    def pct(value: float | None) -> str:
        return "     –" if value is None else f"{100 * value:5.1f}%"

    width = max([5, *(len(label) for label in result.labels)])
    rows = [
        f"triage backtest on {result.dataset}: {result.emails} emails"
        + (" (truth: order / not order)" if result.binary else ""),
        f"{'accuracy':<18} {pct(result.accuracy)}",
        f"{'is_order accuracy':<18} {pct(result.is_order_accuracy)}",
        "",
        f"{'label':<{width}}  precision  recall      F1  support  predicted",
    ]
    for s in result.scores:
        rows.append(
            f"{s.label:<{width}}     {pct(s.precision)}  {pct(s.recall)}  {pct(s.f1)}"
            f"  {s.support:>7}  {s.predicted:>9}"
        )
    rows += ["", "confusion matrix (rows: truth, columns: predicted)"]
    rows.append(" " * (width + 2) + " ".join(f"{label[:9]:>9}" for label in result.labels))
    for t in result.labels:
        rows.append(f"{t:<{width}}  " + " ".join(f"{result.confusion[t][p]:>9}" for p in result.labels))
    if result.predicted_labels:
        listed = ", ".join(f"{k} {v}" for k, v in sorted(result.predicted_labels.items()))
        rows += ["", f"labels the API gave: {listed}"]
    if result.misses:
        rows += ["", "misses (email id start, truth → predicted, subject)"]
        for m in result.misses:
            rows.append(
                f"{str(m['email_id'])[:8]}  {m['truth']} → {m['predicted']} ({m['api_label']})"
                f"  {m['subject']}"
            )
    return "\n".join(rows)
