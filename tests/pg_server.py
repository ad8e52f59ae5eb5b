"""A PostgreSQL server for tests: MAILORDER_TEST_POSTGRES_URL when set (CI starts one), else a
throwaway cluster (initdb + pg_ctl, trust auth, loopback, free port) when the binaries exist,
else None and the PostgreSQL tests skip."""

from __future__ import annotations

import glob
import logging
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tests.conftest import free_port

log = logging.getLogger(__name__)

ENV_URL = "MAILORDER_TEST_POSTGRES_URL"


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _as_user_prefix() -> tuple[list[str], str | None]:
    """initdb refuses to run as root: run the server as the 'postgres' user then."""
    if os.geteuid() != 0:
        return [], None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return [], None
    runuser = shutil.which("runuser") or next(
        (p for p in ("/usr/sbin/runuser", "/sbin/runuser") if os.path.exists(p)), None
    )
    return ([runuser, "-u", "postgres", "--"] if runuser else []), ("postgres" if runuser else None)


@contextmanager
def throwaway_cluster() -> Iterator[str | None]:
    """Admin URL of a fresh cluster for this test session, or None when none can be started."""
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    prefix, owner = _as_user_prefix()
    if not initdb or not pg_ctl or (os.geteuid() == 0 and owner is None):
        yield None
        return
    base = Path(tempfile.mkdtemp(prefix="mailorder-pg-"))
    data, sockets = base / "data", base / "sock"
    sockets.mkdir()
    if owner:
        shutil.chown(base, owner)
        shutil.chown(sockets, owner)
    port = free_port()
    started = False
    try:
        subprocess.run(
            [*prefix, initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        subprocess.run(
            [
                *prefix,
                pg_ctl,
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(base / "log"),
                "-w",
                "-t",
                "60",
                "start",
            ],
            check=True,
            capture_output=True,
            timeout=90,
        )
        started = True
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    except (subprocess.SubprocessError, OSError) as exc:
        log.warning("could not start a PostgreSQL server for the tests: %s", exc)
        yield None
    finally:
        if started:
            subprocess.run(
                [*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"],
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(base, ignore_errors=True)


@contextmanager
def postgres_admin_url() -> Iterator[str | None]:
    if os.environ.get(ENV_URL):
        yield os.environ[ENV_URL]
        return
    with throwaway_cluster() as url:
        yield url


def _with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


@contextmanager
def fresh_database(admin_url: str) -> Iterator[str]:
    """A new, empty database on the server for one test; dropped afterwards."""
    import psycopg

    name = f"mo_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(admin_url, name)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
