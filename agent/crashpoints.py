"""Fault injection for the crash-consistency tests: MAILORDER_CRASH_AT=<point> makes the process
die (like SIGKILL, no cleanup) the first time it reaches that step boundary. Unset in production."""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)

POINTS = (
    "after_ingest",
    "after_triage",
    "after_draft",
    "before_send:summary",
    "after_send:summary",
    "before_erp_post",
    "after_erp_post",
    "before_send:confirmation",
    "after_send:confirmation",
    "after_reply_claim",
)


def crash_point(name: str) -> None:
    if os.environ.get("MAILORDER_CRASH_AT") == name:
        log.critical("crash point %s reached: exiting hard", name)
        logging.shutdown()
        os._exit(137)
