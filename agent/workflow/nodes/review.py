"""Await the rep's decision. interrupt() re-runs this node from its first line on resume,
so it holds no side effects: it only hands the decision on."""

from __future__ import annotations

from langgraph.types import interrupt

from mailorder.agent.workflow.state import State


def review_node(state: State) -> dict:
    decision = interrupt({"draft_id": state["draft_id"], "version": state["version"]})
    return {"decision": decision}
