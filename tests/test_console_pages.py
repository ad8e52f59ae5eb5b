"""What the console's read-only pages show: eval runs side by side with their misses, stats as
server-rendered SVG (store.stats), prompts and which one is live, and the pure helpers."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from mailorder.agent.console import charts, evalresults, views
from mailorder.domain import Draft, DraftLine
from mailorder.store import repo
from tests.console_helpers import NOW, add_user, app_for, console_settings, seed_draft, signed_in, store


def write_eval_results(folder: Path) -> None:
    """Three runs as `mailorder eval` writes them: rules twice (the newer wins), extract-v2 once."""
    folder.mkdir(parents=True, exist_ok=True)

    def run(stamp: str, version: str | None, f1: float, missed: list[dict]) -> None:
        name = f"eval-{stamp}" + (f"-{version}" if version else "")
        data = {
            "dataset": "data/phenomena",
            "predictions": "x.jsonl",
            "prompt_version": version,
            "method": "model" if version else "rules",
            "metrics": {"n_emails": 57, "n_order_emails": 48, "triage_accuracy": 0.75, "line_f1": f1},
            "latency_ms": {"median": 13.0},
            "missed": missed,
            "per_email": [],
        }
        (folder / f"{name}.json").write_text(json.dumps(data), encoding="utf-8")

    run("20261201T100000Z", None, 0.5, [])
    run(
        "20261202T005041Z",
        None,
        0.798,
        [
            {
                "email_id": "abcdef123",
                "sku": "06-0104-0221",
                "phenomenon": "<b>width</b>",
                "how": "wrong width",
            }
        ],
    )
    run("20261202T010000Z", "extract-v2", 0.85, [])
    (folder / "eval-20261202T020000Z.json").write_text("{broken", encoding="utf-8")


def test_eval_runs_side_by_side(tmp_path):
    write_eval_results(tmp_path)
    runs = evalresults.read_runs(tmp_path)
    assert len(runs) == 3
    [dataset] = evalresults.by_dataset(runs)
    assert [r.column for r in dataset.columns] == ["extract-v2", "rules (no prompt)"]
    assert dataset.value(dataset.columns[1], "line_f1") == "79.8 %"
    assert dataset.value(dataset.columns[1], "sku_recall") == "–"
    assert evalresults.read_runs(tmp_path / "missing") == []


async def test_pages_show_eval_stats_and_prompts(tmp_path):
    write_eval_results(tmp_path / "results")
    settings = console_settings(tmp_path, console_results_dir=tmp_path / "results")
    sessions = store(settings)
    add_user(sessions, "lead@example.com", "rep")
    draft_id = seed_draft(sessions)
    with sessions.begin() as session:
        record = repo.draft_record(session, draft_id)
        repo.audit(session, NOW.replace(tzinfo=None), "agent", "ingested", email_id=record.email_id)
        repo.audit(
            session,
            NOW.replace(tzinfo=None) + timedelta(seconds=4),
            "agent",
            "summary_sent",
            draft_id=draft_id,
        )
        repo.audit(
            session,
            NOW.replace(tzinfo=None) + timedelta(minutes=30),
            "rep@example.com",
            "approved",
            draft_id=draft_id,
        )
        repo.audit(session, NOW.replace(tzinfo=None), "erp", "erp_unavailable", draft_id=draft_id)
        repo.audit(session, NOW.replace(tzinfo=None), "autopost", "autopost_held", draft_id=draft_id)
    app = app_for(settings, sessions)
    async with signed_in(app, "lead@example.com") as http:
        page = (await http.get("/eval")).text
        assert "extract-v2" in page and "79.8 %" in page and "85.0 %" in page
        assert "&lt;b&gt;width&lt;/b&gt;" in page and "wrong width" in page
        stats = (await http.get("/stats?days=7")).text
        assert stats.count("<svg") == 5 and "Emails per class per day" in stats
        assert "100.0 %" in stats  # one draft approved without edits
        assert "ERP erp_unavailable" in stats
        assert "1796.0 s" in stats  # summary → decision
        assert "posted automatically<b>0 <small>(0.0 %)</small>" in stats
        assert "held or edited in the window<b>1</b>" in stats
        prompts = (await http.get("/prompts")).text
        assert "extract-v1" in prompts and "live (newest)" in prompts
        assert (await http.get("/stats?days=999")).status_code == 200  # falls back to 7 days


def test_svg_charts_escape_labels():
    svg = str(charts.stacked_bars(["<d>"], {"<script>": [3]}, title="<t>"))
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "&lt;t&gt;" in svg
    assert "<svg" in str(charts.horizontal_bars({}, title="empty")) and "nothing" in str(
        charts.horizontal_bars({}, title="e")
    )
    assert "no decisions" in str(charts.gauge(None, title="g"))
    assert "50.0 %" in str(charts.gauge(0.5, title="g"))


def test_diff_of_versions_and_refs():
    before = Draft(lines=[DraftLine(sku="A", qty=1, unit="mtr"), DraftLine(sku="B", qty=2, unit="mtr")])
    after = Draft(lines=[DraftLine(sku="A", qty=1, unit="mtr"), DraftLine(sku="C", qty=2, unit="mtr")])
    rows = views.diff(before, after)
    kinds = [(r.kind, r.text.split(" ")[0]) for r in rows if r.kind != "same"]
    assert ("removed", "B") in kinds and ("added", "C") in kinds
    assert all(r.kind == "added" for r in views.diff(None, after))
    assert "customer: unknown" in [r.text for r in views.diff(None, Draft())]
    assert views.draft_ref("MO-12") == 12 and views.draft_ref("mo-3") == 3 and views.draft_ref("x") is None
    assert views.draft_ref("99999999999") is None
    assert views.age(NOW.replace(tzinfo=None), NOW.replace(tzinfo=None) + timedelta(hours=3)) == "3.0 h"
