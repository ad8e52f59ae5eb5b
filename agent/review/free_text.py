"""Free-text edits ("make the lime green 4 metres instead") turned into edit operations by the model.

The result is only ever a proposal: the agent applies it as version n+1 and sends that version to
the rep, who must approve it explicitly. A reply whose edits came from the model never approves.
"""

from __future__ import annotations

import json
import logging
import re

from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, ValidationError

from mailorder.agent.extract.model import LlmSettings, make_chat_model, message_text
from mailorder.domain import EditOp

log = logging.getLogger(__name__)

SYSTEM = """You turn a sales rep's free-text change request into edit operations on an order draft.
The draft is given as a block: one line per order line `n | sku | qty | unit | name`.
Answer with JSON only: {"ops": [ ... ]} where each op is one of
  {"op": "qty", "line": n, "qty": number, "unit": "rol|mtr|m2|plaat|stuks|vel|riem|doos|pallet" or null}
  {"op": "unit", "line": n, "unit": "..."}
  {"op": "sku", "line": n, "sku": "NN-NNNN-NNNN"}
  {"op": "remove", "line": n}
  {"op": "add", "sku": "NN-NNNN-NNNN", "qty": number, "unit": "..."}
  {"op": "customer", "value": "COMP-NNN"}
  {"op": "reference", "value": "..."}
  {"op": "delivery", "day": "YYYY-MM-DD"}
  {"op": "note", "value": "..."}
Only what the rep asked for; refer to lines by their number in the block; never invent SKUs
(use one only when the rep wrote it or it is in the block). No prices exist in this schema.
If the text asks for nothing you can express, answer {"ops": []}."""

_JSON = re.compile(r"\{.*\}", re.DOTALL)


class _Proposal(BaseModel):
    ops: list[EditOp]


class EditProposer:
    def __init__(self, settings: LlmSettings) -> None:
        self.model = make_chat_model(settings)
        self.name = settings.model

    async def __call__(self, request: str, block: str) -> list[EditOp]:
        """Edit operations the model reads in the rep's words; [] when it cannot tell."""
        messages = [
            SystemMessage(SYSTEM),
            HumanMessage(f"Draft:\n{block}\n\nThe rep wrote:\n<request>\n{request[:2000]}\n</request>"),
        ]
        try:
            answer = message_text(await self.model.ainvoke(messages))
            found = _JSON.search(answer)
            return _Proposal.model_validate(json.loads(found.group(0) if found else answer)).ops
        except (ValidationError, ValueError) as exc:
            log.warning("model gave no usable edit proposal: %s", exc)
            return []
        except Exception as exc:  # noqa: BLE001 - a model outage must not lose the reply
            log.warning("edit proposal failed: %r", exc)
            return []
