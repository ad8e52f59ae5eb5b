"""The console's security rules over HTTP (httpx against the ASGI app, a real SQLite store): every
route needs a sign-in, every POST a CSRF token, roles are checked on the server, sign-ins are
throttled, signed, expire and end; customer text is escaped, a hostile email renders inert, and
every response carries the Content-Security-Policy."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
from fastapi.routing import APIRoute

from mailorder.agent.console import auth
from mailorder.agent.console.deps import CSP
from mailorder.agent.console.mailview import original_email, sanitise_html
from mailorder.store import console as console_store
from mailorder.store.aliases import list_aliases, upsert_alias
from tests.console_helpers import (
    NOW,
    PASSWORD,
    MovableClock,
    app_for,
    client,
    console_settings,
    csrf_of,
    login,
    seed_draft,
    signed_in,
    store,
)

HOSTILE_SUBJECT = "<script>alert(1)</script> Bestelling"


@pytest.fixture
def env(tmp_path):
    settings = console_settings(tmp_path)
    sessions = store(settings)
    from tests.console_helpers import add_user

    add_user(sessions, "admin@example.com", "admin")
    add_user(sessions, "lead@example.com", "rep")
    add_user(sessions, "viewer@example.com", "viewer")
    clock = MovableClock()
    app = app_for(settings, sessions, clock)
    return settings, sessions, clock, app


def _api_routes(routes):
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        inner = getattr(route, "original_router", None)  # FastAPI's included routers
        if inner is not None:
            yield from _api_routes(inner.routes)


def _page_routes(app) -> list[tuple[str, str]]:
    """Every (method, path) of the app, path parameters as 1."""
    found = []
    for route in _api_routes(app.routes):
        for method in route.methods:
            found.append((method, re.sub(r"\{[^}]+\}", "1", route.path)))
    assert len(found) >= 15
    return found


# --- sign-in needed ----------------------------------------------------------------------------------
async def test_the_queue_without_a_session_redirects_to_login(env):
    *_, app = env
    async with client(app) as http:
        response = await http.get("/drafts")
        assert response.status_code == 303
        assert response.headers["location"] == "/login?next=%2Fdrafts"
        htmx = await http.get("/drafts", headers={"HX-Request": "true"})
        assert htmx.status_code == 401 and htmx.headers["hx-redirect"] == "/login"


async def test_every_route_but_login_healthz_and_static_needs_a_session(env):
    *_, app = env
    open_paths = {("GET", "/login"), ("POST", "/login"), ("GET", "/healthz"), ("POST", "/api/classify")}
    async with client(app) as http:
        for method, path in _page_routes(app):
            if (method, path) in open_paths:
                continue
            response = await http.request(
                method, path, data={"csrf_token": "x"} if method == "POST" else None
            )
            assert response.status_code in (303, 401), (method, path, response.status_code)
            if response.status_code == 303:
                assert response.headers["location"].startswith("/login")
        assert (await http.get("/static/console.css")).status_code == 200
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        assert (await http.post("/api/classify", json={})).status_code == 401


async def test_every_post_needs_the_csrf_token(env):
    _, sessions, _, app = env
    draft_id = seed_draft(sessions)
    async with signed_in(app, "admin@example.com") as http:
        page = await http.get(f"/drafts/MO-{draft_id}")
        token = csrf_of(page.text)
        posts = [p for m, p in _page_routes(app) if m == "POST" and p not in ("/login", "/api/classify")]
        assert {
            "/logout",
            "/drafts/1/approve",
            "/drafts/1/reject",
            "/drafts/1/pick",
            "/drafts/1/edit",
        } <= set(posts)
        for path in posts:
            fields = {"version": "1", "round": "0", "line": "1", "letter": "b", "reason": "x"}
            missing = await http.post(path, data=fields)
            wrong = await http.post(path, data={**fields, "csrf_token": token[::-1]})
            assert missing.status_code == 403, path
            assert wrong.status_code == 403, path
        # nothing happened: still signed in, the draft untouched
        assert (await http.get("/drafts")).status_code == 200
        assert "awaiting review" in (await http.get(f"/drafts/MO-{draft_id}")).text


# --- signing in --------------------------------------------------------------------------------------
async def test_a_wrong_password_and_a_login_without_csrf_token_are_refused(env):
    *_, app = env
    async with client(app) as http:
        wrong = await login(http, "lead@example.com", "not the password")
        assert wrong.status_code == 401 and auth.SESSION_COOKIE not in wrong.cookies
        assert "Wrong address or password" in wrong.text
        unknown = await login(http, "nobody@example.com")
        assert unknown.status_code == 401 and "Wrong address or password" in unknown.text
        await http.get("/login")
        no_csrf = await http.post("/login", data={"email": "lead@example.com", "password": PASSWORD})
        assert no_csrf.status_code == 403 and auth.SESSION_COOKIE not in no_csrf.cookies
    async with client(app) as other:  # a token from another browser's form does not fit this cookie
        page = await other.get("/login")
        stolen = csrf_of(page.text)
    async with client(app) as http:
        await http.get("/login")
        forged = await http.post(
            "/login", data={"email": "lead@example.com", "password": PASSWORD, "csrf_token": stolen}
        )
        assert forged.status_code == 403
        ok = await login(http, "lead@example.com")
        assert ok.status_code == 303 and ok.headers["location"] == "/drafts"
        assert (await http.get("/drafts")).status_code == 200


async def test_session_cookie_is_signed_httponly_lax_and_secure_behind_tls(env):
    *_, app = env
    async with client(app, "https://console.test") as http:
        response = await login(http, "lead@example.com")
        header = next(v for k, v in response.headers.multi_items() if k == "set-cookie" and "mo_session" in v)
        lowered = header.lower()
        assert "httponly" in lowered and "samesite=lax" in lowered and "secure" in lowered
        signed = SimpleCookie(header)[auth.SESSION_COOKIE].value
        assert "." in signed  # id.signature
    async with client(app) as http:
        response = await login(http, "lead@example.com")
        header = next(v for k, v in response.headers.multi_items() if k == "set-cookie" and "mo_session" in v)
        assert "secure" not in header.lower()
    async with client(app) as forger:  # a made-up or altered cookie is no sign-in
        for value in ("abc", "abc.def", signed[:-2] + "xx"):
            forger.cookies.set(auth.SESSION_COOKIE, value)
            assert (await forger.get("/drafts")).status_code == 303


async def test_login_is_throttled_per_account_and_per_address(env):
    *_, clock, app = env
    async with client(app) as http:
        for _ in range(auth.FAILURES_ALLOWED):
            assert (await login(http, "lead@example.com", "wrong")).status_code == 401
        blocked = await login(http, "lead@example.com")  # even the right password, for a minute
        assert blocked.status_code == 429 and auth.SESSION_COOKIE not in blocked.cookies
        other = await login(http, "viewer@example.com")  # the same address is blocked too
        assert other.status_code == 429
        clock.now += timedelta(seconds=61)
        assert (await login(http, "lead@example.com")).status_code == 303
    # a second console process shares the count: it lives in the store
    settings, sessions, *_ = env
    second = app_for(settings, sessions, clock)
    async with client(second) as http:
        for _ in range(auth.FAILURES_ALLOWED):
            await login(http, "admin@example.com", "wrong")
    async with client(app) as http:
        assert (await login(http, "admin@example.com")).status_code == 429


async def test_sessions_expire_and_logout_ends_them_everywhere(env):
    settings, _, clock, app = env
    async with signed_in(app, "lead@example.com") as http:
        assert (await http.get("/drafts")).status_code == 200
        clock.now += timedelta(seconds=settings.console_session_seconds + 1)
        assert (await http.get("/drafts")).status_code == 303
    clock.now = NOW
    async with signed_in(app, "lead@example.com") as http:
        cookie = http.cookies.get(auth.SESSION_COOKIE)
        page = await http.get("/drafts")
        out = await http.post("/logout", data={"csrf_token": csrf_of(page.text)})
        assert out.status_code == 303 and out.headers["location"] == "/login"
    async with client(app) as replay:  # the old cookie is worth nothing now
        replay.cookies.set(auth.SESSION_COOKIE, cookie)
        assert (await replay.get("/drafts")).status_code == 303


async def test_no_open_redirect_after_sign_in(env):
    *_, app = env
    async with client(app) as http:
        page = await http.get("/login?next=//evil.example/x")
        assert 'name="next" value="/drafts"' in page.text
        response = await http.post(
            "/login",
            data={
                "email": "lead@example.com",
                "password": PASSWORD,
                "csrf_token": csrf_of(page.text),
                "next": "https://evil.example/",
            },
        )
        assert response.headers["location"] == "/drafts"


# --- roles --------------------------------------------------------------------------------------------
async def test_a_viewer_sees_everything_and_changes_nothing(env):
    _, sessions, _, app = env
    draft_id = seed_draft(sessions)
    with sessions.begin() as session:
        upsert_alias(
            session,
            NOW.replace(tzinfo=None),
            customer_id="COMP-004",
            source_key="wit",
            source_text="wit",
            sku="06-0104-0221",
            unit=None,
            taught_by="rep@example.com",
        )
    async with signed_in(app, "viewer@example.com") as http:
        for path in ("/drafts", f"/drafts/MO-{draft_id}", "/stats", "/eval", "/aliases", "/prompts"):
            assert (await http.get(path)).status_code == 200, path
        page = await http.get(f"/drafts/MO-{draft_id}")
        assert 'id="approve"' not in page.text and "can look, not act" in page.text
        token = csrf_of(page.text)
        for action in ("approve", "reject", "pick", "edit"):
            response = await http.post(
                f"/drafts/MO-{draft_id}/{action}",
                data={
                    "csrf_token": token,
                    "version": "1",
                    "round": "0",
                    "line": "1",
                    "letter": "a",
                    "reason": "no",
                    "commands": "line 1 qty 4",
                },
            )
            assert response.status_code == 403, action
        assert (await http.post("/aliases/1/remove", data={"csrf_token": token})).status_code == 403
    async with signed_in(app, "lead@example.com") as rep:
        token = csrf_of((await rep.get("/aliases")).text)
        assert (await rep.post("/aliases/1/remove", data={"csrf_token": token})).status_code == 403
    with sessions() as session:
        assert len(list_aliases(session)) == 1
    async with signed_in(app, "admin@example.com") as admin:
        page = await admin.get("/aliases")
        removed = await admin.post("/aliases/1/remove", data={"csrf_token": csrf_of(page.text)})
        assert removed.status_code == 303
    with sessions() as session:
        assert list_aliases(session) == []


# --- what pages show ---------------------------------------------------------------------------------
async def test_customer_text_is_escaped_in_the_queue_and_the_draft(env):
    _, sessions, _, app = env
    draft_id = seed_draft(sessions, subject=HOSTILE_SUBJECT)
    async with signed_in(app, "lead@example.com") as http:
        queue = await http.get("/drafts")
        assert "&lt;script&gt;alert(1)&lt;/script&gt; Bestelling" in queue.text
        assert "<script>alert(1)" not in queue.text
        assert "Company &lt;b&gt;4&lt;/b&gt;" in queue.text
        page = await http.get(f"/drafts/MO-{draft_id}")
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text and "<script>alert" not in page.text
        assert "onerror=alert(2)" not in page.text.replace("onerror=alert(2)&gt;", "")
        assert "&lt;img src=x onerror=alert(2)&gt;" in page.text
        assert "06-0104-0221" in page.text and 'id="audit"' in page.text and "drafted" in page.text
        assert 'id="pick-1a"' in page.text and "06-0104-0222" in page.text


HOSTILE_HTML = """<html><head><style>body{display:none}</style><script>alert('head')</script>
<meta http-equiv="refresh" content="0;url=https://evil.example"><base href="https://evil.example/"></head>
<body onload="alert(1)"><p style="position:fixed;top:0;left:0;width:100%;height:100%">overlay</p>
<a href="javascript:alert(2)">click</a> <a href="https://shop.example/x">shop</a>
<img src="https://tracker.example/pixel.gif">
<table background="https://tracker.example/bg.png"><tr><td>1x 06-0104-0221</td></tr></table>
<form action="https://evil.example"><input name="password"></form><iframe src="https://evil.example"></iframe>
<svg><script>alert(3)</script></svg><object data="x.swf"></object>
<div onclick="alert(4)">Graag geleverd</div><script>alert(5)</script></body></html>"""


def test_a_hostile_email_renders_inert():
    html, clipped, blocked = sanitise_html(HOSTILE_HTML)
    text = str(html).lower()
    for bad in (
        "<script",
        "alert(",
        "javascript:",
        "onload",
        "onclick",
        "style=",
        "<style",
        "<iframe",
        "<form",
        "<input",
        "<object",
        "<img",
        "tracker.example",
        "<meta",
        "<base",
        "background=",
    ):
        assert bad not in text, bad
    assert "graag geleverd" in text and "1x 06-0104-0221" in text
    assert 'href="https://shop.example/x"' in text and "noopener" in text
    assert blocked == 2 and not clipped


def test_a_5mb_html_email_is_clipped_and_fast():
    body = "<p onclick='x()'>Hallo <a href='javascript:alert(1)'>x</a><img src='http://evil/x.png'><script>alert(1)</script></p>"
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@b.example", "orders@example.com", "big"
    message.set_content("plain part")
    message.add_alternative("<html><body>" + body * 40000 + "</body></html>", subtype="html")
    raw = message.as_bytes()
    assert len(raw) > 5_000_000
    started = time.perf_counter()
    view = original_email(raw)
    assert time.perf_counter() - started < 3.0
    assert view.html_clipped and "<script" not in str(view.html) and "javascript:" not in str(view.html)
    assert view.text == "plain part\n"


async def test_the_draft_page_shows_a_hostile_email_inert(env):
    _, sessions, _, app = env
    draft_id = seed_draft(sessions, html=HOSTILE_HTML)
    async with signed_in(app, "lead@example.com") as http:
        page = await http.get(f"/drafts/MO-{draft_id}")
        body = page.text.lower()
        html = body[body.index('id="mail-html"') : body.index("lines of v1")]
        assert "alert(" not in html and "javascript:" not in html and "tracker.example" not in html
        assert "<script" not in body.replace('<script src="/static/htmx-2.0.11.min.js" defer></script>', "")
        assert "2 remote image(s)" in page.text
        assert page.headers["content-security-policy"] == CSP


async def test_every_response_has_the_security_headers_and_no_secret(env):
    settings, sessions, _, app = env
    draft_id = seed_draft(sessions)
    secret = settings.secret.get_secret_value()
    with sessions() as session:
        hashes = [u.password_hash for u in console_store.list_users(session)]
    async with signed_in(app, "admin@example.com") as http:
        session_id = auth.Signer.for_settings(settings, "session").unsign(
            http.cookies.get(auth.SESSION_COOKIE)
        )
        for path in (
            "/login",
            "/drafts",
            f"/drafts/MO-{draft_id}",
            "/stats",
            "/eval",
            "/aliases",
            "/prompts",
            "/drafts/MO-999",
            "/static/console.css",
            "/healthz",
        ):
            response = await http.get(path)
            assert response.headers["content-security-policy"] == CSP, path
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["x-frame-options"] == "DENY"
            assert "'unsafe-inline'" not in response.headers["content-security-policy"]
            if not path.startswith("/static"):
                assert response.headers["cache-control"] == "no-store"
            for hidden in (secret, session_id, *hashes):
                assert hidden not in response.text, (path, "a secret was rendered")
        assert (await http.get("/drafts/MO-999")).status_code == 404


async def test_queue_filters_and_oldest_first(env):
    _, sessions, _, app = env
    first = seed_draft(sessions, subject="first order")
    second = seed_draft(sessions, subject="second order")
    closed = seed_draft(sessions, subject="done order", status="confirmed")
    async with signed_in(app, "lead@example.com") as http:
        text = (await http.get("/drafts")).text
        assert text.index(f"MO-{first}<") < text.index(f"MO-{second}<") and f"MO-{closed}<" not in text
        text = (await http.get("/drafts?state=all&q=done")).text
        assert f"MO-{closed}<" in text and f"MO-{first}<" not in text
        fragment = await http.get("/drafts?state=confirmed", headers={"HX-Request": "true"})
        assert "<html" not in fragment.text and f"MO-{closed}<" in fragment.text
        assert f"MO-{first}<" not in (await http.get("/drafts?rep=other@example.com")).text
        assert f"MO-{first}<" in (await http.get("/drafts?customer=comp-004")).text


def test_the_hostile_corpus_renders_inert_and_quickly():
    """Every message of tests/fixtures/hostile as the draft page would show it: no error, nothing
    active left in the HTML, no message slower than two seconds (under load)."""
    corpus = sorted((Path(__file__).parent / "fixtures" / "hostile").glob("*.eml"))
    assert len(corpus) > 100
    active = re.compile(
        r"<script|<style|<iframe|<object|<embed|<form|<img|javascript:|\son\w+\s*=|style\s*=", re.I
    )
    for path in corpus:
        started = time.perf_counter()
        view = original_email(path.read_bytes())
        assert time.perf_counter() - started < 2.0, path.name
        assert not active.search(str(view.html)), path.name
