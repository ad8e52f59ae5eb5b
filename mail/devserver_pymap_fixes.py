"""Fixes for two pymap 0.36 maildir-backend bugs, applied when the dev mail server is imported.

1. COPY stores an empty message: `MailboxData.copy` copies the metadata-only message
   (`get_message_metadata`) instead of the message itself.
2. Users and UID-list files are written via a temp file in /tmp plus os.rename(), which fails
   across filesystems (tmpfs /tmp, mounted data dirs); the temp file goes next to the target.

Both patches only change pymap's maildir backend, which only the dev mail server uses.
"""
from __future__ import annotations

import logging
import os
import tempfile
from contextlib import suppress
from mailbox import MaildirMessage

from pymap.backend.maildir.io import FileWriteable
from pymap.backend.maildir.mailbox import MailboxData
from pymap.backend.maildir.uidlist import Record, UidList

log = logging.getLogger(__name__)


async def _copy_with_content(self: MailboxData, uid: int, destination: MailboxData, *,
                             recent: bool = False) -> int | None:
    try:
        record, maildir_msg = await self._get_maildir_msg(uid)
        async with self.messages_lock.read_lock():
            full_msg = self._maildir.get_message(record.key)
    except (KeyError, FileNotFoundError):
        return None
    copy_msg = MaildirMessage(full_msg)
    copy_msg.set_flags(maildir_msg.get_flags())
    copy_msg.set_subdir("new" if recent else "cur")
    async with destination.messages_lock.write_lock():
        dest_key = destination._maildir.add(copy_msg)
        dest_filename = dest_key + ":" + copy_msg.get_info()
    async with UidList.with_write(destination._path) as uidl:
        new_rec = Record(uidl.next_uid, record.fields, dest_filename)
        uidl.next_uid += 1
        uidl.set(new_rec)
    return new_rec.uid


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


def apply() -> None:
    MailboxData.copy = _copy_with_content  # type: ignore[method-assign]
    FileWriteable.file_write = _same_dir_file_write  # type: ignore[method-assign]


apply()
