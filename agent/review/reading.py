"""What a reply asks for: the decision (mail.decisions), edit commands (mail.commands), edits
made inside the quoted order block (agent.review.wire), and, with a model configured, the model's
reading of free text, which is only ever a proposal (it never approves)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from mailorder.agent.review import wire
from mailorder.agent.workflow.context import Services
from mailorder.agent.workflow.loading import load_draft
from mailorder.domain import Draft, EditOp, ParsedEmail
from mailorder.mail.commands import parse_commands
from mailorder.mail.decisions import read_decision
from mailorder.store import repo

ReadingKind = Literal["approve", "reject", "edit", "status", "hold", "unknown"]


@dataclass
class Reading:
    kind: ReadingKind
    parsed_kind: str  # the decision word as parsed, before edits were considered (audited)
    reason: str | None = None  # a rejection's reason
    ops: list[EditOp] = field(default_factory=list)
    proposed_by: str | None = None  # "model" when the ops are the model's reading of free text
    text: str = ""  # the rep's words that no decision or command covered
    refusal: str | None = None  # why an approval word was not taken as an approval


async def read_reply(
    services: Services, email: ParsedEmail, draft_id: int, answered_version: int | None
) -> Reading:
    decision = read_decision(email)
    reading = Reading(
        kind=decision.kind,
        parsed_kind=decision.kind,
        reason=decision.reason,
        text=decision.text,
        refusal=decision.refusal,
    )
    if decision.kind in ("status", "hold"):
        return reading
    ops, rest = edit_ops(services, email, decision.text, draft_id, answered_version)
    if not ops and rest and decision.kind in ("unknown", "approve") and services.edit_proposer is not None:
        ops = await propose(services, rest, draft_id)
        if ops:  # the model's reading is only a proposal: it becomes v(n+1), never an approval
            reading.kind, reading.proposed_by = "edit", "model"
    if ops and reading.kind == "unknown":
        reading.kind = "edit"
    reading.ops = [] if reading.kind == "reject" else ops
    return reading


def edit_ops(
    services: Services, email: ParsedEmail, new_text: str, draft_id: int, answered_version: int | None
) -> tuple[list[EditOp], str]:
    """Commands in the new text plus changes made to the quoted order block of the answered
    version, and the rest of the new text (free text no command covered)."""
    ops, rest = parse_commands(new_text or "")
    edited = wire.find_block(email.body)
    if (
        edited is not None
        and edited.draft_id == draft_id
        and answered_version
        and edited.version == answered_version
    ):
        with services.sessions() as session:
            row = repo.draft_version(session, draft_id, answered_version)
        if row is not None:
            sent = wire.find_block(
                wire.format_block(draft_id, answered_version, Draft.model_validate(row.payload))
            )
            if sent is not None:
                ops += wire.diff_blocks(sent, edited)
    return ops, "\n".join(rest)


async def propose(services: Services, text: str, draft_id: int) -> list[EditOp]:
    """The model's reading of free-text edits against the current version's block."""
    assert services.edit_proposer is not None
    record, payload = load_draft(services, draft_id)
    return await services.edit_proposer(text, wire.format_block(record.id, record.version, payload))
