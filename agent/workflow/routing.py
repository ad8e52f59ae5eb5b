"""Where the order workflow goes next: pure functions of the state (agent.workflow.graph wires them)."""

from __future__ import annotations

from typing import Literal

from mailorder.agent.workflow.state import State, decision_of


def after_triage(state: State) -> Literal["extract", "__end__"]:
    return "extract" if state.get("triage") == "order" else "__end__"


def after_review(state: State) -> Literal["post_erp", "reject", "apply_edits"]:
    decision = decision_of(state)
    if decision.kind == "reject":
        return "reject"
    if decision.ops:
        return "apply_edits"
    return "post_erp"


def after_edits(state: State) -> Literal["post_erp", "notify_rep", "review"]:
    outcome = state.get("outcome")
    if outcome == "approved_after_edit":
        return "post_erp"
    if outcome == "no_changes":
        return "review"
    return "notify_rep"  # version n+1 goes to the rep, who decides again


def after_post(state: State) -> Literal["confirm", "review"]:
    return "confirm" if state.get("outcome") == "posted" else "review"
