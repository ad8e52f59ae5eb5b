"""Fixes for pymap 0.36 maildir-backend bugs, applied when the dev mail server is imported.

1. Messages are not stored byte for byte: pymap parses every appended message into an
   `email.message.Message` and re-generates it (headers re-folded, raw UTF-8 headers at risk,
   CRLF turned into LF, slow for big mail). Appends and copies now write the literal bytes.
2. FETCH re-generates the stored file the same way and serves bare LF; it now serves the
   stored bytes with CRLF line endings (as IMAP requires and GreenMail does).
3. COPY stores an empty message (it copies the metadata-only message); it now copies content.
4. IDLE polls the maildir once a second; a client IDLE-ing on a mailbox is now woken as soon
   as a message is appended, copied or moved into it (other changes keep the 1 s poll).
5. Users and UID-list files are written via a temp file in /tmp plus os.rename(), which fails
   across filesystems (tmpfs /tmp, mounted data dirs); the temp file now goes next to the target.
6. The MIME parse behind FETCH recurses once per nesting level: a message with a few hundred
   nested multiparts raised RecursionError and dropped the connection, so no FETCH of a batch
   holding it ever worked. Parts nested deeper than MAX_MIME_DEPTH are now opaque leaves
   (application/octet-stream in BODYSTRUCTURE); BODY[] still serves the message byte for byte.

Only pymap's maildir backend is touched, which only the dev mail server uses.
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
import threading
from collections import defaultdict
from collections.abc import Awaitable, Callable
from contextlib import suppress
from datetime import datetime
from mailbox import MaildirMessage
from typing import IO, Any

from pymap.backend.maildir.flags import MaildirFlags
from pymap.backend.maildir.io import FileWriteable
from pymap.backend.maildir.mailbox import LoadedMessage, MailboxData, Maildir, Message
from pymap.backend.maildir.uidlist import Record, UidList
from pymap.concurrent import Event
from pymap.mime import MessageBody, MessageContent
from pymap.parsing.message import AppendMessage
from pymap.parsing.specials import FetchRequirement
from pymap.selected import SelectedMailbox

_BARE_LF = re.compile(rb"(?<!\r)\n")


def to_crlf(raw: bytes) -> bytes:
    """Bare LF -> CRLF; existing CRLF untouched."""
    return _BARE_LF.sub(b"\r\n", raw)


class RawMaildirMessage(MaildirMessage):
    """Maildir metadata (flags, subdir, date) plus the message's bytes, never parsed."""

    def __init__(self, raw: bytes) -> None:
        super().__init__()
        self.raw = raw


_original_dump_message = Maildir._dump_message


def _dump_message(self: Maildir, message: Any, target: IO[bytes], mangle_from_: bool = False) -> None:
    if isinstance(message, RawMaildirMessage):
        target.write(message.raw)
    else:
        _original_dump_message(self, message, target, mangle_from_)


def _to_maildir(
    cls: type[Message], append_msg: AppendMessage, recent: bool, maildir_flags: MaildirFlags
) -> MaildirMessage:
    maildir_msg = RawMaildirMessage(bytes(append_msg.literal))
    maildir_msg.set_flags(maildir_flags.to_maildir(append_msg.flag_set))
    maildir_msg.set_subdir("new" if recent else "cur")
    maildir_msg.set_date((append_msg.when or datetime.now()).timestamp())
    return maildir_msg


def _read_raw(maildir: Maildir, key: str) -> bytes:
    with maildir.get_file(key) as stored:
        return stored.read()


async def _load_content(self: Message, requirement: FetchRequirement) -> LoadedMessage:
    if self._key is None or self._maildir is None or requirement.has_none(FetchRequirement.CONTENT):
        return LoadedMessage(self, requirement, None)
    try:
        raw = _read_raw(self._maildir, self._key)
    except (KeyError, FileNotFoundError):
        return LoadedMessage(self, requirement, None)
    return LoadedMessage(self, requirement, MessageContent.parse(to_crlf(raw)))


async def _copy_with_content(
    self: MailboxData, uid: int, destination: MailboxData, *, recent: bool = False
) -> int | None:
    try:
        record, maildir_msg = await self._get_maildir_msg(uid)
        async with self.messages_lock.read_lock():
            copy_msg = RawMaildirMessage(_read_raw(self._maildir, record.key))
    except (KeyError, FileNotFoundError):
        return None
    copy_msg.set_flags(maildir_msg.get_flags())
    copy_msg.set_subdir("new" if recent else "cur")
    copy_msg.set_date(maildir_msg.get_date())
    async with destination.messages_lock.write_lock():
        dest_key = destination._maildir.add(copy_msg)
        dest_filename = dest_key + ":" + copy_msg.get_info()
    async with UidList.with_write(destination._path) as uidl:
        new_rec = Record(uidl.next_uid, record.fields, dest_filename)
        uidl.next_uid += 1
        uidl.set(new_rec)
    return new_rec.uid


MAX_MIME_DEPTH = 48  # nested multipart / message parts pymap parses into a tree; deeper ones are leaves
_OPAQUE = "application/octet-stream"
_mime_depth = threading.local()  # the parse is synchronous: one count per thread is exact
_original_body_parse = MessageBody._parse.__func__  # type: ignore[attr-defined]


def _depth_limited_body_parse(
    cls: type[MessageBody], data: bytes, view: memoryview, lines: Any, content_type: Any
) -> MessageBody:
    depth = getattr(_mime_depth, "value", 0)
    nests = content_type is not None and content_type.maintype in ("multipart", "message")
    if nests and depth >= MAX_MIME_DEPTH:
        return cls(data, lines, cls._parse_content_type(_OPAQUE), [])
    _mime_depth.value = depth + 1
    try:
        return _original_body_parse(cls, data, view, lines, content_type)
    finally:
        _mime_depth.value = depth


IDLE_POLL_S = 1.0
_idle_waiters: defaultdict[str, set[tuple[asyncio.AbstractEventLoop, Event]]] = defaultdict(set)
_idle_waiters_lock = threading.Lock()  # several dev servers (threads) may run in one process


def notify_mailbox_changed(path: str) -> None:
    """Wake every IDLE waiting on the mailbox stored at `path`."""
    with _idle_waiters_lock:
        waiters = list(_idle_waiters.get(os.path.normpath(path), ()))
    for loop, event in waiters:
        with suppress(RuntimeError):  # loop already closed
            loop.call_soon_threadsafe(event.set)


async def _update_selected(
    self: MailboxData, selected: SelectedMailbox, *, wait_on: Event | None = None
) -> SelectedMailbox:
    if wait_on is not None and not wait_on.is_set():
        changed = Event.for_asyncio()
        key = (asyncio.get_running_loop(), changed)
        path = os.path.normpath(self._path)
        with _idle_waiters_lock:
            _idle_waiters[path].add(key)
        try:
            await wait_on.or_event(changed).wait(timeout=IDLE_POLL_S)
        finally:
            with _idle_waiters_lock:
                _idle_waiters[path].discard(key)
                if not _idle_waiters[path]:
                    del _idle_waiters[path]
    selected.set_messages([msg async for msg in self.messages()])
    return selected


def _notifying(
    method: Callable[..., Awaitable[Any]], target_arg: int | None
) -> Callable[..., Awaitable[Any]]:
    """Wrap append/copy/move so they wake IDLE on the mailbox that received the message."""

    async def wrapper(self: MailboxData, *args: Any, **kwargs: Any) -> Any:
        result = await method(self, *args, **kwargs)
        target = self if target_arg is None else args[target_arg]
        notify_mailbox_changed(target._path)
        return result

    return wrapper


def _same_dir_file_write(self: FileWriteable) -> None:
    file_path = self.get_file(self.path)
    fd, tmp_name = tempfile.mkstemp(dir=os.path.dirname(file_path) or ".", prefix="tmp-pymap-")
    try:
        with os.fdopen(fd, "w") as tmp:
            self.write(tmp)
        os.replace(tmp_name, file_path)
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp_name)
        raise
    self._touched = False


_applied = False


def apply() -> None:
    global _applied
    if _applied:
        return
    _applied = True
    Maildir._dump_message = _dump_message  # type: ignore[method-assign, assignment]
    Message.to_maildir = classmethod(_to_maildir)  # type: ignore[assignment, method-assign]
    Message.load_content = _load_content  # type: ignore[method-assign]
    MailboxData.update_selected = _update_selected  # type: ignore[method-assign]
    MailboxData.append = _notifying(MailboxData.append, None)  # type: ignore[method-assign, assignment]
    MailboxData.copy = _notifying(_copy_with_content, 1)  # type: ignore[method-assign, assignment]
    MailboxData.move = _notifying(MailboxData.move, 1)  # type: ignore[method-assign, assignment]
    FileWriteable.file_write = _same_dir_file_write  # type: ignore[method-assign]
    MessageBody._parse = classmethod(_depth_limited_body_parse)  # type: ignore[assignment, method-assign]


apply()
