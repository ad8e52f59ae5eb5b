"""SMTP sender (aiosmtplib) with a small pool of reusable connections.

Retries with backoff and bookkeeping live in the agent's outbox, not here; the only retry here
is one reconnect when a pooled connection turns out dead before the message reached DATA."""

from __future__ import annotations

import asyncio
import logging
import time

import aiosmtplib

log = logging.getLogger(__name__)

DEAD_CONNECTION_CODE = 421  # "service not available, closing transmission channel"


class _Connection(aiosmtplib.SMTP):
    """An aiosmtplib client that knows how far its current mail transaction got."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.in_transaction = False  # MAIL sent, neither DATA accepted nor RSET done since
        self.data_started = False  # the DATA command of the current transaction was begun
        self.idle_since = time.monotonic()

    async def mail(self, *args, **kwargs):
        self.in_transaction, self.data_started = True, False
        return await super().mail(*args, **kwargs)

    async def data(self, *args, **kwargs):
        self.data_started = True
        response = await super().data(*args, **kwargs)
        self.in_transaction = False
        return response

    async def rset(self, *args, **kwargs):
        response = await super().rset(*args, **kwargs)
        self.in_transaction = False
        return response

    @property
    def reusable(self) -> bool:
        return self.is_connected and not self.in_transaction


def _died_before_data(conn: _Connection, exc: BaseException) -> bool:
    """True when a send failed because the connection was dead and nothing reached DATA."""
    if conn.data_started or isinstance(exc, aiosmtplib.SMTPTimeoutError):
        return False
    if isinstance(exc, ConnectionError):  # SMTPServerDisconnected, resets, broken pipes
        return True
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return exc.code == DEAD_CONNECTION_CODE
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return all(e.code == DEAD_CONNECTION_CODE for e in exc.recipients)
    return False


class SmtpSender:
    """Sends raw messages over at most `max_connections` pooled SMTP connections; TLS, STARTTLS
    and AUTH happen once per connection. `timeout` applies to each connect and each command, and
    to the wait for a free connection while no message gets through."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        user: str | None = None,
        password: str | None = None,
        use_tls: bool = False,
        start_tls: bool = False,
        timeout: float = 30.0,
        max_connections: int = 4,
        idle_timeout: float = 30.0,
    ) -> None:
        self.host, self.port, self.user, self.password = host, port, user, password
        self.use_tls, self.start_tls, self.timeout = use_tls, start_tls, timeout
        self.max_connections, self.idle_timeout = max_connections, idle_timeout
        self._local_hostname: str | None = None  # looked up once (getfqdn), then reused
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots: asyncio.Semaphore | None = None  # one per connection in use
        self._idle: list[_Connection] = []  # most recently used last
        self._sent_at = 0.0  # monotonic time of the last message sent

    async def send(self, raw: bytes, sender: str, recipients: list[str]) -> None:
        """Send one message; raises aiosmtplib.SMTPException/OSError on failure."""
        slots = self._bind_loop()
        await self._acquire(slots)
        try:
            conn, reused = await self._take()
            try:
                try:
                    await conn.sendmail(sender, recipients, raw)
                except Exception as exc:
                    if not (reused and _died_before_data(conn, exc)):
                        raise
                    log.info("pooled SMTP connection was dead (%r); reconnecting", exc)
                    conn.close()
                    conn = await self._connect()
                    await conn.sendmail(sender, recipients, raw)
                self._sent_at = time.monotonic()
            except asyncio.CancelledError:  # a command may be half done: never reuse
                conn.close()
                raise
            finally:
                self._give_back(conn)
        finally:
            slots.release()
        log.debug("sent %d bytes to %s", len(raw), recipients)

    async def close(self) -> None:
        """QUIT every idle connection. Optional: an unclosed sender leaves only idle sockets."""
        idle, self._idle = self._idle, []
        if self._loop is asyncio.get_running_loop():
            await asyncio.gather(*(self._quit(conn) for conn in idle))

    # --- pool ----------------------------------------------------------------------------------
    def _bind_loop(self) -> asyncio.Semaphore:
        """The pool belongs to one event loop; a sender used from a new loop starts a fresh pool
        (the old loop's connections cannot be used, nor QUIT, from this one)."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._slots is None:
            self._loop, self._slots, self._idle = loop, asyncio.Semaphore(self.max_connections), []
        return self._slots

    async def _acquire(self, slots: asyncio.Semaphore) -> None:
        """Wait for a free connection while the pool makes progress: a queued send fails once no
        message was sent for `timeout` since it began waiting (a hung server), but a slow server
        that keeps sending keeps its queue waiting."""
        waiting_since = time.monotonic()
        while True:
            remaining = max(waiting_since, self._sent_at) + self.timeout - time.monotonic()
            if remaining <= 0:
                raise aiosmtplib.SMTPTimeoutError(
                    f"no SMTP connection free and no message sent for {self.timeout:g} s "
                    f"({self.max_connections} connections busy)"
                )
            try:
                await asyncio.wait_for(slots.acquire(), remaining)
                return
            except TimeoutError:
                continue

    async def _take(self) -> tuple[_Connection, bool]:
        """A live idle connection (reused=True) or a new one; expired idle ones are QUIT."""
        now = time.monotonic()
        while self._idle:
            conn = self._idle.pop()
            if not conn.is_connected:
                continue
            if now - conn.idle_since < self.idle_timeout:
                return conn, True
            await self._quit(conn)
        return await self._connect(), False

    def _give_back(self, conn: _Connection) -> None:
        if conn.reusable:
            conn.idle_since = time.monotonic()
            self._idle.append(conn)
        else:
            conn.close()

    async def _connect(self) -> _Connection:
        conn = _Connection(
            hostname=self.host,
            port=self.port,
            username=self.user,
            password=self.password,
            use_tls=self.use_tls,
            start_tls=self.start_tls and not self.use_tls,
            local_hostname=self._local_hostname,
            timeout=self.timeout,
        )
        await conn.connect()
        self._local_hostname = conn.local_hostname
        return conn

    @staticmethod
    async def _quit(conn: _Connection) -> None:
        try:
            await conn.quit()
        except (aiosmtplib.SMTPException, OSError):
            pass
        finally:
            conn.close()
