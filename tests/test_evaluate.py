import json
import subprocess
import sys
from pathlib import Path

import pytest

from mailorder.agent.evaluation.harness import email_to_mime, format_report, run_eval
from mailorder.agent.evaluation.scoring import load_predictions, load_truth, score
from mailorder.mail.parse import parse_email
from tests.conftest import SHARED_EVAL
from tests.test_extract_rules import write_dataset

DEV = SHARED_EVAL / "dev"
SCORER = SHARED_EVAL / "score.py"
needs_dev = pytest.mark.skipif(not (DEV.exists() and SCORER.exists()), reason="no shared eval data")

EMAILS = [
    {
        "email_id": "e1",
        "subject": "Bestelling",
        "sender": "inkoop@signzuid.nl",
        "recipients": ["orders@leverancier.nl"],
        "cc": [],
        "received_date": "2025-06-02T09:00:00",
        "body_text": "Graag bestellen:\n2x 10-0003-0001\n1 rol 500-021 geel 126\n\nGroet,\nJan",
        "body_html": "<p>Graag bestellen:</p><p>2x 10-0003-0001</p><p>1 rol 500-021 geel 126</p>",
    },
    {
        "email_id": "e2",
        "subject": "Automatisch antwoord: afwezig",
        "sender": "info@reclamewest.nl",
        "recipients": ["orders@leverancier.nl"],
        "cc": [],
        "received_date": "2025-06-02T10:00:00",
        "body_text": "Ik ben afwezig tot maandag.",
        "body_html": "",
    },
    {
        "email_id": "e3",
        "subject": "order",
        "sender": "nieuw@gmail.com",
        "recipients": ["orders@leverancier.nl"],
        "cc": [],
        "received_date": "2025-06-02T11:00:00",
        "body_text": "Graag leveren: 3 platen plaatx wit 10mm",
        "body_html": "",
    },
]
ORDERS = [{"id": 1, "contact_id": 10}, {"id": 2, "contact_id": 999}]
ORDER_LINES = [
    {"order_id": 1, "sku": "10-0003-0001", "qty": 2, "unit": "stuks"},
    {"order_id": 1, "sku": "10-0001-0001", "qty": 50, "unit": "mtr"},
    {"order_id": 2, "sku": "10-0002-0001", "qty": 3, "unit": "plaat"},
]
LINKS = [{"email_id": "e1", "order_id": 1}, {"email_id": "e3", "order_id": 2}]


def test_mime_round_trip_keeps_both_bodies():
    email = parse_email(email_to_mime(EMAILS[0]))
    assert email.sender == "inkoop@signzuid.nl" and email.subject == "Bestelling"
    assert "10-0003-0001" in email.text and "10-0003-0001" in email.html_text
    assert email.date.isoformat().startswith("2025-06-02T09:00")


async def test_run_eval_on_a_synthetic_dataset(tmp_path):
    for e in EMAILS:
        e["is_order_email"] = e["email_id"] != "e2"
    folder = write_dataset(tmp_path / "ds", EMAILS, ORDERS, ORDER_LINES, LINKS)
    out = tmp_path / "pred.jsonl"
    report = await run_eval(folder, out, details=True, prompt_version="t1", results_dir=tmp_path / "results")
    preds = load_predictions(out)
    assert set(preds) == {"e1", "e2", "e3"}
    assert preds["e2"]["is_order"] is False and preds["e3"]["customer"]["company_id"] is None
    m = report.metrics
    assert m["triage_accuracy"] == 1.0 and m["customer_accuracy"] == 1.0
    assert m["perfect_order_rate"] == 1.0 and m["unsafe_automation_rate"] == 0.0
    assert report.latency_ms["median"] > 0 and len(report.per_email) == 3
    assert any(f.endswith("-t1.md") for f in report.report_files)
    assert "line F1" in format_report(report)


@needs_dev
def test_scoring_agrees_with_the_shared_scorer(tmp_path):
    truth = load_truth(DEV)
    perfect = []
    for eid, t in truth.emails.items():
        perfect.append(
            {
                "email_id": eid,
                "is_order": t.is_order,
                "needs_review": not t.known,
                "customer": {"company_id": t.company_id},
                "lines": [{"sku": s, "qty": q, "unit": None} for s, q in t.lines.items()],
            }
        )
    half = [dict(p, lines=p["lines"][:1], needs_review=False) for p in perfect]
    # a wrong SKU with the true one among its first two alternatives; a third alternative never counts
    offered = [
        dict(p, lines=[dict(ln, sku="06-0000-0000", alternatives=["x", ln["sku"], "y"]) for ln in p["lines"]])
        for p in perfect
    ]
    too_far = [
        dict(p, lines=[dict(ln, sku=None, alternatives=["x", "y", ln["sku"]]) for ln in p["lines"]])
        for p in perfect
    ]
    cases = (("perfect", perfect), ("half", half), ("offered", offered), ("too_far", too_far), ("empty", []))
    for name, preds in cases:
        path = tmp_path / f"{name}.jsonl"
        path.write_text("".join(json.dumps(p) + "\n" for p in preds))
        ours = score(truth, load_predictions(path))
        theirs = _shared_scores(path)
        for key in (
            "triage_accuracy",
            "customer_accuracy",
            "line_precision",
            "line_recall",
            "line_f1",
            "sku_recall",
            "top3_sku_recall",
            "perfect_order_rate",
            "safe_automation_rate",
            "unsafe_automation_rate",
            "review_rate",
        ):
            assert ours[key] == pytest.approx(theirs[key]), (name, key)


def _shared_scores(path: Path) -> dict:
    result = subprocess.run(
        [sys.executable, str(SCORER), "--truth", str(DEV), "--pred", str(path), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


@needs_dev
async def test_dev_targets(tmp_path):
    out = tmp_path / "dev.jsonl"
    report = await run_eval(DEV, out, results_dir=None)
    m = report.metrics
    assert m["triage_accuracy"] == 1.0
    assert m["customer_accuracy"] == 1.0
    assert m["unsafe_automation_rate"] == 0.0
    assert m["line_f1"] >= 0.75
    assert m["perfect_order_rate"] >= 0.5
    assert _shared_scores(out)["line_f1"] == pytest.approx(m["line_f1"])


async def test_learning_replay_reports_later_f1_with_and_without(tmp_path):
    from mailorder.agent.evaluation.harness import format_report, run_eval
    from tests.conftest import ROOT

    report = await run_eval(ROOT / "data", tmp_path / "p.jsonl", learn=True, results_dir=None)
    learning = report.learning
    assert set(learning) >= {"aliases_taught", "later_line_f1_without", "later_line_f1_with", "line_f1_with"}
    assert learning["later_emails"] > 0
    assert "later-half line F1" in format_report(report)


async def test_details_give_alternatives_and_recall_per_phenomenon(tmp_path):
    for e in EMAILS:
        e["is_order_email"] = e["email_id"] != "e2"
    lines = [dict(ln, phenomenon="plain" if ln["order_id"] == 1 else "dimensions") for ln in ORDER_LINES]
    folder = write_dataset(tmp_path / "ds", EMAILS, ORDERS, lines, LINKS)
    report = await run_eval(folder, tmp_path / "p.jsonl", details=True, results_dir=None)
    assert set(report.phenomena) == {"plain", "dimensions"}
    assert report.phenomena["plain"]["lines"] == 2 and report.phenomena["dimensions"]["lines"] == 1
    assert all(
        0.0 <= r["recall"] <= r["sku_recall"] <= r["top3_recall"] <= 1.0 for r in report.phenomena.values()
    )
    text = format_report(report)
    assert "top-3 SKU recall" in text and "phenomenon" in text
    for prediction in load_predictions(tmp_path / "p.jsonl").values():
        for line in prediction["lines"]:
            assert isinstance(line["alternatives"], list) and line["sku"] not in line["alternatives"]
