"""The console in a real browser: Playwright drives the Debian `chromium` package (Playwright's own
browser download is not reachable) against the console served by uvicorn on loopback, on the real
loop. A rep signs in, opens the queue, opens a draft, picks an alternative, approves, signs out;
no Content-Security-Policy violation or script error on the way. Screenshots are saved in the
test's folder and, with MAILORDER_TEST_SCREENSHOTS=DIR, in DIR. Skipped without chromium."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import pytest

from mailorder.store.models import DraftStatus
from tests.conftest import free_port
from tests.console_helpers import PASSWORD, add_user, app_for, console_settings, seed_draft, store
from tests.loop_harness import Loop, known_contact, order_email
from tests.test_console_e2e import console_for
from tests.test_console_pages import write_eval_results
from tests.test_console_security import HOSTILE_HTML, HOSTILE_SUBJECT

pytestmark = pytest.mark.e2e

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str | None:
    for candidate in (os.environ.get("MAILORDER_TEST_CHROMIUM"), "/usr/lib/chromium/chromium"):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("chromium") or shutil.which("chromium-browser")


async def serve(app, port: int):
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            return server, task
        await asyncio.sleep(0.05)
    raise AssertionError("the console did not start")


async def test_a_rep_picks_an_alternative_and_approves_in_chromium(tmp_path, clock):
    executable = chromium()
    if executable is None:
        pytest.skip("no chromium (apt-get install chromium)")
    playwright = pytest.importorskip("playwright.async_api")
    shots = [tmp_path / "screens"]
    if os.environ.get("MAILORDER_TEST_SCREENSHOTS"):
        shots.append(Path(os.environ["MAILORDER_TEST_SCREENSHOTS"]))
    for folder in shots:
        folder.mkdir(parents=True, exist_ok=True)
    sender, _ = known_contact()
    write_eval_results(tmp_path / "results")
    async with Loop(tmp_path, clock, console_results_dir=tmp_path / "results") as loop:
        await loop.send(
            order_email(
                sender,
                "<script>alert(1)</script> Bestelling platen",
                "Graag 3 platen Forex Classic wit 10 mm\n",
            )
        )
        await loop.poll_until(loop.rep_mail)
        [draft] = loop.drafts()
        line = loop.payload()["lines"][0]
        offered = [c for c in line["candidates"] if c["sku"] != line["sku"]]
        port = free_port()
        server, task = await serve(console_for(loop), port)
        base = f"http://127.0.0.1:{port}"
        problems: list[str] = []
        try:
            async with playwright.async_playwright() as pw:
                browser = await pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
                page = await browser.new_page(viewport={"width": 1400, "height": 1000})
                page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda e: problems.append(str(e)))
                page.on("dialog", lambda d: problems.append(f"dialog: {d.message}"))

                async def shot(name: str) -> None:
                    data = await page.screenshot(full_page=True)
                    for folder in shots:
                        (folder / f"{name}.png").write_bytes(data)

                await page.goto(f"{base}/drafts")
                assert page.url.startswith(f"{base}/login")
                await shot("1-login")
                await page.fill("#email", "lead@example.com")
                await page.fill("#password", PASSWORD)
                await page.click("#sign-in")
                await page.wait_for_url(f"{base}/drafts")
                assert "<script>alert(1)</script> Bestelling platen" in await page.inner_text("#queue-table")
                await page.fill("input[name=q]", "platen")  # htmx filters the queue as one types
                await page.wait_for_url("**q=platen**")
                await page.wait_for_selector(f"a[href='/drafts/MO-{draft.id}']")
                await shot("2-queue")

                await page.click(f"a[href='/drafts/MO-{draft.id}']")
                await page.wait_for_selector("#lines")
                assert line["sku"] in await page.inner_text("#lines")
                assert "drafted" in await page.inner_text("#audit")
                await shot("3-draft")

                await page.click("#pick-1b")
                await page.wait_for_selector("#flash")
                assert "changed" in await page.inner_text("#flash")
                assert offered[1]["sku"] in await page.inner_text("#lines")
                assert loop.drafts()[0].version == 2
                await shot("4-picked")

                await page.click("#approve")
                await page.wait_for_selector("#flash")
                assert "confirmed" in await page.inner_text("#flash")
                assert "lead@example.com" in await page.inner_text("#audit")
                await shot("5-approved")

                for name, path in (
                    ("7-stats", "/stats"),
                    ("8-eval", "/eval"),
                    ("9-aliases", "/aliases"),
                    ("10-prompts", "/prompts"),
                ):
                    await page.goto(base + path)
                    await page.wait_for_selector("main h1")
                    await shot(name)
                await page.goto(f"{base}/drafts/MO-{draft.id}")
                await page.click("#logout")
                await page.wait_for_url(f"{base}/login")
                await shot("6-signed-out")
                await page.goto(f"{base}/drafts")
                assert page.url.startswith(f"{base}/login")
                await browser.close()
        finally:
            server.should_exit = True
            await task
        assert problems == [], problems  # no CSP violation, script error or alert
        assert loop.drafts()[0].status == DraftStatus.CONFIRMED
        [order] = loop.erp_orders()
        assert [(ln["sku"], ln["quantity"]) for ln in order["products"]] == [(offered[1]["sku"], 3)]


async def test_a_hostile_email_stays_inert_in_chromium(tmp_path):
    """The draft page of a hostile HTML email: no script runs, no dialog, no request leaves the
    console (tracking pixels, backgrounds, refreshes), and the overlay trick does not cover the page."""
    executable = chromium()
    if executable is None:
        pytest.skip("no chromium (apt-get install chromium)")
    playwright = pytest.importorskip("playwright.async_api")
    settings = console_settings(tmp_path)
    sessions = store(settings)
    add_user(sessions, "lead@example.com", "rep")
    draft_id = seed_draft(sessions, subject=HOSTILE_SUBJECT, html=HOSTILE_HTML)
    port = free_port()
    server, task = await serve(app_for(settings, sessions), port)
    base = f"http://127.0.0.1:{port}"
    problems: list[str] = []
    elsewhere: list[str] = []
    try:
        async with playwright.async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            page = await browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("dialog", lambda d: problems.append(f"dialog: {d.message}"))
            page.on("request", lambda r: None if r.url.startswith(base) else elsewhere.append(r.url))
            await page.goto(f"{base}/login")
            await page.fill("#email", "lead@example.com")
            await page.fill("#password", PASSWORD)
            await page.click("#sign-in")
            await page.wait_for_url(f"{base}/drafts")
            await page.goto(f"{base}/drafts/MO-{draft_id}")
            await page.wait_for_selector("#mail-html")
            await page.wait_for_timeout(500)  # time for a refresh, a pixel or an onload to fire
            data = await page.screenshot(full_page=True)
            (tmp_path / "hostile.png").write_bytes(data)
            if os.environ.get("MAILORDER_TEST_SCREENSHOTS"):
                (Path(os.environ["MAILORDER_TEST_SCREENSHOTS"]) / "11-hostile.png").write_bytes(data)
            assert "Graag geleverd" in await page.inner_text("#mail-html")
            assert page.url == f"{base}/drafts/MO-{draft_id}"  # no meta refresh
            # the "overlay" paragraph is an ordinary paragraph inside the mail box
            position = await page.eval_on_selector("#mail-html p", "p => getComputedStyle(p).position")
            assert position == "static"
            assert await page.is_visible("#approve")
            await browser.close()
    finally:
        server.should_exit = True
        await task
    assert problems == [] and elsewhere == [], (problems, elsewhere)
