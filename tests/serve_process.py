"""`mailorder serve` as a child process for end-to-end tests: environment built from test servers,
started, killed (SIGKILL), signalled (SIGTERM, SIGINT) or stopped, its exit code and output
available afterwards."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from tests.conftest import ROOT

T = TypeVar("T")


def wait_for(
    condition: Callable[[], T], timeout: float = 60.0, what: str = "condition", interval: float = 0.1
) -> T:
    """Poll condition() until it is truthy; fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout}s")
        time.sleep(interval)


def serve_env(
    *,
    imap_port: int,
    smtp_port: int,
    erp_url: str,
    database: Path,
    reps: str,
    imap_user: str = "orders@example.com",
    imap_password: str = "dev",
    poll_seconds: float = 0.3,
    **extra: str,
) -> dict[str, str]:
    """The parent's environment without MAILORDER_*/OPENAI_* settings, plus the given ones."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAILORDER_", "OPENAI_"))}
    env.update(
        {
            "MAILORDER_IMAP_PORT": str(imap_port),
            "MAILORDER_SMTP_PORT": str(smtp_port),
            "MAILORDER_IMAP_USER": imap_user,
            "MAILORDER_IMAP_PASSWORD": imap_password,
            "MAILORDER_FROM": imap_user,
            "MAILORDER_ERP_URL": erp_url,
            "MAILORDER_DATABASE_URL": f"sqlite:///{database}",
            "MAILORDER_REPS": reps,
            "MAILORDER_POLL_SECONDS": str(poll_seconds),
            "MAILORDER_SECRET": "s3cret",
        }
    )
    env.update(extra)
    return env


class Serve:
    """One `python -m mailorder serve` child; output goes to a log file (no pipe to fill up)."""

    def __init__(self, env: dict[str, str], log_path: Path | None = None) -> None:
        self.env, self.proc = env, None
        self.log_path = log_path
        self._log = None

    def start(self, **env_changes: str | None) -> Serve:
        """Start the process; env_changes set (or, with None, remove) variables for this run."""
        env = dict(self.env)
        for key, value in env_changes.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        if self.log_path is not None:
            self._log = open(self.log_path, "ab")  # noqa: SIM115 - open while the child runs, closed in stop()
            self._log.write(f"--- started by the test at {time.strftime('%H:%M:%S')} ---\n".encode())
            self._log.flush()
            out = self._log
        else:
            out = subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mailorder", "serve"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        return self

    @property
    def returncode(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def exited(self) -> bool:
        return self.returncode is not None

    def wait_exit(self, timeout: float = 30.0) -> int:
        code = self.proc.wait(timeout=timeout)
        self._close_log()
        return code

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self._close_log()

    def signal(self, sig: int) -> None:
        """Send a signal (SIGTERM, SIGINT) to the running child."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)

    def stop(self) -> str:
        """Stop gracefully (SIGINT: drains, then SIGKILL); returns the output logged so far."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._close_log()
        return self.output()

    def output(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None
