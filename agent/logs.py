"""Structured logging: every record carries the email and draft it is about, where known.

The ids live in a context variable holding one mutable `LogContext` per email being processed.
asyncio tasks (gather, LangGraph node tasks) and `asyncio.to_thread` copy the context, so they
share that holder: an id bound deep inside a graph node is visible to every later log line of
the same email, and concurrent emails never see each other's ids.

    with log_context(email_id=42):        # the runner, around the work on one email
        ...
        bind(draft_id=7)                  # wherever the draft becomes known
        log.info("drafted")               # -> email_id=42, draft_id=7

`install(json_lines=True)` prints one JSON object per line: time, level, logger, message,
email_id, draft_id (plus `exc` for exceptions and any `extra=` fields).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

ID_FIELDS = ("email_id", "draft_id")

# libraries that are chatty at INFO; kept at WARNING
NOISY_LOGGERS = (
    "httpx",
    "httpcore",
    "openai",
    "apscheduler",
    "aiosmtplib",
    "imapclient",
    "mailorder.mail.devserver",
    "mailorder.mail.devserver_accounts",
    "mailorder.mail.devserver_smtp",
    "mailorder.mail.devserver_imap",
    "mail.log",
    "pymap",
    "uvicorn.access",
    "aiosqlite",
)

MARK = "mailorder"  # attribute set on the handlers install() owns
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(ids)s: %(message)s"

# attributes every LogRecord has; anything else on a record came from `extra=`
_STANDARD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "ids"}


@dataclass
class LogContext:
    email_id: int | None = None
    draft_id: int | None = None


_current: ContextVar[LogContext | None] = ContextVar("mailorder_log_context", default=None)


def current() -> LogContext:
    """The ids known here (an empty LogContext outside any email)."""
    return _current.get() or LogContext()


@contextmanager
def log_context(*, email_id: int | None = None, draft_id: int | None = None) -> Iterator[LogContext]:
    """A fresh context for one unit of work; the previous one is restored on exit."""
    context = LogContext(email_id=email_id, draft_id=draft_id)
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


def bind(*, email_id: int | None = None, draft_id: int | None = None) -> None:
    """Add ids to the current context in place (seen by the whole unit of work); outside any
    log_context this starts one that lasts as long as the current task's context."""
    context = _current.get()
    if context is None:
        _current.set(LogContext(email_id=email_id, draft_id=draft_id))
        return
    if email_id is not None:
        context.email_id = email_id
    if draft_id is not None:
        context.draft_id = draft_id


class ContextFilter(logging.Filter):
    """Puts email_id and draft_id on every record (ids passed with `extra=` win)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = current()
        for name in ID_FIELDS:
            if getattr(record, name, None) is None:
                setattr(record, name, getattr(context, name))
        record.ids = "".join(
            f" {name.removesuffix('_id')}={getattr(record, name)}"
            for name in ID_FIELDS
            if getattr(record, name) is not None
        )
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "email_id": getattr(record, "email_id", None),
            "draft_id": getattr(record, "draft_id", None),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class _StderrHandler(logging.StreamHandler[IO[str]]):
    """Writes to whatever sys.stderr is at emit time (survives redirection by test runners)."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, value: IO[str]) -> None:  # StreamHandler.setStream assigns it; ignore
        pass


def make_handler(*, json_lines: bool = False, stream: IO[str] | None = None) -> logging.Handler:
    handler: logging.Handler = logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(TEXT_FORMAT))
    setattr(handler, MARK, True)  # marks handlers install() replaces
    return handler


def install(
    *,
    level: int = logging.INFO,
    json_lines: bool = False,
    stream: IO[str] | None = None,
    quiet: Iterable[str] = NOISY_LOGGERS,
) -> logging.Handler:
    """Add one context-aware handler to the root logger (replacing one an earlier call added;
    handlers others installed, such as a test runner's, stay) and quieten chatty libraries."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, MARK, False)]:
        root.removeHandler(old)
    handler = make_handler(json_lines=json_lines, stream=stream)
    root.addHandler(handler)
    root.setLevel(level)
    for name in quiet:
        logging.getLogger(name).setLevel(logging.WARNING)
    return handler
