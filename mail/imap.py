"""IMAP inbox client (imapclient, synchronous; the agent calls it from a worker thread).

New mail is found by UID, not by the \\Seen flag, so a person reading the inbox in a mail
client cannot make the agent skip a message. The caller stores each message before it
advances its remembered last UID, so nothing fetched is ever lost.

One message must never stop the inbox: when the FETCH of a batch fails (a server that cannot
parse one message may drop the connection), the batch is fetched again one message at a time;
what still fails is reported per UID in FetchResult.failures and the rest is returned.
"""

from __future__ import annotations

import logging
import select
import socket
import ssl as ssl_module
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import TypeVar

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

log = logging.getLogger(__name__)

FAILED_FOLDER = "mailorder/failed"
# what a failing FETCH raises: the server's NO/BAD, a dropped connection (imaplib's abort is an
# IMAPClientError), socket errors and timeouts
FETCH_ERRORS = (IMAPClientError, OSError, EOFError)
T = TypeVar("T")


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


@dataclass
class FetchedMessage:
    uid: int
    raw: bytes
    size: int
    truncated: bool = False  # only the header was fetched (message over the size limit)


@dataclass
class FetchFailure:
    uid: int
    error: str  # what the server or the connection said


@dataclass
class FetchResult:
    uidvalidity: int
    messages: list[FetchedMessage] = field(default_factory=list)
    failures: list[FetchFailure] = field(default_factory=list)  # UIDs listed but not fetched
    interrupted: str | None = None  # the server went away during the one-by-one fetch

    @property
    def listed(self) -> int:
        """UIDs this fetch dealt with (fetched or failed)."""
        return len(self.messages) + len(self.failures)


class ImapInbox:
    def __init__(
        self,
        host: str,
        port: int,
        user: str,
        password: str,
        *,
        ssl: bool = False,
        folder: str = "INBOX",
        timeout: float = 30.0,
    ) -> None:
        self.host, self.port, self.user, self.password = host, port, user, password
        self.ssl, self.folder, self.timeout = ssl, folder, timeout
        self._client: IMAPClient | None = None
        self._lock = threading.RLock()  # one connection, one command at a time (callers use threads)

    # --- connection ----------------------------------------------------------------------------
    def _connect(self) -> IMAPClient:
        if self._client is not None:
            return self._client
        context = ssl_module.create_default_context() if self.ssl else None
        client = IMAPClient(
            self.host, port=self.port, ssl=self.ssl, ssl_context=context, timeout=self.timeout
        )
        try:  # imapclient sends some commands in pieces: without NODELAY each waits ~40 ms (Nagle)
            client.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            log.debug("could not set TCP_NODELAY", exc_info=True)
        client.login(self.user, self.password)
        self._client = client
        return client

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
            if client is None:
                return
            try:
                client.logout()
            except Exception:
                log.debug("IMAP logout failed", exc_info=True)

    def _with_reconnect(self, operation: Callable[[IMAPClient], T]) -> T:
        """Run operation(client); on a dropped connection reconnect once and retry."""
        with self._lock:
            try:
                return operation(self._connect())
            except (IMAPClientError, OSError) as exc:
                log.warning("IMAP error (%s); reconnecting", exc)
                self.close()
                return operation(self._connect())

    # --- operations ----------------------------------------------------------------------------
    def fetch_new(
        self,
        last_uid: int,
        known_uidvalidity: int | None,
        *,
        max_bytes: int,
        batch: int = 100,
        skip: Collection[int] = (),
    ) -> FetchResult:
        """Messages with UID > last_uid (all of them when UIDVALIDITY changed), oldest first,
        leaving out the UIDs in `skip` (while UIDVALIDITY is unchanged). Messages over max_bytes
        come as their header only (truncated). A failing batch FETCH falls back to one message
        at a time; the UIDs that still fail are in `failures`."""
        excluded = set(skip)

        def listing(client: IMAPClient) -> tuple[int, list[int]]:
            info = client.select_folder(self.folder)
            uidvalidity = int(info[b"UIDVALIDITY"])
            same = known_uidvalidity == uidvalidity
            start = last_uid if same else 0
            found = client.search(["UID", f"{start + 1}:*"])
            uids = sorted(u for u in found if u > start and not (same and u in excluded))
            return uidvalidity, uids[:batch]

        with self._lock:
            uidvalidity, uids = self._with_reconnect(listing)
            result = FetchResult(uidvalidity=uidvalidity)
            if not uids:
                return result
            try:  # the whole batch at once (the folder is still selected)
                fetched = self._fetch(self._connect(), uids, max_bytes)
            except FETCH_ERRORS as exc:
                log.warning("FETCH of %d messages failed (%s); fetching them one at a time", len(uids), exc)
                self.close()  # the server may have dropped the connection mid-response
                fetched = {}
            for uid in [u for u in uids if u not in fetched]:
                try:
                    fetched.update(self._fetch_one(uid, max_bytes))
                    error = "the server returned no data for it"
                except FETCH_ERRORS as exc:
                    error = _describe(exc)
                if uid in fetched:
                    continue
                # counted even if the server is gone now: one that dies on a message (and restarts)
                # must not keep the inbox stuck on it; an outage at this moment costs one attempt
                log.warning("could not fetch UID %s: %s", uid, error)
                result.failures.append(FetchFailure(uid, error))
                reachable = self._reachable()
                if reachable is not None:  # the server is gone: the next UIDs are nobody's fault
                    result.interrupted = f"server unreachable after UID {uid} failed: {reachable}"
                    break
            result.messages = [fetched[u] for u in uids if u in fetched]
            return result

    def _fetch(
        self, client: IMAPClient, uids: list[int], max_bytes: int, select: bool = False
    ) -> dict[int, FetchedMessage]:
        """Sizes, then the bodies (headers only above max_bytes) of `uids`, by UID."""
        if select:
            client.select_folder(self.folder)
        sizes = client.fetch(uids, ["RFC822.SIZE"])
        small = [u for u in uids if sizes.get(u, {}).get(b"RFC822.SIZE", 0) <= max_bytes]
        large = [u for u in uids if u not in small]
        bodies = client.fetch(small, ["BODY.PEEK[]"]) if small else {}
        heads = client.fetch(large, ["BODY.PEEK[HEADER]"]) if large else {}
        found: dict[int, FetchedMessage] = {}
        for uid in uids:
            size = int(sizes.get(uid, {}).get(b"RFC822.SIZE", 0))
            if b"BODY[]" in bodies.get(uid, {}):
                found[uid] = FetchedMessage(uid, bodies[uid][b"BODY[]"], size)
            elif b"BODY[HEADER]" in heads.get(uid, {}):
                found[uid] = FetchedMessage(uid, heads[uid][b"BODY[HEADER]"], size, truncated=True)
        return found

    def _fetch_one(self, uid: int, max_bytes: int) -> dict[int, FetchedMessage]:
        """One message, one attempt (on a fresh connection after a failure: no retry)."""
        try:
            return self._fetch(self._connect(), [uid], max_bytes, select=True)
        except FETCH_ERRORS:
            self.close()  # whatever state the connection is in, the next command starts afresh
            raise

    def _reachable(self) -> str | None:
        """None when the server answers (reconnecting if needed), else why not."""
        try:
            self._with_reconnect(lambda c: c.noop())
        except FETCH_ERRORS as exc:
            return _describe(exc)
        return None

    def mark_seen(self, uids: list[int]) -> None:
        if uids:
            self._with_reconnect(lambda c: (c.select_folder(self.folder), c.add_flags(uids, [b"\\Seen"])))

    def move(self, uids: list[int], folder: str = FAILED_FOLDER) -> None:
        """Move messages to folder (created on demand); COPY + expunge when MOVE is missing."""
        if not uids:
            return

        def run(client: IMAPClient) -> None:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            client.select_folder(self.folder)
            if client.has_capability("MOVE"):
                client.move(uids, folder)
            else:
                client.copy(uids, folder)
                client.delete_messages(uids)
                client.uid_expunge(uids) if client.has_capability("UIDPLUS") else client.expunge()

        self._with_reconnect(run)

    def wait_for_new_mail(self, timeout: float) -> bool:
        """IMAP IDLE until the server reports a change or timeout passes (select()-based, see DESIGN)."""

        def run(client: IMAPClient) -> bool:
            client.select_folder(self.folder)
            client.idle()
            try:
                ready, _, _ = select.select([client.socket()], [], [], timeout)
            finally:
                responses = client.idle_done()
            return bool(ready) or bool(responses[1] if isinstance(responses, tuple) else responses)

        return self._with_reconnect(run)
