"""Graph state. Input is just the stored email's id; everything else lives in the store."""
from __future__ import annotations

from typing import Any, TypedDict


class InputState(TypedDict):
    email_id: int


class State(InputState, total=False):
    triage: str  # TriageLabel value
    extraction: dict[str, Any]  # tools.models.Extraction as JSON
    draft_id: int
    version: int
    decision: dict[str, Any]  # the rep's decision that resumed the thread (see agent.review.Decision)
    outcome: str  # last step's outcome, used for routing: "posted", "erp_rejected", ...
