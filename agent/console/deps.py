"""Request plumbing shared by the console's routes: who is signed in, CSRF and role checks,
rendering a page, flash messages and the security headers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from mailorder.agent.console import auth
from mailorder.agent.console.state import ConsoleState
from mailorder.store import console as console_store

FLASH_COOKIE = "mo_flash"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


class LoginRequired(Exception):
    """No live sign-in: pages redirect to /login, other requests get 401."""


class Forbidden(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def state(request: Request) -> ConsoleState:
    value: ConsoleState = request.app.state.console
    return value


def now(request: Request) -> datetime:
    moment = state(request).clock()
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def client_address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def signed_in(request: Request) -> auth.CurrentUser | None:
    """The user of the request's sign-in cookie, when it is signed, known and not expired."""
    if hasattr(request.state, "user"):
        cached: auth.CurrentUser | None = request.state.user
        return cached
    user = None
    console = state(request)
    session_id = console.session_signer.unsign(request.cookies.get(auth.SESSION_COOKIE))
    if session_id is not None:
        token_hash = auth.sha256(session_id)
        with console.sessions() as session:
            found = console_store.signed_in(session, token_hash, now(request))
        if found is not None:
            row, account = found
            user = auth.CurrentUser(account.email, account.role, row.csrf_token, token_hash, row.expires_at)
    request.state.user = user
    return user


def require_user(request: Request) -> auth.CurrentUser:
    user = signed_in(request)
    if user is None:
        raise LoginRequired
    return user


async def form(request: Request) -> FormData:
    return await request.form(max_files=0, max_fields=200, max_part_size=256 * 1024)


async def require_csrf(request: Request, user: auth.CurrentUser = Depends(require_user)) -> auth.CurrentUser:
    """A POST of a signed-in user must carry the sign-in's CSRF token (field or header)."""
    given = request.headers.get("x-csrf-token")
    if not given:
        value = (await form(request)).get("csrf_token")
        given = value if isinstance(value, str) else None
    if not auth.same_token(given, user.csrf_token):
        raise Forbidden("the form's security token is missing or out of date; reload the page and try again")
    return user


async def require_actor(user: auth.CurrentUser = Depends(require_csrf)) -> auth.CurrentUser:
    if not user.can_act:
        raise Forbidden(f"your role ({user.role}) may look but not act")
    return user


async def require_admin(user: auth.CurrentUser = Depends(require_csrf)) -> auth.CurrentUser:
    if not user.is_admin:
        raise Forbidden("only an admin may do this")
    return user


def render(
    request: Request,
    template: str,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    console = state(request)
    flash = take_flash(request)
    page = console.templates.get_template(template).render(
        request=request,
        user=signed_in(request) if template != "login.html" else None,
        flash=flash,
        path=request.url.path,
        **context,
    )
    response = HTMLResponse(page, status_code=status_code)
    if flash is not None:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def set_flash(request: Request, response: Response, kind: str, message: str) -> None:
    """A one-time message for the next page (signed cookie: nobody else can put words there)."""
    value = state(request).flash_signer.sign(quote(f"{kind}|{message[:600]}", safe=""))
    response.set_cookie(
        FLASH_COOKIE, value, max_age=60, httponly=True, samesite="lax", secure=is_https(request), path="/"
    )


def take_flash(request: Request) -> tuple[str, str] | None:
    value = state(request).flash_signer.unsign(request.cookies.get(FLASH_COOKIE))
    if value is None:
        return None
    kind, _, message = unquote(value).partition("|")
    return (kind if kind in ("ok", "error") else "error"), message


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site only (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")) or "\\" in target:
        return "/drafts"
    if any(c in target for c in "\r\n"):
        return "/drafts"
    return target
