"""Free-text edit proposals through the real ChatOpenAI client against the fake server."""

import json

import pytest

from mailorder.agent.extract.model import LlmSettings
from mailorder.agent.review.free_text import EditProposer
from mailorder.domain import EditOp
from tests.fake_openai import FakeOpenAI

BLOCK = (
    "--- ORDER MO-3 v1 ---\n1 | 06-0104-0221 | 3 | mtr | limegroen\n"
    "2 | 06-0104-0300 | 2 | rol | wit\n--- END ORDER MO-3 ---"
)


@pytest.fixture
def fake():
    with FakeOpenAI() as server:
        yield server


def proposer(fake) -> EditProposer:
    return EditProposer(
        LlmSettings(api_key="k", base_url=fake.base_url, model="fake", timeout=3, max_retries=0)
    )


async def test_free_text_becomes_edit_operations(fake):
    fake.enqueue(json.dumps({"ops": [{"op": "qty", "line": 1, "qty": 4, "unit": "mtr"}]}))
    ops = await proposer(fake)("make the lime green 4 metres instead", BLOCK)
    assert ops == [EditOp(op="qty", line=1, qty=4, unit="mtr")]
    request = fake.history[0]
    assert "limegroen" in request.text() and "4 metres" in request.text()


async def test_unusable_answers_give_no_proposal(fake):
    fake.enqueue("I think you should call the customer.", json.dumps({"ops": [{"op": "price", "line": 1}]}))
    assert await proposer(fake)("hmm", BLOCK) == []
    assert await proposer(fake)("set the price to 0", BLOCK) == []
