"""`mailorder db prune --older-than 90d`: checkpoints of finished threads go, open ones stay."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from langgraph.checkpoint.base import empty_checkpoint
from typer.testing import CliRunner

from mailorder.agent.cli import app
from mailorder.agent.cli.db import parse_age
from mailorder.agent.config import Settings
from mailorder.agent.service import open_checkpointer
from mailorder.agent.workflow.graph import thread_config
from mailorder.store.db import make_engine, make_session_factory
from mailorder.store.models import DraftRecord, EmailRecord

NOW = datetime.now()
OLD = NOW - timedelta(days=120)


def _email(email_id: int, status: str, at: datetime) -> EmailRecord:
    return EmailRecord(
        id=email_id, message_id=f"<{email_id}@x>", sender="c@x", subject="s", received_at=at, status=status
    )


def _draft(email_id: int, status: str, at: datetime) -> DraftRecord:
    return DraftRecord(email_id=email_id, status=status, rep="rep@x", created_at=at, updated_at=at)


async def _checkpoints(settings: Settings, email_ids: list[int], per_thread: int = 0) -> dict[int, int]:
    """Write `per_thread` checkpoints for each thread (when > 0); return how many each has."""
    counts = {}
    async with open_checkpointer(settings) as saver:
        for email_id in email_ids:
            config = {"configurable": {**thread_config(email_id)["configurable"], "checkpoint_ns": ""}}
            for _ in range(per_thread):
                config = await saver.aput(config, empty_checkpoint(), {"source": "loop", "step": 0}, {})
            counts[email_id] = len([c async for c in saver.alist(thread_config(email_id))])
    return counts


def test_prune_removes_only_finished_threads_older_than_the_cutoff(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'mo.db'}"
    settings = Settings(database_url=url)
    engine = make_engine(url)
    with make_session_factory(engine).begin() as session:
        session.add_all(
            [
                _email(1, "drafted", OLD),  # confirmed long ago: pruned
                _email(2, "drafted", OLD),  # rejected long ago: pruned
                _email(3, "drafted", OLD),  # still awaiting review: kept however old
                _email(4, "not_order", OLD),  # no order, long ago: pruned
                _email(5, "not_order", NOW),  # no order, recent: kept
                _email(6, "drafted", NOW),  # confirmed recently: kept
            ]
        )
        session.flush()
        session.add_all(
            [
                _draft(1, "confirmed", OLD),
                _draft(2, "rejected", OLD),
                _draft(3, "awaiting_review", OLD),
                _draft(6, "confirmed", NOW),
            ]
        )
    engine.dispose()
    ids = [1, 2, 3, 4, 5, 6]
    assert asyncio.run(_checkpoints(settings, ids, per_thread=3)) == dict.fromkeys(ids, 3)

    monkeypatch.setenv("MAILORDER_DATABASE_URL", url)
    runner = CliRunner()
    dry = runner.invoke(app, ["db", "prune", "--older-than", "90d", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would remove 9 checkpoint(s) of 3 thread(s)" in dry.output
    assert asyncio.run(_checkpoints(settings, ids)) == dict.fromkeys(ids, 3)

    result = runner.invoke(app, ["db", "prune", "--older-than", "90d", "--vacuum"])
    assert result.exit_code == 0, result.output
    assert "removed 9 checkpoint(s) of 3 thread(s)" in result.output and "MB ->" in result.output
    assert asyncio.run(_checkpoints(settings, ids)) == {1: 0, 2: 0, 3: 3, 4: 0, 5: 3, 6: 3}


def test_prune_needs_an_existing_database(tmp_path, monkeypatch):
    monkeypatch.setenv("MAILORDER_DATABASE_URL", f"sqlite:///{tmp_path / 'none.db'}")
    result = CliRunner().invoke(app, ["db", "prune"])
    assert result.exit_code == 2 and "none.db" in result.output
    assert not (tmp_path / "none.db").exists()


def test_ages():
    assert parse_age("90d") == timedelta(days=90)
    assert parse_age("12h") == timedelta(hours=12)
    assert parse_age("2w") == timedelta(weeks=2)
    assert parse_age("30") == timedelta(days=30)
    result = CliRunner().invoke(app, ["db", "prune", "--older-than", "soon"])
    assert result.exit_code == 2 and "cannot read 'soon'" in result.output
