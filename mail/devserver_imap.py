"""pymap (maildir backend) embedded in the dev mail server's event loop.

pymap runs in-process: that lets the login accept GreenMail-style auto accounts
(password == address), fold login names to lower case, and deliver SMTP mail through
pymap's own append path (UIDs assigned at once, no polling of `new/`).
"""

from __future__ import annotations

import asyncio
import logging
from argparse import Namespace
from collections.abc import Callable
from contextlib import AsyncExitStack
from datetime import datetime
from pathlib import Path

from proxyprotocol.reader import ProxyProtocolReader
from pymap.backend.maildir import Config, Identity, Login
from pymap.concurrent import Subsystem
from pymap.imap import IMAPServer
from pymap.interfaces.login import IdentityInterface
from pymap.parsing.message import AppendMessage
from pymap.user import Passwords
from pysasl.creds.plain import PlainCredentials
from pysasl.creds.server import ServerCredentials
from pysasl.hashing import BuiltinHash

from . import devserver_pymap_fixes  # noqa: F401  (patches pymap bugs on import)
from .devserver_accounts import AccountStore, is_plausible_address, normalize_address

log = logging.getLogger(__name__)

DEV_PBKDF2_ROUNDS = 1000  # dev accounts only: cheap to hash, still not cleartext


class DevImapConfig(Config):
    """pymap's maildir config without TLS, DNSBL or a DNS lookup in the greeting."""

    @property
    def greeting(self) -> bytes:
        return b"Server ready mailorder dev mail server"


def build_imap_config(base_dir: Path, host: str, port: int) -> DevImapConfig:
    args = Namespace(
        debug=False,
        tls=False,
        inherited_sockets=None,
        proxy_protocol=None,
        passlib_cfg=None,
        cert=None,
        key=None,
        host=host,
        port=port,
    )
    return DevImapConfig(
        args,
        base_dir=str(base_dir),
        layout="++",
        colon=None,
        host=host,
        port=port,
        tls_enabled=False,
        reject_dnsbl=False,
        invalid_user_sleep=0.05,
        subsystem=Subsystem.for_asyncio(),
        cpu_subsystem=Subsystem.for_asyncio(),
        hash_context=BuiltinHash(rounds=DEV_PBKDF2_ROUNDS),
    )


def _plain_secret(credentials: PlainCredentials) -> str:
    return credentials._secret  # pysasl exposes no public accessor


class DevLogin(Login):
    """Login with lower-cased names and, optionally, GreenMail auto accounts on first LOGIN."""

    def __init__(
        self, config: DevImapConfig, accounts: AccountStore, auto_accounts: Callable[[], bool]
    ) -> None:
        super().__init__(config)
        self._accounts = accounts
        self._auto_accounts = auto_accounts

    async def authenticate(self, credentials: ServerCredentials) -> Identity:
        if isinstance(credentials, PlainCredentials):
            name = normalize_address(credentials.authcid)
            secret = _plain_secret(credentials)
            if self._auto_accounts() and secret.lower() == name and is_plausible_address(name):
                secret = name  # auto accounts: the password is the (lower-cased) address
                await self._accounts.ensure(name, secret)
            credentials = PlainCredentials(name, secret, normalize_address(credentials.authzid))
        return await super().authenticate(credentials)

    async def authorize(self, authenticated: IdentityInterface, authzid: str) -> Identity:
        # pymap passes the client's original authzid here, not the lower-cased one
        return await super().authorize(authenticated, normalize_address(authzid))


async def append_to_inbox(
    login: DevLogin, config: DevImapConfig, owner: str, raw: bytes, when: datetime
) -> int:
    """Deliver one message into `owner`'s INBOX via pymap's session API; returns its UID."""
    identity = Identity(config, login.tokens, normalize_address(owner), None, frozenset())
    async with identity.new_session() as session:
        append_uid, _ = await session.append_messages("INBOX", [AppendMessage(raw, when)])
    return max(append_uid.uids, default=0)


async def start_imap_server(
    stack: AsyncExitStack, login: DevLogin, config: DevImapConfig, host: str, port: int
) -> int:
    """Listen for IMAP on host:port (0 = any free port) until `stack` closes; returns the port."""
    config.apply_context()
    callback = ProxyProtocolReader(config.proxy_protocol).get_callback(IMAPServer(login, config))
    server = await asyncio.start_server(callback, host=host, port=port)
    stack.push_async_callback(_close_server, server)
    return server.sockets[0].getsockname()[1]


async def _close_server(server: asyncio.AbstractServer) -> None:
    server.close()
    await server.wait_closed()


def new_passwords(config: DevImapConfig) -> Passwords:
    return Passwords(config)
