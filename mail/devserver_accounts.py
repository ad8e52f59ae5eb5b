"""Dev mail server accounts: address rules and pymap's users files.

Accounts live in pymap's maildir base dir (`pymap-etc-passwd` / `pymap-etc-shadow`); the login
name is the lower-cased address and the user's maildir is `<base_dir>/<address>`.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from pymap.backend.maildir.users import PasswordsFile, UsersFile
from pymap.user import Passwords

log = logging.getLogger(__name__)

# Lock files pymap leaves behind when a process dies mid-write (they only expire after 10 min).
STALE_LOCK_NAMES = ("pymap-etc-passwd.lock", "dovecot-uidlist.lock")


def normalize_address(address: str) -> str:
    """`<Orders@Example.COM>` -> `orders@example.com` (addresses are case-insensitive here)."""
    return address.strip().strip("<>").strip().lower()


def mailbox_owner(address: str) -> str:
    """The account a recipient delivers to: plus part dropped (`orders+t1@x` -> `orders@x`)."""
    normalized = normalize_address(address)
    local, at, domain = normalized.rpartition("@")
    if not at:
        return normalized
    base_local = local.split("+", 1)[0] or local
    return f"{base_local}@{domain}"


def is_plausible_address(address: str) -> bool:
    local, at, domain = normalize_address(address).rpartition("@")
    return bool(at and local and domain) and "/" not in local and not local.startswith(".")


def remove_stale_locks(base_dir: Path) -> list[Path]:
    """Delete pymap lock files left by a killed server; call only before this server starts."""
    removed: list[Path] = []
    for root, _dirs, files in os.walk(base_dir):
        for name in files:
            if name in STALE_LOCK_NAMES:
                path = Path(root, name)
                path.unlink(missing_ok=True)
                removed.append(path)
    if removed:
        log.warning("removed %d stale pymap lock file(s) in %s", len(removed), base_dir)
    return removed


class AccountStore:
    """Reads and writes dev accounts in pymap's users files (call from the server's loop)."""

    def __init__(self, base_dir: Path, passwords: Passwords) -> None:
        self.base_dir = base_dir
        self._passwords = passwords

    async def exists(self, address: str) -> bool:
        async with UsersFile.with_read(str(self.base_dir)) as users:
            return users.has(normalize_address(address))

    async def names(self) -> list[str]:
        async with UsersFile.with_read(str(self.base_dir)) as users:
            return sorted(record.name for record in users.get_all())

    async def ensure(self, address: str, password: str) -> bool:
        """Create the account unless it exists (password untouched then). True if created."""
        name = normalize_address(address)
        if await self.exists(name):
            return False
        return await self._write(name, password, overwrite=False)

    async def set(self, address: str, password: str) -> None:
        """Create the account or reset its password."""
        await self._write(normalize_address(address), password, overwrite=True)

    async def _write(self, name: str, password: str, *, overwrite: bool) -> bool:
        hashed = await self._passwords.hash_password(password)
        base = str(self.base_dir)
        async with UsersFile.with_write(base) as users, PasswordsFile.with_write(base) as shadow:
            if users.has(name) and not overwrite:
                return False  # created concurrently
            users.set(users.build_record(name, name))
            shadow.set(shadow.build_record(name, hashed))
        log.info("dev mail account %s %s", name, "updated" if overwrite else "created")
        return True
