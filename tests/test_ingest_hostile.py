"""Hostile mail, second pass, through the real loop: one message the server cannot FETCH never stops
the inbox, a reused Message-ID never drops a message, and a rep's APPROVE deep inside an Outlook
thread still decides. After each, a normal order still gets its summary within seconds."""

from __future__ import annotations

import sqlite3
import time
from email.message import EmailMessage
from email.utils import getaddresses, make_msgid

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

import mailorder.mail.devserver_pymap_fixes as pymap_fixes
from mailorder.agent.inbox import ingest
from mailorder.mail.imap import FAILED_FOLDER, FetchedMessage, ImapInbox
from mailorder.mail.parse import content_fingerprint
from mailorder.store.db import make_engine
from mailorder.store.models import DraftStatus, EmailRecord, EmailStatus
from tests.loop_harness import ORDERS, PASSWORD, REP, Loop, catalog, known_contact, order_email

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

CANARY_SECONDS = 10.0


def deep_message(levels: int = 400, message_id: str = "<diep@klant.example>") -> bytes:
    body = b"Content-Type: text/plain\r\n\r\nGraag 3x 02-0001-1049"
    for depth in reversed(range(levels)):
        boundary = b"n%d" % depth
        body = (
            b'Content-Type: multipart/mixed; boundary="'
            + boundary
            + b'"\r\n\r\n--'
            + boundary
            + b"\r\n"
            + body
            + b"\r\n--"
            + boundary
            + b"--\r\n"
        )
    head = f"From: a@klant.example\r\nTo: {ORDERS}\r\nSubject: diep\r\nMessage-ID: {message_id}\r\n"
    return head.encode() + body


@pytest.fixture
def fetch_recursion(monkeypatch):
    """The dev server as it was: pymap parses the whole MIME tree for FETCH, recursively, so FETCH
    of a deeply nested message raises RecursionError in the server and drops the connection."""
    monkeypatch.setattr(pymap_fixes, "MAX_MIME_DEPTH", 10**9)


def sku() -> str:
    return next(p for p in catalog() if p.get("active", True))["sku"]


async def canary(loop: Loop, subject: str = "Canary") -> None:
    """A normal order sent now gets its summary within seconds."""
    customer, _ = known_contact()
    before = len(loop.rep_mail())
    started = time.monotonic()
    await loop.send(order_email(customer, subject, f"Graag bestellen:\n\n3x {sku()}\n"))
    await loop.poll_until(lambda: len(loop.rep_mail()) > before, timeout=CANARY_SECONDS)
    assert time.monotonic() - started < CANARY_SECONDS


def uids_in(loop: Loop, folder: str) -> list[int]:
    with IMAPClient("127.0.0.1", port=loop.imap_port, ssl=False, timeout=10) as client:
        client.login(ORDERS, PASSWORD)
        if not client.folder_exists(folder):
            return []
        client.select_folder(folder)
        return sorted(client.search("ALL"))


# ---- one message the server cannot fetch ----------------------------------------------------------


async def test_a_failing_batch_fetch_falls_back_to_one_message_at_a_time(tmp_path, clock, fetch_recursion):
    async with Loop(tmp_path, clock) as loop:
        customer, _ = known_contact()
        await loop.send(order_email(customer, "Eerste", "Graag 3x 02-0001-1049\n"))
        await loop.send_raw(deep_message(), sender="a@klant.example")
        await loop.send(order_email(customer, "Derde", "Graag 2x 02-0001-1049\n"))
        inbox = ImapInbox("127.0.0.1", loop.imap_port, ORDERS, PASSWORD)
        try:
            result = inbox.fetch_new(0, None, max_bytes=10**7)
            assert [m.uid for m in result.messages] == [1, 3]
            assert [f.uid for f in result.failures] == [2] and result.interrupted is None
            assert "abort" in result.failures[0].error.lower() or "EOF" in result.failures[0].error
            again = inbox.fetch_new(0, result.uidvalidity, max_bytes=10**7, skip=[2])  # the caller's plan
            assert [m.uid for m in again.messages] == [1, 3] and again.failures == []
        finally:
            inbox.close()


async def test_a_server_refusing_fetch_for_one_uid_does_not_stop_the_rest(tmp_path, clock, monkeypatch):
    """Whatever the server: a NO for one message (not a dropped connection) is handled the same."""
    real = ImapInbox._fetch

    def refusing(self, client, uids, max_bytes, select=False):
        if 2 in uids:
            raise IMAPClientError("FETCH command error: NO [SERVERBUG] cannot parse message")
        return real(self, client, uids, max_bytes, select)

    monkeypatch.setattr(ImapInbox, "_fetch", refusing)
    async with Loop(tmp_path, clock) as loop:
        customer, _ = known_contact()
        for subject in ("Een", "Twee", "Drie", "Vier"):
            await loop.send(order_email(customer, subject, f"Graag 3x {sku()}\n"))
        report = await loop.runner.poll_once()
        assert list(report.fetch_failures) == [2] and "NO [SERVERBUG]" in report.fetch_failures[2]
        assert report.fetched == 3 and report.stored == 3 and report.errors == []
        assert sorted(e.uid for e in loop.emails()) == [1, 3, 4]


async def test_a_message_that_never_fetches_is_failed_after_bounded_polls_and_the_inbox_flows(
    tmp_path, clock, fetch_recursion
):
    async with Loop(tmp_path, clock) as loop:
        customer, _ = known_contact()
        await loop.send(order_email(customer, "Voor", f"Graag 3x {sku()}\n"))
        await loop.send_raw(deep_message(), sender="a@klant.example")
        await loop.send(order_email(customer, "Na", f"Graag 2x {sku()}\n"))

        reports = [await loop.runner.poll_once()]  # (each poll tries it once)
        assert sorted(e.uid for e in loop.emails()) == [1, 3]  # what is behind it flows
        assert list(reports[0].fetch_failures) == [2] and reports[0].unfetchable == []
        assert len(loop.rep_mail()) == 2
        for _ in range(ingest.MAX_FETCH_ATTEMPTS - 1):
            reports.append(await loop.runner.poll_once())
        assert [list(r.fetch_failures) for r in reports] == [[2]] * ingest.MAX_FETCH_ATTEMPTS
        assert reports[-1].unfetchable == [2] and reports[-1].failed == 1

        failed = next(e for e in loop.emails() if e.uid == 2)
        assert failed.status == EmailStatus.FAILED and failed.raw is None
        assert "UID 2" in failed.error and f"{ingest.MAX_FETCH_ATTEMPTS} attempts" in failed.error
        assert [e.details["uid"] for e in loop.audit("fetch_failed")] == [2] * ingest.MAX_FETCH_ATTEMPTS
        [audited] = [e for e in loop.audit("failed") if e.email_id == failed.id]
        assert audited.details["error"] == failed.error
        assert uids_in(loop, FAILED_FOLDER) == [1] and uids_in(loop, "INBOX") == [1, 3]

        later = await loop.runner.poll_once()  # given up for good: never fetched again
        assert later.fetch_failures == {} and len(loop.audit("fetch_failed")) == ingest.MAX_FETCH_ATTEMPTS
        await canary(loop)


async def test_a_failed_message_the_server_will_not_move_is_passed_by_its_uid(
    tmp_path, clock, fetch_recursion, monkeypatch
):
    def refuse(self, uids, folder=FAILED_FOLDER):
        raise IMAPClientError("MOVE failed: NO [CANNOT] not permitted")

    monkeypatch.setattr(ImapInbox, "move", refuse)
    async with Loop(tmp_path, clock) as loop:
        await loop.send_raw(deep_message(), sender="a@klant.example")
        for _ in range(ingest.MAX_FETCH_ATTEMPTS):
            report = await loop.runner.poll_once()
            assert report.errors == []
        assert report.unfetchable == [1]
        with loop.sessions() as session:
            from mailorder.store import repo

            assert repo.mailbox_state(session, "INBOX").last_uid == 1
        assert uids_in(loop, "INBOX") == [1]  # still there, passed by
        assert (await loop.runner.poll_once()).fetch_failures == {}
        await canary(loop)


# ---- one Message-ID, two messages ---------------------------------------------------------------


def order_raw(message_id: str, body: str, *, subject: str = "Bestelling") -> bytes:
    customer, _ = known_contact()
    return (
        f"From: {customer}\r\nTo: {ORDERS}\r\nSubject: {subject}\r\nMessage-ID: {message_id}\r\n"
        f"Date: Mon, 02 Mar 2026 08:30:00 +0100\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        + body.replace("\n", "\r\n")
    ).encode()


TRACE = (
    "Return-Path: <inkoop@klant.example>\r\nReceived: from relay9 by mx; Mon, 02 Mar 2026 08:31:00 +0100\r\n"
    "X-Original-To: orders-alias@example.com\r\n"
)


async def test_a_reused_message_id_is_a_new_email_and_a_second_delivery_is_not(tmp_path, clock):
    async with Loop(tmp_path, clock) as loop:
        first = order_raw("<po-1@erp.klant.example>", f"Graag 3x {sku()}\n")
        await loop.send_raw(first)
        await loop.send_raw(TRACE.encode() + first)  # the same message by another route
        await loop.send_raw(order_raw("<po-1@erp.klant.example>", f"Graag 7x {sku()}\n", subject="Nog een"))
        await loop.poll_until(lambda: len(loop.rep_mail()) == 2)

        emails = loop.emails()
        assert len(emails) == 2 and emails[0].message_id == "<po-1@erp.klant.example>"
        assert (
            emails[1].message_id.startswith("<reused-") and "po-1@erp.klant.example" in emails[1].message_id
        )
        assert [e.status for e in emails] == [EmailStatus.DRAFTED, EmailStatus.DRAFTED]
        [duplicate] = loop.audit("duplicate_ignored")
        assert duplicate.email_id == emails[0].id and duplicate.details["uid"] == 2
        [reused] = loop.audit("message_id_reused")
        assert reused.email_id == emails[1].id and reused.details["first_email_id"] == emails[0].id
        assert reused.details["message_id"] == "<po-1@erp.klant.example>"
        assert reused.details["stored_as"] == emails[1].message_id
        await canary(loop)


async def test_rows_stored_before_fingerprints_are_compared_by_their_bytes(tmp_path, clock):
    """An existing database: the column is added on start; old rows are fingerprinted from raw."""
    database = tmp_path / "legacy.db"
    engine = make_engine(f"sqlite:///{database}")
    engine.dispose()
    original = order_raw("<old-1@klant.example>", f"Graag 3x {sku()}\n")
    with sqlite3.connect(database) as con:
        con.execute("ALTER TABLE emails DROP COLUMN fingerprint")  # a database from before it
        con.execute("DROP TABLE IF EXISTS alembic_version")  # (and before migrations)
        con.execute(
            "INSERT INTO emails (message_id, mailbox, uidvalidity, uid, sender, subject, received_at, size,"
            " raw, status) VALUES (?, 'INBOX', 1, 1, 'x@klant.example', 'Bestelling', '2026-03-01 09:00:00',"
            " ?, ?, 'not_order')",
            ("<old-1@klant.example>", len(original), original),
        )
    async with Loop(tmp_path, clock, database_url=f"sqlite:///{database}") as loop:
        await loop.send_raw(TRACE.encode() + original)  # a late second delivery of the old message
        await loop.send_raw(order_raw("<old-1@klant.example>", f"Graag 9x {sku()}\n"))
        await loop.poll_until(lambda: len(loop.rep_mail()) == 1)
        emails = loop.emails()
        assert len(emails) == 2 and emails[0].fingerprint == content_fingerprint(original)
        assert emails[1].status == EmailStatus.DRAFTED and emails[1].message_id.startswith("<reused-")
        assert [e.email_id for e in loop.audit("duplicate_ignored")] == [emails[0].id]


async def test_store_message_tells_duplicates_from_reuse_whatever_the_order(tmp_path, clock):
    async with Loop(tmp_path, clock) as loop:
        services = loop.runner.services
        one = order_raw("<x@klant.example>", "Graag 1x\n")
        two = order_raw("<x@klant.example>", "Graag 2x\n")
        outcomes = [
            ingest.store_message(services, FetchedMessage(uid, raw, len(raw)), "INBOX", 9)
            for uid, raw in enumerate([one, two, TRACE.encode() + two, TRACE.encode() + one, two], 1)
        ]
        assert outcomes == ["stored", "stored", "duplicates", "duplicates", "duplicates"]
        with loop.sessions() as session:
            ids = [e.message_id for e in session.query(EmailRecord).order_by(EmailRecord.id)]
        assert ids[0] == "<x@klant.example>" and ids[1] == ingest.reused_message_id(
            "<x@klant.example>", content_fingerprint(two)[:16]
        )
        long_id = "<" + "a" * 2000 + "@klant.example>"
        raw = order_raw(long_id, "Graag 4x\n")
        assert ingest.store_message(services, FetchedMessage(6, raw, len(raw)), "INBOX", 9) == "stored"
        assert max(len(e.message_id) for e in loop.emails()) <= ingest.MESSAGE_ID_LENGTH


# ---- a rep's APPROVE deep in an Outlook thread ------------------------------------------------------


def outlook_reply(summary: EmailMessage, levels: int, tag: str) -> EmailMessage:
    quoted = f"<{tag}>" * levels + "<p>Old thread: REJECT? APPROVE?</p>" + f"</{tag}>" * levels
    html = (
        '<html><body><div class="WordSection1"><p class="MsoNormal">APPROVE</p>'
        '<p class="MsoNormal">Met vriendelijke groet, Rep</p></div><div id="appendonsend"></div>'
        '<hr style="display:inline-block;width:98%"><div id="divRplyFwdMsg" dir="ltr">'
        f"<b>From:</b> {ORDERS}<br><b>Sent:</b> Monday, 2 March 2026 09:00<br>"
        f"<b>Subject:</b> {summary['Subject']}</div>" + quoted + "</body></html>"
    )
    reply = EmailMessage()
    reply["From"] = REP
    reply["To"] = getaddresses([str(summary["Reply-To"])])[0][1]
    reply["Subject"] = "RE: " + str(summary["Subject"])
    reply["Message-ID"] = make_msgid(domain="example.com")
    reply["In-Reply-To"] = reply["References"] = str(summary["Message-ID"])
    reply.set_content(html, subtype="html")
    return reply


@pytest.mark.parametrize("levels, tag", [(600, "div"), (5000, "blockquote")])
async def test_a_reps_approve_in_a_deep_outlook_reply_posts_the_order(tmp_path, clock, levels, tag):
    customer, _ = known_contact()
    async with Loop(tmp_path, clock) as loop:
        await loop.send(order_email(customer, "Bestelling", f"Graag bestellen:\n\n3x {sku()}\n"))
        summary = (await loop.poll_until(loop.rep_mail))[0]
        await loop.send(outlook_reply(summary, levels, tag), sender=REP)
        await loop.poll_until(lambda: loop.drafts()[0].status == DraftStatus.CONFIRMED)
        assert len(loop.erp_orders()) == 1 and loop.audit("processing_error") == []
        await canary(loop)
