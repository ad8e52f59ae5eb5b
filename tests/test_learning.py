"""Aliases learned from rep corrections: stored, updated, audited, used by the catalog lookup."""

from datetime import datetime

from mailorder.agent.extract.learning import learn_corrections, load_aliases
from mailorder.store import repo
from mailorder.store.aliases import list_aliases, remove_alias
from mailorder.store.db import make_engine, make_session_factory


def test_learn_update_load_remove(tmp_path):
    sessions = make_session_factory(make_engine(f"sqlite:///{tmp_path}/a.db"))
    t1, t2 = datetime(2026, 3, 2, 9), datetime(2026, 3, 5, 9)
    live: dict = {}
    with sessions.begin() as s:
        learn_corrections(
            s, t1, customer_id="COMP-1", rep="rep@x", corrections=[("Groen 126", "A-1", "roll")], aliases=live
        )
    with sessions.begin() as s:
        learn_corrections(s, t2, customer_id="COMP-1", rep="rep2@x", corrections=[("groen  126", "A-2", "m")])
        learn_corrections(s, t2, customer_id=None, rep="rep@x", corrections=[("x", "A-3", None)])
    with sessions() as s:
        [alias] = list_aliases(s)
        assert (alias.sku, alias.unit, alias.uses, alias.taught_by) == ("A-2", "m", 2, "rep2@x")
        loaded = load_aliases(s)
        assert "learned from rep2@x on 2026-03-05" in next(iter(loaded["COMP-1"].values()))[2]
        assert len([e for e in repo.audit_trail(s) if e.action == "alias_learned"]) == 2
    assert next(iter(live["COMP-1"].values()))[0] == "A-1"
    with sessions.begin() as s:
        assert remove_alias(s, alias.id) is not None
    with sessions() as s:
        assert list_aliases(s) == []


def test_cli_list_and_remove(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from mailorder.agent.cli import app

    url = f"sqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("MAILORDER_DATABASE_URL", url)
    sessions = make_session_factory(make_engine(url))
    with sessions.begin() as s:
        [alias] = learn_corrections(
            s,
            datetime(2026, 3, 2),
            customer_id="COMP-9",
            rep="rep@x",
            corrections=[("blauw tape", "B-7", "rol")],
        )
    runner = CliRunner()
    listed = runner.invoke(app, ["aliases", "list", "--customer", "COMP-9"])
    assert listed.exit_code == 0 and "B-7" in listed.output and "rep@x" in listed.output
    assert "B-7" not in runner.invoke(app, ["aliases", "list", "--customer", "COMP-1"]).output
    removed = runner.invoke(app, ["aliases", "remove", str(alias.id)])
    assert removed.exit_code == 0
    assert runner.invoke(app, ["aliases", "remove", str(alias.id)]).exit_code == 1
    with sessions() as s:
        assert list_aliases(s) == []
        assert any(e.action == "alias_removed" for e in repo.audit_trail(s))
