"""Worker identity for claiming emails when several `serve` processes share one inbox.

A worker id is "host:pid:nonce". A claim is taken over when it is older than CLAIM_TIMEOUT (a
crashed worker on another machine), or at once when its holder is known dead: a process on this
host that no longer exists, or a closed runner in this process (a restart after a crash or a
cancelled poll must not wait for the timeout)."""
from __future__ import annotations

import os
import secrets
import socket
from datetime import timedelta

CLAIM_TIMEOUT = timedelta(minutes=10)
HEARTBEAT_SECONDS = CLAIM_TIMEOUT.total_seconds() / 5  # a working worker renews its claims this often

_live_in_this_process: set[str] = set()


def new_worker_id() -> str:
    worker = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
    _live_in_this_process.add(worker)
    return worker


def retire(worker: str) -> None:
    """This runner is closed: claims it left behind may be taken over at once."""
    _live_in_this_process.discard(worker)


def is_known_dead(worker: str | None) -> bool:
    """True only when we can tell for sure that the holder of a claim is gone."""
    if not worker:
        return False
    host, _, rest = worker.partition(":")
    pid_text, _, _nonce = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False  # another machine: only the timeout can tell
    pid = int(pid_text)
    if pid == os.getpid():
        return worker not in _live_in_this_process
    return not _pid_alive(pid)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True
