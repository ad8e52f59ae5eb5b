"""Prompts under control: every prompt is a file in prompts/ (or an admin's folder), the live
version is pinned or the newest, `mailorder prompts list|show`, and `mailorder eval --compare`
prints two versions' metrics side by side."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mailorder.agent.cli import app
from mailorder.agent.cli.prompts import format_comparison
from mailorder.agent.config import Settings
from mailorder.agent.evaluation.harness import EvalReport
from mailorder.agent.extract.model import LlmSettings
from mailorder.agent.extract.prompts import PromptNotFound, list_prompts, load_prompt, use_prompts_dir
from mailorder.agent.review.free_text import EditProposer
from mailorder.agent.service import live_prompts
from tests.conftest import ROOT
from tests.fake_openai import FakeOpenAI

PROMPTS = ROOT / "prompts"


@pytest.fixture(autouse=True)
def bundled_prompts():
    use_prompts_dir(None)
    yield
    use_prompts_dir(None)


@pytest.fixture
def admin_prompts(tmp_path) -> Path:
    folder = tmp_path / "my-prompts"
    shutil.copytree(PROMPTS, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    v1 = (folder / "extract_v1.md").read_text()
    (folder / "extract_v2.md").write_text(  # the admin's own v2 replaces the bundled one
        v1.replace("version: extract-v1", "version: extract-v2") + "\nV2MARK\n"
    )
    return folder


def test_every_prompt_is_a_file_and_the_free_text_prompt_too():
    names = {(p.name, p.prompt.version) for p in list_prompts()}
    assert {("extract", "extract-v1"), ("edit", "edit-v1")} <= names
    proposer = EditProposer(LlmSettings(api_key="k", base_url="http://127.0.0.1:9/v1"))
    assert proposer.prompt == load_prompt("edit")
    assert '{"ops": [ ... ]}' in proposer.prompt.text
    source = (ROOT / "agent" / "review" / "free_text.py").read_text()
    assert "You turn a sales rep" not in source  # the text lives only in prompts/edit_v1.md


def test_live_versions_are_the_newest_or_the_pinned_one(admin_prompts):
    assert {k: p.version for k, p in live_prompts(Settings()).items()} == {
        "extract": "extract-v2",
        "edit": "edit-v1",
    }
    admin = Settings(prompts_dir=admin_prompts)
    assert live_prompts(admin)["extract"].version == "extract-v2"
    assert "V2MARK" in live_prompts(admin)["extract"].text
    pinned = Settings(prompts_dir=admin_prompts, prompt_version="extract-v1")
    assert live_prompts(pinned)["extract"].version == "extract-v1"
    with pytest.raises(PromptNotFound, match=r"extract-v9.*have extract-v1, extract-v2"):
        live_prompts(Settings(prompts_dir=admin_prompts, prompt_version="extract-v9"))


def test_prompts_list_and_show(admin_prompts, monkeypatch):
    runner = CliRunner()
    listed = runner.invoke(app, ["prompts", "list"], terminal_width=200)
    assert listed.exit_code == 0, listed.output
    assert "extract-v1" in listed.output and "edit-v1" in listed.output and "newest" in listed.output
    shown = runner.invoke(app, ["prompts", "show", "edit-v1"])
    assert shown.exit_code == 0 and shown.output.startswith("# edit-v1") and '{"op": "remove"' in shown.output
    monkeypatch.setenv("MAILORDER_PROMPTS_DIR", str(admin_prompts))
    monkeypatch.setenv("MAILORDER_PROMPT_VERSION", "extract-v1")
    listed = runner.invoke(app, ["prompts", "list"], terminal_width=200)
    assert listed.exit_code == 0 and "extract-v2" in listed.output and "pinned" in listed.output
    assert "V2MARK" in runner.invoke(app, ["prompts", "show", "v2"]).output
    missing = runner.invoke(app, ["prompts", "show", "extract-v7"])
    assert missing.exit_code == 2 and "extract-v7" in missing.output


def test_serve_refuses_a_pinned_version_that_does_not_exist(monkeypatch, tmp_path):
    monkeypatch.setenv("MAILORDER_PROMPT_VERSION", "extract-v42")
    monkeypatch.setenv("MAILORDER_DATABASE_URL", f"sqlite:///{tmp_path / 'mo.db'}")
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 2 and "extract-v42" in result.output
    assert not (tmp_path / "mo.db").exists()  # refused before anything was opened


def test_comparison_shows_both_versions_side_by_side():
    a = EvalReport(dataset="d", predictions="a.jsonl", prompt_version="extract-v1", metrics={"line_f1": 0.5})
    b = EvalReport(dataset="d", predictions="b.jsonl", prompt_version="extract-v2", metrics={"line_f1": 0.75})
    text = format_comparison(a, b)
    assert "extract-v1" in text and "extract-v2" in text
    row = next(line for line in text.splitlines() if line.startswith("line F1"))
    assert row.split()[2:] == ["50.0%", "75.0%", "+25.0"]


def test_eval_compares_two_prompt_versions_in_one_run(admin_prompts, monkeypatch, tmp_path):
    def responder(request: dict) -> str:
        system = request["messages"][0]["content"]
        if "V2MARK" in system:  # version 2 "forgets" every order
            return json.dumps({"is_order": False, "lines": [], "reference": None, "delivery_date": None})
        return json.dumps(
            {
                "is_order": True,
                "lines": [
                    {"sku": "00-0000-0000", "qty": 1, "unit": None, "source_text": "x", "reference": None}
                ],
                "reference": None,
                "delivery_date": None,
            }
        )

    monkeypatch.chdir(tmp_path)  # results/ is written here
    with FakeOpenAI(responder=responder) as fake:
        monkeypatch.setenv("OPENAI_API_KEY", "k")
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        monkeypatch.setenv("MAILORDER_MODEL", "fake-model")
        monkeypatch.setenv("MAILORDER_PROMPTS_DIR", str(admin_prompts))
        result = CliRunner().invoke(
            app,
            [
                "eval",
                "--dataset",
                str(ROOT / "data"),
                "--out",
                str(tmp_path / "pred.jsonl"),
                "--prompt-version",
                "extract-v1",
                "--compare",
                "extract-v2",
            ],
            terminal_width=200,
        )
    assert result.exit_code == 0, result.output
    header = next(line for line in result.output.splitlines() if line.startswith("metric"))
    assert header.split()[1:3] == ["extract-v1", "extract-v2"]

    def predicted_lines(version: str) -> int:
        records = (tmp_path / f"pred-{version}.jsonl").read_text().splitlines()
        return sum(len(json.loads(r)["lines"]) for r in records)

    assert predicted_lines("extract-v1") > predicted_lines("extract-v2") == 0  # each run had its prompt
    systems = {r.body["messages"][0]["content"][-7:] for r in fake.history}
    assert "V2MARK" in "".join(systems)
