"""Graph state. Input is just the stored email's id; everything else lives in the store."""

from __future__ import annotations

from typing import Any, TypedDict

from mailorder.domain import ReviewDecision


class InputState(TypedDict):
    email_id: int


class State(InputState, total=False):
    triage: str  # TriageLabel value
    extraction: dict[str, Any]  # domain.Extraction as JSON
    draft_id: int
    version: int
    decision: dict[str, Any]  # the rep's decision that resumed the thread: domain.ReviewDecision as JSON
    outcome: str  # last step's outcome, used for routing: "posted", "erp_rejected", ...


def decision_of(state: State) -> ReviewDecision:
    """The typed decision the thread was resumed with (checkpoints keep it as plain JSON)."""
    return ReviewDecision.model_validate(state["decision"])
