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
from mailorder.agent.extract.prompts import Prompt, load_prompt
from mailorder.domain import EditOp

log = logging.getLogger(__name__)

_JSON = re.compile(r"\{.*\}", re.DOTALL)


class _Proposal(BaseModel):
    ops: list[EditOp]


class EditProposer:
    def __init__(self, settings: LlmSettings, *, prompt_version: str | None = None) -> None:
        self.model = make_chat_model(settings)
        self.name = settings.model
        self.prompt: Prompt = load_prompt("edit", prompt_version)  # prompts/edit_vN.md

    async def __call__(self, request: str, block: str) -> list[EditOp]:
        """Edit operations the model reads in the rep's words; [] when it cannot tell."""
        messages = [
            SystemMessage(self.prompt.text),
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
