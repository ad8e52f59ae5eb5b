"""Triage as an API: `mailorder tokens create|list|revoke`, POST /api/classify with the production
triage, per-mailbox label sets, the `eval-triage` backtest, and the console's CLI (users, the
missing-extra message)."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from mailorder.agent.cli import app as cli
from mailorder.agent.console.auth import TokenCache
from mailorder.agent.console.backtest import backtest, format_backtest, score
from mailorder.agent.console.classification import (
    ClassifyRequest,
    LabelSetError,
    LabelSets,
    classify,
    load_label_sets,
)
from mailorder.store import console as console_store
from tests.conftest import ROOT
from tests.console_helpers import app_for, client, console_settings, login, store

ORDER = {
    "mailbox": "orders@example.com",
    "sender": "contact9@example.com",
    "subject": "Bestelling",
    "body": "Goedemorgen,\n\nGraag leveren:\n3x 06-0104-0221\n2 rol 06-0105-0008\n\n"
    "Met vriendelijke groet,\nPerson",
}
NEWSLETTER = {
    "mailbox": "orders@example.com",
    "sender": "news@supplier.example",
    "subject": "Nieuwsbrief maart: 20% korting op alle folies",
    "body": "Bekijk deze e-mail in je browser.\nDeze maand 20% korting op alle folies, zolang de voorraad "
    "strekt! Shop now.\nJe ontvangt deze e-mail omdat je je hebt aangemeld. Uitschrijven? Klik hier.",
}
LABEL_SETS = """
[mailbox."packaging@example.com"]
labels = ["order", "artwork", "sample_request", "complaint", "other"]
default = "other"

[mailbox."packaging@example.com".keywords]
artwork = ["artwork", "drukproef", "print proof"]
sample_request = ["sample", "samples", "monster"]

[[mailbox."packaging@example.com".examples]]
label = "complaint"
text = "De dozen kwamen beschadigd aan, de hoeken waren ingedeukt en nat geworden"
"""


@pytest.fixture
def env(tmp_path, monkeypatch):
    (tmp_path / "labels.toml").write_text(LABEL_SETS, encoding="utf-8")
    settings = console_settings(tmp_path, console_label_sets=tmp_path / "labels.toml")
    sessions = store(settings)
    for key in list(__import__("os").environ):
        if key.startswith("MAILORDER_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("MAILORDER_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("MAILORDER_SECRET", "console-test-secret")
    return settings, sessions, app_for(settings, sessions)


def _cli(*args: str, stdin: str | None = None):
    return CliRunner().invoke(cli, list(args), input=stdin, catch_exceptions=False)


async def test_tokens_create_then_classify_orders_and_newsletters(env):
    _, sessions, app = env
    created = _cli("tokens", "create", "crm-sync")
    assert created.exit_code == 0, created.output
    token = created.output.strip()
    assert re.fullmatch(r"mo_[A-Za-z0-9_-]{43}", token)
    listed = _cli("tokens", "list")
    assert "crm-sync" in listed.output and token not in listed.output and token[:10] in listed.output
    with sessions() as session:  # stored hashed
        [row] = console_store.list_api_tokens(session)
        assert token not in (row.token_hash, row.prefix)
    assert _cli("tokens", "create", "crm-sync").exit_code == 1  # names are unique
    async with client(app) as http:
        assert (await http.post("/api/classify", json=ORDER)).status_code == 401
        wrong = await http.post("/api/classify", json=ORDER, headers={"Authorization": "Bearer mo_wrong"})
        assert wrong.status_code == 401 and wrong.headers["www-authenticate"].startswith("Bearer")
        auth = {"Authorization": f"Bearer {token}"}
        order = await http.post("/api/classify", json=ORDER, headers=auth)
        assert order.status_code == 200, order.text
        body = order.json()
        assert body["is_order"] is True and body["label"] == "order"
        assert 0 < body["confidence"] <= 1 and body["reasons"]
        news = (await http.post("/api/classify", json=NEWSLETTER, headers=auth)).json()
        assert news["is_order"] is False and news["label"] == "marketing"
        bad = await http.post("/api/classify", content=b"{not json", headers=auth)
        assert bad.status_code == 422
        big = await http.post("/api/classify", json={**ORDER, "body": "x" * 1_000_001}, headers=auth)
        assert big.status_code == 422
        huge = await http.post("/api/classify", content=b"x" * 9_000_000, headers=auth)
        assert huge.status_code == 413
        assert _cli("tokens", "revoke", "crm-sync").exit_code == 0
        # a console process trusts a token it verified for up to 5 s; after that it asks the store
        app.state.console.token_cache = TokenCache(ttl=0)
        assert (await http.post("/api/classify", json=ORDER, headers=auth)).status_code == 401
        assert _cli("tokens", "revoke", "crm-sync").exit_code == 1


async def test_a_mailbox_with_its_own_label_set(env):
    _, _, app = env
    token = _cli("tokens", "create", "packaging").output.strip()
    auth = {"Authorization": f"Bearer {token}"}
    desk = "Packaging@Example.com"
    async with client(app) as http:

        async def ask(subject: str, body: str, mailbox: str = desk) -> dict:
            response = await http.post(
                "/api/classify",
                json={"mailbox": mailbox, "sender": "buyer@shop.example", "subject": subject, "body": body},
                headers=auth,
            )
            assert response.status_code == 200
            return response.json()

        artwork = await ask("Drukproef doos 40x30", "Hierbij de drukproef, graag akkoord.")
        assert artwork["label"] == "artwork" and artwork["is_order"] is False
        assert "drukproef" in artwork["reasons"][0].lower()
        sample = await ask("Vraagje", "Kunnen jullie ons 3 samples van de kraft dozen sturen?")
        assert sample["label"] == "sample_request"
        complaint = await ask("Levering", "De dozen kwamen beschadigd aan, de hoeken waren ingedeukt")
        assert complaint["label"] == "complaint" and "example" in complaint["reasons"][0]
        order = await ask(ORDER["subject"], ORDER["body"])
        assert order == {**order, "label": "order", "is_order": True}
        other = await ask("Hallo", "Wanneer zijn jullie open met kerst?")
        assert other["label"] == "other" and other["is_order"] is False
        # another mailbox keeps the triage labels
        assert (await ask("Drukproef doos", "Hierbij de drukproef.", "orders@example.com"))[
            "label"
        ] != "artwork"


def test_label_set_files_are_checked(tmp_path):
    assert load_label_sets(None) == LabelSets()
    bad = tmp_path / "bad.toml"
    for text, problem in [
        ("[mailbox.x]\nlabels = []", "`labels` is empty"),
        ('[mailbox.x]\nlabels = ["a"]\ndefault = "b"', "'b' is not one of its labels"),
        ('[mailbox.x]\nlabels = ["a"]\n[mailbox.x.keywords]\nz = ["q"]', "not one of its labels"),
        ('[mailboxes.x]\nlabels = ["a"]', "unknown table"),
        ("not toml [", "not valid TOML"),
    ]:
        bad.write_text(text, encoding="utf-8")
        with pytest.raises(LabelSetError, match=re.escape(problem)):
            load_label_sets(bad)
    with pytest.raises(LabelSetError, match=r"labels\.toml"):
        load_label_sets(tmp_path / "labels.toml")


def test_classification_is_the_production_triage():
    from mailorder.agent.console.classification import parsed_email
    from mailorder.agent.workflow.pipeline import triage_email

    for payload in (ORDER, NEWSLETTER):
        request = ClassifyRequest(**payload)
        answer = classify(request, LabelSets())
        triage, _ = triage_email(parsed_email(request))
        assert answer.label == str(triage.label) and answer.confidence == round(triage.confidence, 3)


def test_scores_per_label_and_confusion():
    labels, scores, confusion = score(
        ["order", "order", "order", "not_order", "not_order"],
        ["order", "order", "not_order", "order", "not_order"],
    )
    assert labels == ["not_order", "order"]
    by = {s.label: s for s in scores}
    assert by["order"].precision == pytest.approx(2 / 3) and by["order"].recall == pytest.approx(2 / 3)
    assert by["not_order"].f1 == pytest.approx(0.5)
    assert confusion == {"order": {"order": 2, "not_order": 1}, "not_order": {"order": 1, "not_order": 1}}


def test_eval_triage_backtests_a_dataset(tmp_path, monkeypatch):
    for key in list(__import__("os").environ):
        if key.startswith("MAILORDER_"):
            monkeypatch.delenv(key)
    result = backtest(ROOT / "data", LabelSets())
    assert result.binary and result.emails == 28 and result.accuracy >= 0.9
    assert set(result.labels) == {"order", "not_order"}
    text = format_backtest(result)
    assert "confusion matrix" in text and "precision" in text
    # labelled truth: contact reasons compared label by label
    records = json.loads((ROOT / "data" / "emails.json").read_text(encoding="utf-8"))[:6]
    for record in records:
        record["label"] = "order" if record["is_order_email"] else "marketing"
    (tmp_path / "emails.json").write_text(json.dumps(records), encoding="utf-8")
    labelled = backtest(tmp_path, LabelSets())
    assert not labelled.binary and "marketing" in labelled.labels
    out = _cli("eval-triage", "--dataset", str(ROOT / "data"), "--json")
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["emails"] == 28


async def test_users_cli_and_login(env):
    _, _, app = env
    added = _cli(
        "users", "add", "Lead@Example.com", "--role", "rep", "--password-stdin", stdin="a long password\n"
    )
    assert added.exit_code == 0, added.output
    assert (
        _cli(
            "users", "add", "x@example.com", "--role", "boss", "--password-stdin", stdin="a long password\n"
        ).exit_code
        == 2
    )
    assert (
        _cli("users", "add", "y@example.com", "--role", "rep", "--password-stdin", stdin="short\n").exit_code
        == 2
    )
    assert (
        _cli(
            "users", "add", "lead@example.com", "--role", "rep", "--password-stdin", stdin="a long password\n"
        ).exit_code
        == 1
    )
    listed = _cli("users", "list").output
    assert "lead@example.com" in listed and "rep" in listed and "argon2" not in listed
    async with client(app) as http:
        assert (await login(http, "lead@example.com", "a long password")).status_code == 303
        assert (await http.get("/drafts")).status_code == 200
        assert (
            _cli(
                "users", "passwd", "lead@example.com", "--password-stdin", stdin="another password\n"
            ).exit_code
            == 0
        )
        assert (await http.get("/drafts")).status_code == 303  # a new password ends the sign-ins
        assert (await login(http, "lead@example.com", "another password")).status_code == 303
        assert _cli("users", "remove", "lead@example.com").exit_code == 0
        assert (await http.get("/drafts")).status_code == 303
    assert _cli("users", "remove", "lead@example.com").exit_code == 1


def test_console_without_the_extra_names_it(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "nh3" else real(name, *a)
    )
    result = CliRunner().invoke(cli, ["console"])
    assert result.exit_code == 2
    assert "console extra (nh3 missing): pip install 'mailorder[console]'" in result.output


def test_verified_tokens_are_trusted_for_a_few_seconds_only(monkeypatch):
    import time

    cache = TokenCache(ttl=5)
    cache.remember("hash")
    assert cache.known("hash") and not cache.known("other")
    later = time.monotonic() + 6
    monkeypatch.setattr(time, "monotonic", lambda: later)
    assert not cache.known("hash")


def test_mailorder_console_serves_on_its_port(tmp_path):
    """The command itself: settings from the environment, the schema made, pages and API answer."""
    import os
    import subprocess
    import sys
    import time

    import httpx

    from tests.conftest import free_port

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILORDER_")}
    env |= {
        "MAILORDER_DATA_DIR": str(tmp_path),
        "MAILORDER_SECRET": "smoke-secret",
        "MAILORDER_CONSOLE_PORT": str(port),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "mailorder", "console"], env=env, cwd=tmp_path, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
                assert time.monotonic() < deadline, "the console did not start"
                time.sleep(0.2)
        assert health.json() == {"status": "ok"}
        queue = httpx.get(f"http://127.0.0.1:{port}/drafts")
        assert queue.status_code == 303 and queue.headers["location"].startswith("/login")
        assert httpx.post(f"http://127.0.0.1:{port}/api/classify", json={}).status_code == 401
        assert (tmp_path / "mailorder.db").is_file()
    finally:
        process.terminate()
        process.wait(timeout=15)
