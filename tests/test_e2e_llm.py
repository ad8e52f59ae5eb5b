"""The model path through the whole loop: real ChatOpenAI client against the fake server on loopback."""

from __future__ import annotations

import json

import pytest

from mailorder.store.models import DraftStatus
from tests.fake_openai import BROKEN_JSON, FakeOpenAI, ToolCall
from tests.loop_harness import Loop, catalog, known_contact, order_email

pytestmark = pytest.mark.e2e


def answer(sku: str, qty: float, unit: str, source: str) -> str:
    return json.dumps(
        {
            "is_order": True,
            "reference": "PO-77",
            "delivery_date": None,
            "lines": [{"sku": sku, "qty": qty, "unit": unit, "source_text": source, "reference": None}],
        }
    )


@pytest.fixture
def fake():
    with FakeOpenAI() as server:
        yield server


async def test_model_drafts_through_the_tools_and_the_rep_sees_which_model(tmp_path, clock, fake):
    sender, _ = known_contact()
    product = next(p for p in catalog() if p.get("active", True) and p["base_unit"] == "mtr")
    source = f"graag 12 meter van {product['name']}"
    fake.enqueue(
        [ToolCall("catalog_lookup", {"query": product["name"], "limit": 3})],
        answer(product["sku"], 12, "mtr", source),
    )
    async with Loop(
        tmp_path,
        clock,
        openai_api_key="test-key",
        openai_base_url=fake.base_url,
        model="fake-model",
        llm_timeout=5,
    ) as loop:
        await loop.send(order_email(sender, "bestelling", f"Hallo,\n\n{source}\n\nGroet, Piet"))
        summary = (await loop.poll_until(loop.rep_mail))[0]
        plain = summary.get_body(("plain",)).get_content()
        assert "fake-model" in plain and "rules, no AI model configured" not in plain
        assert product["sku"] in plain
        assert len(fake.history) == 2  # a tool call round, then the answer
        assert product["sku"] in fake.history[1].messages[-1]["content"]  # catalog results went back
        await loop.reply(summary, "APPROVE")
        await loop.poll_until(lambda: loop.drafts()[0].status == DraftStatus.CONFIRMED)
        order = loop.erp_orders()[0]
        assert [(ln["sku"], ln["quantity"]) for ln in order["products"]] == [(product["sku"], 12)]
        assert order["products"][0]["unit_price"] == pytest.approx(product["unit_price"])  # catalog price


async def test_model_garbage_falls_back_to_rules_and_says_so(tmp_path, clock, fake):
    sender, _ = known_contact()
    product = next(p for p in catalog() if p.get("active", True))
    fake.responder = lambda body: BROKEN_JSON
    async with Loop(
        tmp_path,
        clock,
        openai_api_key="test-key",
        openai_base_url=fake.base_url,
        model="fake-model",
        llm_timeout=5,
    ) as loop:
        await loop.send(order_email(sender, "bestelling", f"Graag:\n3x {product['sku']}\n"))
        summary = (await loop.poll_until(loop.rep_mail))[0]
        plain = summary.get_body(("plain",)).get_content()
        assert "fell back to rules" in plain
        assert product["sku"] in plain
        assert loop.drafts()[0].status == DraftStatus.AWAITING_REVIEW


async def test_free_text_edit_becomes_a_new_version_never_an_approval(tmp_path, clock, fake):
    sender, _ = known_contact()
    product = next(p for p in catalog() if p.get("active", True) and p["base_unit"] == "mtr")
    source = f"graag 12 meter van {product['name']}"

    def responder(body):
        system = body["messages"][0]["content"]
        if "edit operations" in system:
            return json.dumps({"ops": [{"op": "qty", "line": 1, "qty": 4, "unit": "mtr"}]})
        return answer(product["sku"], 12, "mtr", source)

    fake.responder = responder
    async with Loop(
        tmp_path,
        clock,
        openai_api_key="test-key",
        openai_base_url=fake.base_url,
        model="fake-model",
        llm_timeout=5,
    ) as loop:
        await loop.send(order_email(sender, "bestelling", f"Hallo,\n\n{source}\n"))
        summary = (await loop.poll_until(loop.rep_mail))[0]
        await loop.reply(summary, "APPROVE but make it 4 metres instead please")
        v2 = await loop.poll_until(lambda: [m for m in loop.rep_mail() if " v2]" in str(m["Subject"])])
        plain = v2[0].get_body(("plain",)).get_content()
        assert "proposed by the AI model" in plain
        draft = loop.drafts()[0]
        assert draft.version == 2 and draft.status == DraftStatus.AWAITING_REVIEW
        assert loop.erp_orders() == []  # the model's reading approved nothing
        await loop.reply(v2[0], "APPROVE")
        await loop.poll_until(lambda: loop.drafts()[0].status == DraftStatus.CONFIRMED)
        assert [(ln["sku"], ln["quantity"]) for ln in loop.erp_orders()[0]["products"]] == [
            (product["sku"], 4)
        ]
