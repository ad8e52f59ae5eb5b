"""The console's ASGI app: `create_app(settings)` wires the store, the sign-in, the pages, the
actions and /api/classify; `mailorder console` serves it with uvicorn.

Every route needs a sign-in except /login, /static/*, /healthz (no data) and /api/classify (its
own bearer token). Every response carries a Content-Security-Policy (scripts and styles only from
/static, no inline script or style, no frames, no remote images) and the usual hardening headers."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mailorder.agent.config import Settings
from mailorder.agent.console import actions, api, auth, pages
from mailorder.agent.console.classification import load_label_sets
from mailorder.agent.console.deps import (
    SECURITY_HEADERS,
    Forbidden,
    LoginRequired,
    client_address,
    is_https,
    now,
    redirect,
    render,
    require_csrf,
    safe_next,
    signed_in,
    state,
)
from mailorder.agent.console.state import STATIC, ConsoleState, RunnerOpener, Workflow, template_environment
from mailorder.store import console as console_store
from mailorder.store.db import (
    SchemaNotCurrent,
    head_revision,
    make_engine,
    make_session_factory,
    schema_revision,
)


def utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(
    settings: Settings,
    *,
    sessions: sessionmaker[Session] | None = None,
    clock: Callable[[], datetime] = utc_now,
    opener: RunnerOpener | None = None,
) -> FastAPI:
    """The console for these settings. `sessions` (tests) skips opening the database; `opener`
    hands out the workflow's runner (default: agent.service.open_runner on first use)."""
    engine = None
    if sessions is None:
        engine = make_engine(settings.database_url, migrate=settings.auto_migrate)
        if not settings.auto_migrate and schema_revision(engine) != head_revision():
            current = schema_revision(engine)
            engine.dispose()
            raise SchemaNotCurrent(
                f"database schema is at {current or 'none'}, this mailorder needs {head_revision()}: "
                "run `mailorder db upgrade` (MAILORDER_AUTO_MIGRATE is off)"
            )
        sessions = make_session_factory(engine)
    workflow = Workflow(settings, opener)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await workflow.aclose()
            if engine is not None:
                engine.dispose()

    app = FastAPI(
        title="mailorder console", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
    )
    app.state.console = ConsoleState(
        settings=settings,
        sessions=sessions,
        clock=clock,
        session_signer=auth.Signer.for_settings(settings, "session"),
        login_signer=auth.Signer.for_settings(settings, "login"),
        flash_signer=auth.Signer.for_settings(settings, "flash"),
        label_sets=load_label_sets(settings.console_label_sets),
        workflow=workflow,
        templates=template_environment(),
    )
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(Forbidden, _forbidden)
    app.add_api_route("/login", login_page, methods=["GET"], response_class=HTMLResponse)
    app.add_api_route("/login", login, methods=["POST"], response_class=HTMLResponse)
    app.add_api_route("/logout", logout, methods=["POST"])
    app.include_router(pages.router)
    app.include_router(actions.router)
    app.include_router(api.router)
    return app


class SecurityHeaders:
    """Adds the security headers to every response; pages and API answers are not cached."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith("/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in SECURITY_HEADERS.items():
                    if name.lower().encode() not in present:
                        headers.append((name.lower().encode(), value.encode()))
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def _login_required(request: Request, _exc: Exception) -> Response:
    if "hx-request" in request.headers:  # htmx loads the sign-in page instead of a fragment
        return PlainTextResponse("sign in first", status_code=401, headers={"HX-Redirect": "/login"})
    if request.method != "GET" or request.url.path.startswith("/api/"):
        return PlainTextResponse("sign in first", status_code=401)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return redirect(f"/login?next={quote(target, safe='')}")


def _forbidden(request: Request, exc: Exception) -> Response:
    message = exc.message if isinstance(exc, Forbidden) else "forbidden"
    if signed_in(request) is None:
        return PlainTextResponse(message, status_code=403)
    return render(request, "error.html", status_code=403, title="Not allowed", message=message)


# --- signing in and out ------------------------------------------------------------------------------
def _login_form(request: Request, status_code: int = 200, **context: Any) -> HTMLResponse:
    """The sign-in form with its CSRF token, bound to a fresh signed nonce cookie."""
    console = state(request)
    nonce = secrets.token_urlsafe(16)
    response = render(
        request,
        "login.html",
        status_code=status_code,
        csrf_token=auth.login_csrf(console.login_signer, nonce),
        next=safe_next(request.query_params.get("next") or context.pop("next", None)),
        **context,
    )
    response.set_cookie(
        auth.LOGIN_COOKIE,
        console.login_signer.sign(nonce),
        max_age=auth.LOGIN_COOKIE_SECONDS,
        httponly=True,
        samesite="lax",
        secure=is_https(request),
        path="/login",
    )
    return response


def login_page(request: Request) -> Response:
    if signed_in(request) is not None:
        return redirect(safe_next(request.query_params.get("next")))
    return _login_form(request)


def login(
    request: Request,
    email: str = Form("", max_length=320),
    password: str = Form("", max_length=1024),
    csrf_token: str = Form("", max_length=200),
    next: str = Form("/drafts", max_length=2000),
) -> Response:
    """Check the form's CSRF token, the throttle, then the password (argon2); sign in."""
    console = state(request)
    nonce = console.login_signer.unsign(request.cookies.get(auth.LOGIN_COOKIE))
    if nonce is None or not auth.same_token(csrf_token, auth.login_csrf(console.login_signer, nonce)):
        return _login_form(
            request, 403, error="The sign-in form was out of date. Please try again.", next=next
        )
    account, address, moment = email.strip().lower(), client_address(request), now(request)
    with console.sessions() as session:
        by_account, by_address = console_store.recent_failures(
            session, account=account, address=address, since=moment - auth.FAILURE_WINDOW
        )
    if auth.throttled(by_account, by_address):
        return _login_form(
            request, 429, error="Too many failed sign-ins. Wait a minute and try again.", next=next
        )
    with console.sessions() as session:
        user = console_store.user_by_email(session, account) if account else None
        password_hash = user.password_hash if user is not None else None
    if not auth.check_password(password_hash, password) or user is None:
        with console.sessions.begin() as session:
            console_store.record_failure(
                session, moment, account=account, address=address, keep_after=moment - timedelta(hours=1)
            )
        return _login_form(request, 401, error="Wrong address or password.", email=account, next=next)
    session_id = auth.new_session_id()
    expires = moment + timedelta(seconds=console.settings.console_session_seconds)
    with console.sessions.begin() as session:
        if password_hash is not None and auth.needs_rehash(password_hash):
            console_store.rehash_password(session, user.id, auth.hash_password(password))
        console_store.create_session(
            session,
            moment,
            user_id=user.id,
            token_hash=auth.sha256(session_id),
            csrf_token=auth.new_csrf_token(),
            expires_at=expires,
            address=address,
        )
    response = redirect(safe_next(next))
    response.set_cookie(
        auth.SESSION_COOKIE,
        console.session_signer.sign(session_id),
        max_age=int(console.settings.console_session_seconds),
        httponly=True,
        samesite="lax",
        secure=is_https(request),
        path="/",
    )
    response.delete_cookie(auth.LOGIN_COOKIE, path="/login")
    return response


async def logout(request: Request, user: auth.CurrentUser = Depends(require_csrf)) -> Response:
    with state(request).sessions.begin() as session:
        console_store.end_session(session, user.session_hash)
    response = redirect("/login")
    response.delete_cookie(auth.SESSION_COOKIE, path="/")
    return response
