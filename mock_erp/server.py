"""Run the mock ERP with uvicorn: in a background thread (tests, demo) or in the foreground (CLI)."""

from __future__ import annotations

import logging
import socket
import threading
from pathlib import Path

import uvicorn

from mailorder.mock_erp.app import create_app
from mailorder.mock_erp.backend import Clock, utc_now
from mailorder.mock_erp.faults import FaultInjector, Faults

log = logging.getLogger(__name__)

DEFAULT_DB_PATH = Path(".mailorder") / "mock_erp.sqlite3"


def sqlite_url(db_path: Path | str | None) -> str:
    """A SQLite URL for a file path (parents created); None or ':memory:' = in-memory."""
    if db_path is None or str(db_path) == ":memory:":
        return "sqlite:///:memory:"
    path = Path(db_path).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


class _NotifyingServer(uvicorn.Server):
    """uvicorn.Server that sets an Event once it listens (or gave up), so nobody sleeps."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets=None) -> None:
        try:
            await super().startup(sockets)
        finally:
            self.ready.set()


class ErpServer:
    """The mock ERP on a loopback port in a background thread.

    with ErpServer(dataset_dir, "sqlite:///erp.db") as erp:   # port=0 picks a free port
        httpx.get(erp.url + "/health")
        erp.faults.update({"fail_next": 2})
    """

    def __init__(
        self,
        dataset_dir: Path | None = None,
        db_url: str = "sqlite:///:memory:",
        port: int = 0,
        faults: Faults | None = None,
        *,
        host: str = "127.0.0.1",
        clock: Clock = utc_now,
        startup_timeout: float = 15.0,
    ) -> None:
        self.app = create_app(dataset_dir, db_url, faults=faults, clock=clock)
        self.host = host
        self._requested_port = port
        self._startup_timeout = startup_timeout
        self._server: _NotifyingServer | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.port: int | None = port or None  # known up front when given; else set by start()

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("ErpServer is not started")
        return f"http://{self.host}:{self.port}"

    @property
    def faults(self) -> FaultInjector:
        return self.app.state.faults

    def start(self) -> ErpServer:
        """Bind, start uvicorn in a thread, and return once it accepts connections."""
        # proto=IPPROTO_TCP lets asyncio set TCP_NODELAY on accepted connections; with proto 0 it
        # does not, and every response then waits ~40 ms for Nagle + delayed ACK.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            sock.bind((self.host, self._requested_port))
        except OSError:
            sock.close()
            raise
        self._socket = sock
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off", access_log=False)
        self._server = _NotifyingServer(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name=f"mock-erp:{self.port}", daemon=True
        )
        self._thread.start()
        if not self._server.ready.wait(self._startup_timeout) or not self._server.started:
            self.stop()
            raise RuntimeError(f"mock ERP did not start on {self.host}:{self.port}")
        log.info("mock ERP listening on %s", self.url)
        return self

    def stop(self) -> None:
        """Stop uvicorn, join the thread, release the DB (a file DB can then be reopened)."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None
        self.app.state.backend.close()

    def __enter__(self) -> ErpServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def run_erp(
    port: int = 8001,
    dataset_dir: Path | None = None,
    db_path: Path | str | None = DEFAULT_DB_PATH,
    faults: Faults | None = None,
    *,
    host: str = "127.0.0.1",
    log_level: str = "info",
) -> None:
    """Serve the mock ERP in the foreground until interrupted (for `mailorder erp`).

    dataset_dir=None = the project's data/ folder; db_path=None = in-memory (nothing persists);
    faults=None = read MOCK_ERP_* environment variables.
    """
    app = create_app(dataset_dir, sqlite_url(db_path), faults=faults)
    log.info("mock ERP on http://%s:%d (db %s)", host, port, db_path or "in-memory")
    try:
        uvicorn.run(app, host=host, port=port, log_level=log_level)
    finally:
        app.state.backend.close()
