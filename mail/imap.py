"""IMAP inbox client (imapclient, synchronous; the agent calls it from a worker thread).

New mail is found by UID, not by the \\Seen flag, so a person reading the inbox in a mail
client cannot make the agent skip a message. The caller stores each message before it
advances its remembered last UID, so nothing fetched is ever lost.
"""

from __future__ import annotations

import logging
import select
import socket
import ssl as ssl_module
import threading
from dataclasses import dataclass, field

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

log = logging.getLogger(__name__)

FAILED_FOLDER = "mailorder/failed"


@dataclass
class FetchedMessage:
    uid: int
    raw: bytes
    size: int
    truncated: bool = False  # only the header was fetched (message over the size limit)


@dataclass
class FetchResult:
    uidvalidity: int
    messages: list[FetchedMessage] = field(default_factory=list)


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

    def _with_reconnect(self, operation):
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
        self, last_uid: int, known_uidvalidity: int | None, *, max_bytes: int, batch: int = 100
    ) -> FetchResult:
        """Messages with UID > last_uid (all of them when UIDVALIDITY changed), oldest first."""

        def run(client: IMAPClient) -> FetchResult:
            info = client.select_folder(self.folder)
            uidvalidity = int(info[b"UIDVALIDITY"])
            start = last_uid if known_uidvalidity == uidvalidity else 0
            uids = sorted(u for u in client.search(["UID", f"{start + 1}:*"]) if u > start)[:batch]
            result = FetchResult(uidvalidity=uidvalidity)
            if not uids:
                return result
            sizes = client.fetch(uids, ["RFC822.SIZE"])
            small = [u for u in uids if sizes.get(u, {}).get(b"RFC822.SIZE", 0) <= max_bytes]
            large = [u for u in uids if u not in small]
            bodies = client.fetch(small, ["BODY.PEEK[]"]) if small else {}
            heads = client.fetch(large, ["BODY.PEEK[HEADER]"]) if large else {}
            for uid in uids:
                size = int(sizes.get(uid, {}).get(b"RFC822.SIZE", 0))
                if uid in bodies:
                    result.messages.append(FetchedMessage(uid, bodies[uid].get(b"BODY[]", b""), size))
                elif uid in heads:
                    raw = heads[uid].get(b"BODY[HEADER]", b"")
                    result.messages.append(FetchedMessage(uid, raw, size, truncated=True))
            return result

        return self._with_reconnect(run)

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
