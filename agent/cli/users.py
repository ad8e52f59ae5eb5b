"""`mailorder users add|list|remove|passwd`: the console's accounts (argon2 password hashes in the
store). A new password or a removal ends the user's sign-ins at once."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from mailorder.agent.cli.common import config_option, fail, load_settings, read_sessions
from mailorder.agent.cli.console import require_console_extra

users_app = typer.Typer(help="Console users: admin, rep or viewer.", no_args_is_help=True)
ROLE_HELP = "admin (everything), rep (reviews drafts), viewer (sees everything, changes nothing)."


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _password(from_stdin: bool) -> str:
    """The new password: the first line of standard input, or asked twice at the terminal."""
    from mailorder.agent.console.auth import password_problem

    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    problem = password_problem(password)
    if problem:
        fail(problem)
    return password


@users_app.command("add")
def add_cmd(
    email: str = typer.Argument(..., help="The user's email address (their sign-in name)."),
    role: str = typer.Option(..., "--role", help=ROLE_HELP),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from stdin."),
    config: Optional[Path] = config_option(),
) -> None:
    """Add a console user."""
    require_console_extra("users add")
    from mailorder.agent.console.auth import ROLES, hash_password
    from mailorder.store import console as console_store
    from mailorder.store import repo

    email = email.strip().lower()
    if role not in ROLES:
        fail(f"role must be one of {', '.join(ROLES)}")
    if "@" not in email:
        fail(f"{email!r} is not an email address")
    sessions = read_sessions(load_settings(config))
    password_hash = hash_password(_password(password_stdin))
    with sessions.begin() as session:
        if console_store.add_user(session, _now(), email, role, password_hash) is None:
            fail(f"{email} has an account already (mailorder users passwd / remove)", code=1)
        repo.audit(session, _now(), "cli", "console_user_added", email=email, role=role)
    typer.echo(f"added {email} ({role})")


@users_app.command("list")
def list_cmd(config: Optional[Path] = config_option()) -> None:
    """Show the console users."""
    from mailorder.store import console as console_store

    with read_sessions(load_settings(config))() as session:
        users = console_store.list_users(session)
    table = Table("email", "role", "created", "password changed")
    for user in users:
        table.add_row(
            user.email,
            user.role,
            f"{user.created_at:%Y-%m-%d %H:%M}",
            f"{user.password_changed_at:%Y-%m-%d %H:%M}",
        )
    Console(width=160).print(table)


@users_app.command("remove")
def remove_cmd(email: str, config: Optional[Path] = config_option()) -> None:
    """Remove a console user (their sign-ins end at once)."""
    from mailorder.store import console as console_store
    from mailorder.store import repo

    with read_sessions(load_settings(config)).begin() as session:
        user = console_store.remove_user(session, email)
        if user is None:
            fail(f"no console user {email}", code=1)
        repo.audit(session, _now(), "cli", "console_user_removed", email=user.email, role=user.role)
    typer.echo(f"removed {email.strip().lower()}")


@users_app.command("passwd")
def passwd_cmd(
    email: str,
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from stdin."),
    config: Optional[Path] = config_option(),
) -> None:
    """Set a new password (the user's sign-ins end at once)."""
    require_console_extra("users passwd")
    from mailorder.agent.console.auth import hash_password
    from mailorder.store import console as console_store
    from mailorder.store import repo

    sessions = read_sessions(load_settings(config))
    password_hash = hash_password(_password(password_stdin))
    with sessions.begin() as session:
        user = console_store.set_password(session, _now(), email, password_hash)
        if user is None:
            fail(f"no console user {email}", code=1)
        repo.audit(session, _now(), "cli", "console_password_changed", email=user.email)
    typer.echo(f"new password for {email.strip().lower()}")
