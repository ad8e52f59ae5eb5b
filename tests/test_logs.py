"""agent.logs: email/draft ids from the context on every record, JSON Lines output."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from typing import TypedDict

import pytest
from langgraph.graph import END, START, StateGraph

from mailorder.agent.logs import (
    ContextFilter,
    JsonFormatter,
    bind,
    current,
    install,
    log_context,
    make_handler,
)

log = logging.getLogger("tests.test_logs")


class Lines:
    """A JSON handler on the root logger writing to a buffer; `.records()` parses what it wrote."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()
        self.handler = make_handler(json_lines=True, stream=self.buffer)

    def records(self) -> list[dict]:
        return [json.loads(line) for line in self.buffer.getvalue().splitlines()]


@pytest.fixture
def lines():
    captured = Lines()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(captured.handler)
    root.setLevel(logging.INFO)
    yield captured
    root.removeHandler(captured.handler)
    root.setLevel(old_level)


def test_json_line_has_time_level_logger_message_and_ids(lines):
    with log_context(email_id=12, draft_id=3):
        log.info("drafted %d lines", 4)
    log.warning("outside")
    inside, outside = lines.records()
    assert inside["level"] == "INFO" and inside["logger"] == "tests.test_logs"
    assert inside["message"] == "drafted 4 lines"
    assert (inside["email_id"], inside["draft_id"]) == (12, 3)
    assert inside["time"].endswith("+00:00") and "T" in inside["time"]
    assert (outside["email_id"], outside["draft_id"]) == (None, None)
    assert len(lines.buffer.getvalue().splitlines()) == 2  # one object per line


def test_exceptions_and_extra_fields_are_kept(lines):
    with log_context(email_id=5):
        try:
            raise ValueError("bad mailbox")
        except ValueError:
            log.exception("poll failed", extra={"uid": 77})
    (record,) = lines.records()
    assert record["uid"] == 77 and record["email_id"] == 5
    assert "ValueError: bad mailbox" in record["exc"]


def test_explicit_ids_win_over_the_context(lines):
    with log_context(email_id=1, draft_id=2):
        log.info("other email", extra={"email_id": 9})
    (record,) = lines.records()
    assert (record["email_id"], record["draft_id"]) == (9, 2)


async def test_concurrent_emails_keep_their_own_ids(lines):
    both_started = asyncio.Barrier(2)

    async def work(email_id: int) -> None:
        with log_context(email_id=email_id):
            await both_started.wait()  # both contexts are live at once
            bind(draft_id=email_id * 10)
            log.info("working")

    await asyncio.gather(work(1), work(2))
    assert sorted((r["email_id"], r["draft_id"]) for r in lines.records()) == [(1, 10), (2, 20)]
    assert current().email_id is None


async def test_ids_bound_in_child_tasks_and_threads_reach_the_whole_email(lines):
    with log_context(email_id=7):
        await asyncio.gather(asyncio.to_thread(bind, draft_id=70))
        log.info("after the child task")
        await asyncio.to_thread(log.info, "in a worker thread")
    assert [(r["email_id"], r["draft_id"]) for r in lines.records()] == [(7, 70), (7, 70)]


async def test_langgraph_nodes_share_the_email_context(lines):
    class State(TypedDict, total=False):
        draft_id: int

    async def draft(state: State) -> State:
        bind(draft_id=41)
        return {"draft_id": 41}

    async def notify(state: State) -> State:
        log.info("summary sent")
        return {}

    graph = StateGraph(State)
    graph.add_node("draft", draft)
    graph.add_node("notify", notify)
    graph.add_edge(START, "draft")
    graph.add_edge("draft", "notify")
    graph.add_edge("notify", END)
    with log_context(email_id=4):
        await graph.compile().ainvoke({})
        log.info("thread done")
    assert [(r["email_id"], r["draft_id"]) for r in lines.records()] == [(4, 41), (4, 41)]


def test_bind_outside_a_context_starts_one():
    async def task() -> tuple[int | None, int | None]:
        bind(email_id=3)
        return current().email_id, current().draft_id

    assert asyncio.run(task()) == (3, None)
    assert current().email_id is None  # the task's context copy, not ours


def test_text_format_shows_known_ids():
    record = logging.LogRecord("agent.runner", logging.INFO, __file__, 1, "hello", None, None)
    with log_context(email_id=8, draft_id=2):
        ContextFilter().filter(record)
    handler = make_handler(stream=io.StringIO())
    assert handler.format(record).endswith("INFO agent.runner email=8 draft=2: hello")
    assert json.loads(JsonFormatter().format(record))["draft_id"] == 2


def test_install_replaces_only_its_own_handler():
    root = logging.getLogger()
    old_level = root.level
    foreign = logging.NullHandler()
    root.addHandler(foreign)
    try:
        first = install(json_lines=True, stream=io.StringIO())
        second = install(stream=io.StringIO(), level=logging.DEBUG)
        assert first not in root.handlers and second in root.handlers and foreign in root.handlers
        assert root.level == logging.DEBUG
        assert logging.getLogger("httpx").level == logging.WARNING
    finally:
        for handler in (foreign, second):
            root.removeHandler(handler)
        root.setLevel(old_level)


def test_serve_offers_log_json():
    from typer.testing import CliRunner

    from mailorder.agent.cli import app

    result = CliRunner().invoke(app, ["serve", "--help"])
    assert result.exit_code == 0 and "--log-json" in result.output
