"""A tiny HTTP/1.1 server on the `serve` event loop for /healthz, /readyz and /metrics.

Why not uvicorn: three GET routes without request bodies do not need an ASGI stack, and the
production dependency set stays small (prometheus-client is the only addition). Running on the
same event loop as the poller is the point of /healthz: if the loop is stuck, the endpoint stops
answering. Each request is read with a deadline and size limits; responses close the connection.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

log = logging.getLogger(__name__)

READ_TIMEOUT = 5.0  # seconds to receive a request's head
MAX_HEAD_BYTES = 8192


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str = "application/json"

    @classmethod
    def json(cls, status: int, payload: Any) -> Response:
        return cls(status, (json.dumps(payload, sort_keys=True) + "\n").encode())


Handler = Callable[[], Awaitable[Response]]


class HttpServer:
    """`async with HttpServer(host, port, {"/healthz": handler}) as server: server.port`."""

    def __init__(self, host: str, port: int, routes: dict[str, Handler]) -> None:
        self.host, self.requested_port, self.routes = host, port, routes
        self._server: asyncio.Server | None = None
        self.port: int | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._serve, self.host, self.requested_port, limit=MAX_HEAD_BYTES, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> HttpServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                async with asyncio.timeout(READ_TIMEOUT):
                    method, path = await _read_head(reader)
            except (TimeoutError, ValueError, asyncio.LimitOverrunError, asyncio.IncompleteReadError):
                await _write(writer, Response.json(400, {"error": "bad request"}), head_only=False)
                return
            response = await self._dispatch(method, path)
            await _write(writer, response, head_only=method == "HEAD")
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def _dispatch(self, method: str, path: str) -> Response:
        handler = self.routes.get(path.split("?", 1)[0])
        if handler is None:
            return Response.json(404, {"error": "not found", "paths": sorted(self.routes)})
        if method not in ("GET", "HEAD"):
            return Response.json(405, {"error": "method not allowed"})
        try:
            return await handler()
        except Exception:
            log.exception("HTTP handler for %s failed", path)
            return Response.json(500, {"error": "internal error"})


async def _read_head(reader: asyncio.StreamReader) -> tuple[str, str]:
    """The request line's method and path; the headers are read and ignored."""
    request_line = (await reader.readuntil(b"\r\n")).decode("latin-1").strip()
    parts = request_line.split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        raise ValueError(f"bad request line {request_line[:80]!r}")
    size = len(request_line)
    while (line := await reader.readuntil(b"\r\n")) not in (b"\r\n", b""):
        size += len(line)
        if size > MAX_HEAD_BYTES:
            raise ValueError("request head too large")
    return parts[0].upper(), parts[1]


async def _write(writer: asyncio.StreamWriter, response: Response, *, head_only: bool) -> None:
    reason = HTTPStatus(response.status).phrase
    head = (
        f"HTTP/1.1 {response.status} {reason}\r\n"
        f"Content-Type: {response.content_type}\r\n"
        f"Content-Length: {len(response.body)}\r\n"
        "Cache-Control: no-store\r\n"
        "Connection: close\r\n\r\n"
    ).encode("latin-1")
    writer.write(head if head_only else head + response.body)
    await writer.drain()
