"""Aliases learned from rep corrections: stored, updated, audited, used by the catalog lookup."""
from datetime import datetime

from agent.learning import learn_corrections, load_aliases
from store import repo
from store.aliases import list_aliases, remove_alias
from store.db import make_engine, make_session_factory


def test_learn_update_load_remove(tmp_path):
    sessions = make_session_factory(make_engine(f"sqlite:///{tmp_path}/a.db"))
    t1, t2 = datetime(2026, 3, 2, 9), datetime(2026, 3, 5, 9)
    live: dict = {}
    with sessions.begin() as s:
        learn_corrections(s, t1, customer_id="COMP-1", rep="rep@x", corrections=[("Groen 126", "A-1", "roll")],
                          aliases=live)
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
