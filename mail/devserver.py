"""Embedded dev mail server: SMTP (aiosmtpd) + IMAP (pymap maildir) on loopback.

GreenMail-compatible defaults, so tests written against a GreenMail container run unchanged:
SMTP 3025, IMAP 3143, accounts created on first delivery with the address as login and
password, plus-addressed mail (`orders+token@x`) delivered to the base account's INBOX with
`Delivered-To` / `X-Original-To` naming the original recipient.

Both servers share one asyncio loop in a background thread, so synchronous code can use it:

    with DevMailServer(tmp_path, smtp_port=0, imap_port=0) as server:
        smtplib.SMTP("127.0.0.1", server.smtp_port) ...

Port 0 binds any free port; read the real one from `smtp_port` / `imap_port` after start().
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
from collections.abc import Callable, Coroutine, Sequence
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from .devserver_accounts import AccountStore, normalize_address, remove_stale_locks
from .devserver_imap import DevLogin, append_to_inbox, build_imap_config, new_passwords, start_imap_server
from .devserver_smtp import DeliveryHandler, start_smtp_server

log = logging.getLogger(__name__)

DEFAULT_SMTP_PORT = 3025
DEFAULT_IMAP_PORT = 3143
BUILTIN_ACCOUNTS = ("orders@example.com", "rep@example.com")
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0

T = TypeVar("T")


def _utc_now() -> datetime:
    return datetime.now(UTC)


class DevMailServer:
    def __init__(
        self,
        data_dir: Path,
        *,
        host: str = "127.0.0.1",
        smtp_port: int = DEFAULT_SMTP_PORT,
        imap_port: int = DEFAULT_IMAP_PORT,
        accounts: Sequence[str] = (),
        password: str = "dev",
        auto_accounts: bool = True,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.host = host
        self.password = password
        self.auto_accounts = auto_accounts
        self.refuse_data_for: set[str] = set()  # tests: recipients whose mail is refused after DATA (552)
        self._requested_ports = (smtp_port, imap_port)
        self._ports = (smtp_port, imap_port)
        # explicit accounts and their passwords, (re)applied on every start
        self._passwords: dict[str, str] = {
            normalize_address(a): password for a in (*BUILTIN_ACCOUNTS, *accounts) if a.strip()
        }
        self._clock = clock
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._store: AccountStore | None = None
        # set when the server thread ends; waited on instead of Thread.join(), which Ctrl-C
        # can break (an interrupted join may report a live thread as finished)
        self._finished = threading.Event()

    # --- public API ----------------------------------------------------------------------------
    @property
    def smtp_port(self) -> int:
        return self._ports[0]

    @property
    def imap_port(self) -> int:
        return self._ports[1]

    @property
    def running(self) -> bool:
        return self._thread is not None and not self._finished.is_set()

    def start(self) -> DevMailServer:
        """Start both servers; returns once both accept connections (raises if either fails)."""
        if self.running:
            return self
        ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._finished.clear()
        self._thread = threading.Thread(
            target=self._thread_main, args=(ready,), name="dev-mail-server", daemon=True
        )
        self._thread.start()
        try:
            ready.result(timeout=START_TIMEOUT_S)
        except BaseException:
            self.stop()
            raise
        log.info(
            "dev mail server up: SMTP %s:%d, IMAP %s:%d, data in %s",
            self.host,
            self.smtp_port,
            self.host,
            self.imap_port,
            self.data_dir,
        )
        return self

    def stop(self) -> None:
        """Close both servers and their client connections; joins the server thread."""
        thread, loop, stop = self._thread, self._loop, self._stop
        if thread is None:
            return
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # loop already finished
                loop.call_soon_threadsafe(stop.set)
        if self._finished.wait(STOP_TIMEOUT_S):
            thread.join(STOP_TIMEOUT_S)
        else:
            log.error("dev mail server thread did not stop within %.0f s", STOP_TIMEOUT_S)
        self._thread = self._loop = self._stop = None
        self._ports = self._requested_ports

    def wait(self, timeout: float | None = None) -> None:
        """Block until the server thread ends (after stop() or a crash) or timeout passes."""
        if self._thread is not None:
            self._finished.wait(timeout)

    def accounts(self) -> list[str]:
        """All account names currently in the users file (needs a running server)."""
        return self._call(self._require_store().names())

    def add_account(self, address: str, password: str | None = None) -> None:
        """Create an account (or reset its password); works before and after start()."""
        secret = self.password if password is None else password
        self._passwords[normalize_address(address)] = secret
        if self.running:
            self._call(self._require_store().set(address, secret))

    def __enter__(self) -> DevMailServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- server thread -------------------------------------------------------------------------
    def _thread_main(self, ready: concurrent.futures.Future[None]) -> None:
        try:
            asyncio.run(self._serve(ready))
        except BaseException as exc:  # startup errors go to start(); later ones are logged
            if not ready.done():
                ready.set_exception(exc)
            else:
                log.exception("dev mail server crashed")
        finally:
            self._finished.set()

    async def _serve(self, ready: concurrent.futures.Future[None]) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        remove_stale_locks(self.data_dir)
        config = build_imap_config(self.data_dir, self.host, self._requested_ports[1])
        store = AccountStore(self.data_dir, new_passwords(config))
        self._store = store
        for address, secret in list(self._passwords.items()):
            await store.set(address, secret)
        login = DevLogin(config, store, auto_accounts=lambda: self.auto_accounts)

        async def deliver(owner: str, recipient: str, raw: bytes) -> None:
            if self.auto_accounts:
                await store.ensure(owner, owner)  # GreenMail: login = password = address
            uid = await append_to_inbox(login, config, owner, raw, self._clock())
            log.debug("stored %d bytes for %s (rcpt %s) as UID %d", len(raw), owner, recipient, uid)

        async def accepts_recipient(owner: str) -> bool:
            return self.auto_accounts or await store.exists(owner)

        async with AsyncExitStack() as stack:
            imap_port = await start_imap_server(stack, login, config, self.host, self._requested_ports[1])
            smtp_port = await start_smtp_server(
                stack,
                DeliveryHandler(
                    deliver,
                    accepts_recipient,
                    lambda rcpts: any(normalize_address(r) in self.refuse_data_for for r in rcpts),
                ),
                self.host,
                self._requested_ports[0],
            )
            self._ports = (smtp_port, imap_port)
            ready.set_result(None)
            await self._stop.wait()
        log.info("dev mail server stopped")

    def _require_store(self) -> AccountStore:
        if self._store is None:
            raise RuntimeError("dev mail server is not running")
        return self._store

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the server's loop from a caller's thread."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=STOP_TIMEOUT_S)


def run_mailserver(
    data_dir: Path,
    *,
    host: str = "127.0.0.1",
    smtp_port: int = DEFAULT_SMTP_PORT,
    imap_port: int = DEFAULT_IMAP_PORT,
    accounts: Sequence[str] = (),
    password: str = "dev",
    auto_accounts: bool = True,
) -> None:
    """Run the dev mail server in the foreground until Ctrl-C (for `mailorder mailserver`)."""
    server = DevMailServer(
        data_dir,
        host=host,
        smtp_port=smtp_port,
        imap_port=imap_port,
        accounts=accounts,
        password=password,
        auto_accounts=auto_accounts,
    )
    with server:
        log.info("dev mail server ready; Ctrl-C to stop")
        try:
            while server.running:
                server.wait(1.0)
        except KeyboardInterrupt:
            log.info("dev mail server: Ctrl-C, stopping")
