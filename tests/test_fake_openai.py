"""The fake OpenAI server, exercised through the real ChatOpenAI client."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import openai
import pytest
from langchain_core.messages import HumanMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from pydantic import BaseModel

from tests.fake_openai import BROKEN_JSON, Delay, Endless, FakeOpenAI, HttpError, ToolCall, Usage


@pytest.fixture
def fake():
    with FakeOpenAI() as server:
        yield server


def chat(fake: FakeOpenAI, **kwargs) -> ChatOpenAI:
    options = {"timeout": 5.0, "max_retries": 0, "temperature": 0, **kwargs}
    return ChatOpenAI(
        model="gpt-4o-mini", api_key="test-key", base_url=fake.base_url, use_responses_api=False, **options
    )


@tool
def catalog_lookup(query: str, limit: int = 5) -> str:
    """Find catalog products matching a free-text query."""
    return "[]"


async def test_text_reply_with_usage(fake):
    fake.enqueue("hello there")
    reply = await chat(fake).ainvoke("say hello")
    assert reply.content == "hello there"
    assert reply.usage_metadata["input_tokens"] == fake.history[0].prompt_tokens
    assert reply.usage_metadata["output_tokens"] > 0
    assert fake.history[0].messages[-1] == {"role": "user", "content": "say hello"}
    assert fake.history[0].body["model"] == "gpt-4o-mini"


async def test_dict_reply_is_json_content_and_usage_can_be_scripted(fake):
    fake.enqueue(Usage({"a": 1}, prompt_tokens=1234, completion_tokens=56))
    reply = await chat(fake).ainvoke("json please")
    assert reply.content == '{"a": 1}'
    assert reply.usage_metadata["input_tokens"] == 1234
    assert reply.usage_metadata["output_tokens"] == 56


async def test_tool_calls_reach_the_client_and_tools_are_recorded(fake):
    fake.enqueue(
        [
            ToolCall("catalog_lookup", {"query": "wit vinyl"}, id="call_1"),
            ToolCall("catalog_lookup", {"query": "laminaat"}),
        ]
    )
    reply = await chat(fake).bind_tools([catalog_lookup]).ainvoke("order 2 rolls")
    assert [c["name"] for c in reply.tool_calls] == ["catalog_lookup", "catalog_lookup"]
    assert reply.tool_calls[0]["args"] == {"query": "wit vinyl"}
    assert reply.tool_calls[0]["id"] == "call_1"
    assert reply.response_metadata["finish_reason"] == "tool_calls"
    assert fake.history[0].tools[0]["function"]["name"] == "catalog_lookup"
    assert fake.history[0].tool_names == {"catalog_lookup"}


async def test_tool_call_with_raw_arguments_reaches_the_client_unparsed(fake):
    fake.enqueue([ToolCall("catalog_lookup", '{"query": "wit', id="call_x")])
    reply = await chat(fake).bind_tools([catalog_lookup]).ainvoke("order")
    assert reply.tool_calls == []
    (invalid,) = reply.invalid_tool_calls
    assert invalid["args"] == '{"query": "wit' and invalid["id"] == "call_x"


class Answer(BaseModel):
    is_order: bool
    count: int


async def test_json_schema_structured_output(fake):
    fake.enqueue({"is_order": True, "count": 3})
    structured = chat(fake).with_structured_output(Answer, method="json_schema")
    answer = await structured.ainvoke("how many?")
    assert answer == Answer(is_order=True, count=3)
    response_format = fake.history[0].response_format
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["schema"]["properties"].keys() == {"is_order", "count"}


async def test_broken_json_makes_structured_output_raise(fake):
    fake.enqueue(BROKEN_JSON)
    structured = chat(fake).with_structured_output(Answer, method="json_schema")
    with pytest.raises(Exception):  # noqa: B017 - whichever error the client raises, it must not pass
        await structured.ainvoke("how many?")


async def test_429_retry_after_is_honoured_by_the_client(fake):
    fake.enqueue(HttpError(429, "slow down", retry_after=1), "ok")
    started = time.monotonic()
    reply = await chat(fake, max_retries=1).ainvoke("hi")
    assert reply.content == "ok"
    assert len(fake.history) == 2
    assert time.monotonic() - started >= 0.9  # waited the Retry-After second


async def test_429_without_retries_raises_rate_limit(fake):
    fake.enqueue(HttpError(429, "slow down", retry_after=0))
    with pytest.raises(openai.RateLimitError):
        await chat(fake).ainvoke("hi")


async def test_500_is_retried(fake):
    fake.enqueue(HttpError(500, headers={"retry-after-ms": "10"}), "recovered")
    reply = await chat(fake, max_retries=1).ainvoke("hi")
    assert reply.content == "recovered"
    assert len(fake.history) == 2


async def test_slow_reply_times_out(fake):
    fake.enqueue(Delay(5.0))
    with pytest.raises(openai.APITimeoutError):
        await chat(fake, timeout=0.3).ainvoke("hi")


async def test_streaming_with_tool_calls_and_usage(fake):
    fake.enqueue("streamed text", [ToolCall("catalog_lookup", {"query": "x"})])
    model = chat(fake, stream_usage=True)
    chunks = [c async for c in model.astream("hi")]
    text = "".join(c.content for c in chunks)
    assert text == "streamed text"
    assert sum(c.usage_metadata["input_tokens"] for c in chunks if c.usage_metadata) > 0
    assert fake.history[0].body["stream"] is True
    merged = None
    async for chunk in model.bind_tools([catalog_lookup]).astream("hi"):
        merged = chunk if merged is None else merged + chunk
    assert merged.tool_calls[0]["args"] == {"query": "x"}


async def test_responder_builds_replies_when_queue_is_empty(fake):
    fake.responder = lambda body: f"echo {len(body['messages'])}"
    replies = await asyncio.gather(*(chat(fake).ainvoke([HumanMessage(f"m{i}")]) for i in range(5)))
    assert {r.content for r in replies} == {"echo 1"}
    assert len(fake.history) == 5


async def test_empty_queue_without_responder_is_a_client_error(fake):
    with pytest.raises(openai.BadRequestError):
        await chat(fake).ainvoke("hi")


def test_prompt_tokens_grow_with_the_prompt(fake):
    fake.enqueue("a", "b")
    model = chat(fake)
    model.invoke("short")
    model.invoke("long " * 400)
    small, large = (r.prompt_tokens for r in fake.history)
    assert large > small + 400


async def read_until(fake: FakeOpenAI, enough) -> bytes:
    """A reply read with a plain HTTP client until `enough(received)`; then the server stops,
    with the reply still open."""
    received = b""
    async with (
        httpx.AsyncClient(timeout=5) as client,
        client.stream("POST", f"{fake.base_url}/chat/completions", json={"model": "m"}) as response,
    ):
        async for chunk in response.aiter_raw():
            received += chunk
            if enough(received):
                started = time.monotonic()
                fake.stop()
                assert time.monotonic() - started < 1.5  # an endless reply does not hold up the shutdown
                return received
    raise AssertionError("the endless reply ended")


@pytest.mark.parametrize("events", [False, True])
async def test_endless_reply_keeps_sending(fake, events):
    fake.enqueue(Endless(events=events))
    received = await read_until(fake, lambda data: len(data) > 1_000_000)
    if events:
        first = json.loads(received.split(b"\n\n")[0].removeprefix(b"data: "))
        assert first["object"] == "chat.completion.chunk" and first["choices"][0]["delta"]["content"]
    else:
        assert received.startswith(b'{"id": "chatcmpl-fake-') and b'"content": "token token' in received


async def test_endless_trickle_sends_a_piece_per_interval(fake):
    fake.enqueue(Endless(interval=0.02, piece="x"))
    started = time.monotonic()
    received = await read_until(fake, lambda data: data.endswith(b"x" * 10))
    assert received.startswith(b'{"id": "chatcmpl-fake-') and time.monotonic() - started > 0.02 * 9
