"""A scripted, OpenAI-compatible chat-completions server on loopback, for tests.

Runs FastAPI under uvicorn in a background thread on a free port. Tests `enqueue()` replies
(text/JSON content, tool calls, HTTP errors, slow replies, bodies that never end) or set a
`responder`; every request body lands in `.history` with an approximate prompt-token count
(chars / 4).

    with FakeOpenAI() as fake:
        fake.enqueue([ToolCall("catalog_lookup", {"query": "vinyl"})])
        fake.enqueue({"is_order": True, "lines": []})
        model = ChatOpenAI(base_url=fake.base_url, api_key="test", ...)
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import socket
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Union

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

CREATED = 1_700_000_000  # fixed timestamp keeps responses deterministic
BROKEN_JSON = '{"is_order": true, "lines": [{"sku": "06-0403'  # truncated JSON content


@dataclass
class ToolCall:
    """One tool call the fake model makes; `id` is generated when omitted. A str `args` is sent
    verbatim (e.g. broken JSON)."""

    name: str
    args: dict[str, Any] | str = field(default_factory=dict)
    id: str | None = None


@dataclass
class HttpError:
    """An HTTP error reply; `retry_after` sets the Retry-After header (seconds)."""

    status: int = 500
    message: str = "fake server error"
    retry_after: float | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Delay:
    """Wait `seconds` before answering with `then` (to trigger client timeouts)."""

    seconds: float
    then: ReplySpec = "late reply"


@dataclass
class Usage:
    """Explicit token counts for a reply (default: computed from the request and reply)."""

    reply: ReplySpec
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


@dataclass
class Endless:
    """A 200 reply whose body never ends: `piece` every `interval` seconds (0: as fast as the client
    reads), inside one unfinished JSON completion, or as chunk events when `events` (a server
    streaming tokens whatever was asked). Ends when the client leaves or the server stops."""

    interval: float = 0.0
    events: bool = False
    piece: str = "token " * 200


# str = text content, dict/list[dict] = JSON content, list[ToolCall] = tool calls
ReplySpec = Union[str, dict, ToolCall, list, HttpError, Delay, Usage, Endless]


@dataclass
class Recorded:
    """One request the fake received."""

    body: dict[str, Any]
    prompt_tokens: int
    reply: ReplySpec | None = None

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.body.get("messages", [])

    @property
    def tools(self) -> list[dict[str, Any]]:
        return self.body.get("tools") or []

    @property
    def tool_names(self) -> set[str]:
        return {t["function"]["name"] for t in self.tools}

    @property
    def response_format(self) -> dict[str, Any] | None:
        return self.body.get("response_format")

    def text(self) -> str:
        """All message contents joined: handy for `in` assertions."""
        return "\n".join(_content_text(m.get("content")) for m in self.messages)


def _content_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts
        return "\n".join(str(p.get("text", "")) if isinstance(p, dict) else str(p) for p in content)
    return json.dumps(content)


def approx_tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


def count_prompt_tokens(body: dict[str, Any]) -> int:
    """Approximate prompt tokens: chars/4 of every message, tool schema and response format."""
    total = 0
    for message in body.get("messages", []):
        total += 4 + approx_tokens(_content_text(message.get("content")))
        if message.get("tool_calls"):
            total += approx_tokens(json.dumps(message["tool_calls"]))
    for extra in ("tools", "response_format"):
        if body.get(extra):
            total += approx_tokens(json.dumps(body[extra]))
    return total


class FakeOpenAI:
    """The server; use as a context manager or call start()/stop()."""

    def __init__(
        self, responder: Callable[[dict[str, Any]], ReplySpec] | None = None, model_name: str = "fake-model"
    ) -> None:
        self.responder = responder  # used when the queue is empty
        self.model_name = model_name
        self.history: list[Recorded] = []
        self._queue: deque[ReplySpec] = deque()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing: asyncio.Event | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # --- scripting -------------------------------------------------------------------------
    def enqueue(self, *replies: ReplySpec) -> None:
        with self._lock:
            self._queue.extend(replies)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> FakeOpenAI:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))  # the OS picks a free port; we keep the bound socket
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self._app(), log_level="warning", lifespan="off", timeout_graceful_shutdown=2)
        self._server = _ReadyServer(config, on_ready=self._on_ready)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="fake-openai", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(timeout=10) or not self._server.started:
            raise RuntimeError("fake OpenAI server did not start")
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        if self._loop is not None and self._closing is not None:
            self._loop.call_soon_threadsafe(self._closing.set)  # release pending Delay replies
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _on_ready(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._closing = asyncio.Event()
        self._ready.set()

    # --- HTTP ------------------------------------------------------------------------------
    def _app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def chat_completions(request: Request) -> Any:
            body = await request.json()
            record = Recorded(body=body, prompt_tokens=count_prompt_tokens(body))
            with self._lock:
                self.history.append(record)
                reply = self._queue.popleft() if self._queue else None
            if reply is None and self.responder is not None:
                reply = self.responder(body)
            record.reply = reply
            if reply is None:
                return _error(400, "fake OpenAI: no scripted reply left")
            return await self._answer(body, reply, record.prompt_tokens)

        return app

    async def _answer(
        self, body: dict[str, Any], reply: ReplySpec, prompt_tokens: int, completion_tokens: int | None = None
    ) -> Any:
        if isinstance(reply, Delay):
            assert self._closing is not None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), timeout=reply.seconds)
            return await self._answer(body, reply.then, prompt_tokens)
        if isinstance(reply, Usage):
            return await self._answer(
                body, reply.reply, reply.prompt_tokens or prompt_tokens, reply.completion_tokens
            )
        if isinstance(reply, Endless):
            return StreamingResponse(self._endless(reply, body), media_type="application/json")
        if isinstance(reply, HttpError):
            headers = dict(reply.headers)
            if reply.retry_after is not None:
                headers["retry-after"] = _seconds(reply.retry_after)
            return _error(reply.status, reply.message, headers)
        content, tool_calls = self._message_parts(reply)
        completion = completion_tokens
        if completion is None:
            completion = approx_tokens(content or "") + approx_tokens(
                json.dumps(tool_calls) if tool_calls else ""
            )
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion,
            "total_tokens": prompt_tokens + completion,
        }
        completion_id = f"chatcmpl-fake-{next(self._ids)}"
        model = body.get("model") or self.model_name
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            chunks = _stream_chunks(
                completion_id, model, content, tool_calls, usage if include_usage else None
            )
            return StreamingResponse(chunks, media_type="text/event-stream")
        message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None}
        if tool_calls:
            message["tool_calls"] = tool_calls
        return {
            "id": completion_id,
            "object": "chat.completion",
            "created": CREATED,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": "tool_calls" if tool_calls else "stop",
                }
            ],
            "usage": usage,
        }

    async def _endless(self, reply: Endless, body: dict[str, Any]):
        assert self._closing is not None
        completion_id = f"chatcmpl-fake-{next(self._ids)}"
        model = body.get("model") or self.model_name
        if reply.events:
            chunk = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": CREATED,
                "model": model,
                "choices": [{"index": 0, "delta": {"content": reply.piece}, "finish_reason": None}],
            }
            piece = f"data: {json.dumps(chunk)}\n\n"
        else:
            opening = {"id": completion_id, "object": "chat.completion", "created": CREATED, "model": model}
            yield json.dumps(opening)[:-1] + ', "choices": [{"index": 0, "message": {"content": "'
            piece = reply.piece
        while not self._closing.is_set():
            yield piece
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), timeout=reply.interval)

    def _message_parts(self, reply: ReplySpec) -> tuple[str | None, list[dict[str, Any]]]:
        """(content, tool_calls in wire format) for a content or tool-call reply."""
        calls = [reply] if isinstance(reply, ToolCall) else reply
        if isinstance(calls, list) and calls and all(isinstance(c, ToolCall) for c in calls):
            wire = [
                {
                    "id": c.id or f"call_{next(self._ids)}",
                    "type": "function",
                    "function": {
                        "name": c.name,
                        "arguments": c.args if isinstance(c.args, str) else json.dumps(c.args),
                    },
                }
                for c in calls
            ]
            return None, wire
        if isinstance(reply, str):
            return reply, []
        return json.dumps(reply), []  # dict or list: JSON content


class _ReadyServer(uvicorn.Server):
    """uvicorn.Server that reports when it is listening."""

    def __init__(self, config: uvicorn.Config, on_ready: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets=sockets)
        finally:
            self._on_ready()


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    kind = "rate_limit_exceeded" if status == 429 else "fake_error"
    return JSONResponse(
        {"error": {"message": message, "type": kind, "param": None, "code": kind}},
        status_code=status,
        headers=headers,
    )


def _stream_chunks(
    completion_id: str,
    model: str,
    content: str | None,
    tool_calls: list[dict[str, Any]],
    usage: dict[str, int] | None,
):
    """Server-sent events in the chat.completion.chunk format."""

    def event(choices: list[dict[str, Any]], **extra: Any) -> str:
        chunk = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": model,
            "choices": choices,
            **extra,
        }
        return f"data: {json.dumps(chunk)}\n\n"

    async def gen():
        yield event([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
        if content:
            half = len(content) // 2
            for piece in (content[:half], content[half:]):
                if piece:
                    yield event([{"index": 0, "delta": {"content": piece}, "finish_reason": None}])
        for index, call in enumerate(tool_calls):
            delta = {
                "tool_calls": [
                    {
                        "index": index,
                        "id": call["id"],
                        "type": "function",
                        "function": {
                            "name": call["function"]["name"],
                            "arguments": call["function"]["arguments"],
                        },
                    }
                ]
            }
            yield event([{"index": 0, "delta": delta, "finish_reason": None}])
        finish = "tool_calls" if tool_calls else "stop"
        yield event([{"index": 0, "delta": {}, "finish_reason": finish}])
        if usage is not None:
            yield event([], usage=usage)
        yield "data: [DONE]\n\n"

    return gen()
