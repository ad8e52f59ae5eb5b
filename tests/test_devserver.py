"""Dev mail server over real loopback sockets: smtplib in, imapclient out."""

from __future__ import annotations

import email
import os
import select
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.policy import default as default_policy
from pathlib import Path

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from mailorder.mail.devserver import DevMailServer

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def make_message(
    to: str, subject: str = "Bestelling", body: str = "10x artikel 123", sender: str = "klant@customer.test"
) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg.set_content(body)
    return msg.as_bytes(policy=SMTP_POLICY)


def send(
    server: DevMailServer, recipients: list[str], raw: bytes, sender: str = "klant@customer.test"
) -> None:
    with smtplib.SMTP(HOST, server.smtp_port, timeout=10) as smtp:
        smtp.sendmail(sender, recipients, raw)


def imap(server: DevMailServer, user: str, password: str) -> IMAPClient:
    client = IMAPClient(HOST, port=server.imap_port, ssl=False, timeout=10)
    try:
        client.login(user, password)
    except BaseException:
        client.shutdown()
        raise
    return client


def fetch_all(client: IMAPClient) -> dict[int, email.message.Message]:
    uids = client.search("ALL")
    data = client.fetch(uids, ["RFC822"]) if uids else {}
    return {uid: email.message_from_bytes(d[b"RFC822"], policy=default_policy) for uid, d in data.items()}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[DevMailServer]:
    with DevMailServer(tmp_path / "mail", smtp_port=free_port(), imap_port=free_port()) as srv:
        yield srv


def test_delivery_to_inbox_visible_at_once(server: DevMailServer) -> None:
    started = time.perf_counter()
    send(server, ["orders@example.com"], make_message("orders@example.com", "PO 4711"))
    with imap(server, "orders@example.com", "dev") as client:
        selected = client.select_folder("INBOX")
        uids = client.search("ALL")
        elapsed = time.perf_counter() - started
        assert selected[b"UIDVALIDITY"] > 0
        assert len(uids) == 1
        data = client.fetch(uids, ["RFC822", "FLAGS"])[uids[0]]
    msg = email.message_from_bytes(data[b"RFC822"], policy=default_policy)
    assert msg["Subject"] == "PO 4711"
    assert msg["Delivered-To"] == "orders@example.com"
    assert b"\\Seen" in data[b"FLAGS"]  # RFC822 fetch sets \Seen
    assert elapsed < 2.0


def test_auto_account_login_with_address_as_password(server: DevMailServer) -> None:
    send(server, ["New.Customer@Example.org"], make_message("new.customer@example.org"))
    with imap(server, "New.Customer@example.org", "New.Customer@Example.org") as client:
        client.select_folder("INBOX")
        assert len(client.search("ALL")) == 1
    # first LOGIN with password == address creates an empty account
    with imap(server, "nobody-yet@example.org", "nobody-yet@example.org") as client:
        assert client.select_folder("INBOX")[b"EXISTS"] == 0
    assert "nobody-yet@example.org" in server.accounts()


def test_plus_address_lands_in_base_account_with_delivered_to(server: DevMailServer) -> None:
    raw = make_message("Orders <orders@example.com>", "Re: order")  # To differs from RCPT
    send(server, ["orders+r-abc123.v2@example.com"], raw, sender="rep@example.com")
    with imap(server, "orders@example.com", "dev") as client:
        client.select_folder("INBOX")
        [msg] = fetch_all(client).values()
    assert msg["Delivered-To"] == "orders+r-abc123.v2@example.com"
    assert msg["X-Original-To"] == "orders+r-abc123.v2@example.com"
    assert msg["To"] == "Orders <orders@example.com>"
    assert "orders+r-abc123.v2@example.com" not in server.accounts()


def test_each_recipient_gets_a_copy(server: DevMailServer) -> None:
    send(
        server,
        ["orders@example.com", "rep@example.com", "orders+x@example.com"],
        make_message("orders@example.com"),
    )
    with imap(server, "orders@example.com", "dev") as client:
        client.select_folder("INBOX")
        delivered_to = sorted(m["Delivered-To"] for m in fetch_all(client).values())
    assert delivered_to == ["orders+x@example.com", "orders@example.com"]
    with imap(server, "rep@example.com", "dev") as client:
        client.select_folder("INBOX")
        assert len(client.search("ALL")) == 1


def test_without_auto_accounts_unknown_recipient_gets_550(tmp_path: Path) -> None:
    with DevMailServer(
        tmp_path, smtp_port=0, imap_port=0, auto_accounts=False, accounts=["sales@example.com"]
    ) as srv:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            send(srv, ["stranger@example.com"], make_message("stranger@example.com"))
        assert refused.value.recipients["stranger@example.com"][0] == 550
        send(srv, ["sales@example.com", "orders+t@example.com"], make_message("sales@example.com"))
        for user in ("sales@example.com", "orders@example.com"):
            with imap(srv, user, "dev") as client:
                client.select_folder("INBOX")
                assert len(client.search("ALL")) == 1
        with pytest.raises(LoginError):
            imap(srv, "stranger@example.com", "stranger@example.com")
        assert srv.smtp_port != 0 and srv.imap_port != 0


def test_wrong_password_is_refused(server: DevMailServer) -> None:
    with pytest.raises(LoginError):
        imap(server, "orders@example.com", "wrong")
    with pytest.raises(LoginError):  # auto account must not override an existing password
        imap(server, "orders@example.com", "orders@example.com")


def test_login_is_case_insensitive_and_authenticate_plain_works(server: DevMailServer) -> None:
    with imap(server, "ORDERS@Example.com", "dev") as client:
        assert client.select_folder("INBOX")[b"EXISTS"] == 0
    client = IMAPClient(HOST, port=server.imap_port, ssl=False, timeout=10)
    try:
        client.plain_login("rep@example.com", "dev")
        assert client.select_folder("INBOX")[b"EXISTS"] == 0
    finally:
        client.logout()


def test_explicit_accounts_and_add_account(tmp_path: Path) -> None:
    with DevMailServer(
        tmp_path, smtp_port=0, imap_port=0, accounts=["a@shop.test"], password="s3cret", auto_accounts=False
    ) as srv:
        imap(srv, "a@shop.test", "s3cret").logout()
        imap(srv, "orders@example.com", "s3cret").logout()
        srv.add_account("Late@Shop.test", "pw")
        send(srv, ["late@shop.test"], make_message("late@shop.test"))
        with imap(srv, "late@shop.test", "pw") as client:
            client.select_folder("INBOX")
            assert len(client.search("ALL")) == 1


def test_smtp_auth_is_accepted_and_ignored(server: DevMailServer) -> None:
    with smtplib.SMTP(HOST, server.smtp_port, timeout=10) as smtp:
        smtp.login("rep@example.com", "anything")
        smtp.sendmail("rep@example.com", ["orders@example.com"], make_message("orders@example.com"))
    with imap(server, "orders@example.com", "dev") as client:
        client.select_folder("INBOX")
        assert len(client.search("ALL")) == 1


def test_restart_with_same_data_dir_keeps_mail(tmp_path: Path) -> None:
    ports = {"smtp_port": free_port(), "imap_port": free_port()}
    with DevMailServer(tmp_path, **ports) as srv:
        send(srv, ["orders@example.com"], make_message("orders@example.com", "before restart"))
        with imap(srv, "orders@example.com", "dev") as client:
            validity = client.select_folder("INBOX")[b"UIDVALIDITY"]
    with DevMailServer(tmp_path, **ports) as srv:
        send(srv, ["orders@example.com"], make_message("orders@example.com", "after restart"))
        with imap(srv, "orders@example.com", "dev") as client:
            assert client.select_folder("INBOX")[b"UIDVALIDITY"] == validity
            subjects = [m["Subject"] for _, m in sorted(fetch_all(client).items())]
    assert subjects == ["before restart", "after restart"]


def test_agent_imap_operations(server: DevMailServer) -> None:
    for n in range(3):
        send(server, ["orders@example.com"], make_message("orders@example.com", f"mail {n}"))
    with imap(server, "orders@example.com", "dev") as client:
        client.select_folder("INBOX")
        uids = client.search("ALL")
        assert len(uids) == 3
        peek = client.fetch(uids[:1], ["BODY.PEEK[]", "FLAGS"])[uids[0]]
        assert b"\\Seen" not in peek[b"FLAGS"]
        client.add_flags(uids[:1], [b"\\Seen"])
        assert client.search(["UNSEEN"]) == uids[1:]
        client.create_folder("mailorder/failed")
        assert any(name == "mailorder/failed" for _, _, name in client.list_folders())
        client.move(uids[1:2], "mailorder/failed")  # UID MOVE
        client.copy(uids[2:3], "mailorder/failed")  # COPY + \Deleted + EXPUNGE
        client.delete_messages(uids[2:3])
        client.expunge()
        client.noop()
        assert client.search("ALL") == uids[:1]
        client.select_folder("mailorder/failed")
        subjects = sorted(m["Subject"] for m in fetch_all(client).values())
    assert subjects == ["mail 1", "mail 2"]


def test_noop_and_idle_see_new_mail(server: DevMailServer) -> None:
    with imap(server, "orders@example.com", "dev") as watcher:
        watcher.select_folder("INBOX")
        send(server, ["orders@example.com"], make_message("orders@example.com", "first"))
        watcher.noop()
        assert len(watcher.search("ALL")) == 1

        watcher.idle()
        started = time.perf_counter()
        sender = threading.Thread(
            target=send,
            args=(server, ["orders+idle@example.com"], make_message("orders@example.com", "idle")),
        )
        sender.start()
        readable, _, _ = select.select([watcher.socket()], [], [], 10)
        idle_latency = time.perf_counter() - started
        responses = watcher.idle_done()[1]
        sender.join()
        assert readable, "IDLE got no update within 10 s"
        assert any(b"EXISTS" in resp for resp in responses)
        assert idle_latency < 0.5  # woken by the delivery, not by pymap's 1 s poll
        assert len(watcher.search("ALL")) == 2


def test_8bit_body_and_20mb_message(server: DevMailServer) -> None:
    eight_bit = (
        "Subject: Bestelling\r\nFrom: klant@customer.test\r\nTo: orders@example.com\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
        "Graag 5 stuks à € 12,50 — café crème, Größe XL\r\n"
    ).encode()
    big = EmailMessage()
    big["From"], big["To"], big["Subject"] = "klant@customer.test", "orders@example.com", "big"
    big.set_content("zie bijlage")
    payload = bytes(range(256)) * (15 * 1024 * 1024 // 256)  # 15 MB -> ~20 MB base64
    big.add_attachment(payload, maintype="application", subtype="octet-stream", filename="scan.bin")
    big_raw = big.as_bytes(policy=SMTP_POLICY)
    assert len(big_raw) > 19 * 1024 * 1024
    with smtplib.SMTP(HOST, server.smtp_port, timeout=60) as smtp:
        smtp.sendmail("klant@customer.test", ["orders@example.com"], eight_bit)
        smtp.sendmail("klant@customer.test", ["orders@example.com"], big_raw)
    with imap(server, "orders@example.com", "dev") as client:
        client.select_folder("INBOX")
        uids = client.search("ALL")
        fetched = client.fetch(uids, ["RFC822", "RFC822.SIZE"])
    small, large = (fetched[uid][b"RFC822"] for uid in uids)
    prepended = (
        b"Return-Path: <klant@customer.test>\r\n"
        b"Delivered-To: orders@example.com\r\nX-Original-To: orders@example.com\r\n"
    )
    assert small == prepended + eight_bit  # byte for byte, CRLF kept
    assert large == prepended + big_raw
    assert fetched[uids[1]][b"RFC822.SIZE"] == len(large)
    assert (
        email.message_from_bytes(small, policy=default_policy).get_content().strip()
        == "Graag 5 stuks à € 12,50 — café crème, Größe XL"
    )
    attachment = next(email.message_from_bytes(large, policy=default_policy).iter_attachments())
    assert attachment.get_content() == payload


def test_stop_releases_ports_and_threads(tmp_path: Path) -> None:
    before = {t.ident for t in threading.enumerate()}
    srv = DevMailServer(tmp_path, smtp_port=0, imap_port=0).start()
    smtp_port, imap_port = srv.smtp_port, srv.imap_port
    idle_client = imap(srv, "orders@example.com", "dev")  # left open, IDLE-ing, on purpose
    idle_client.select_folder("INBOX")
    idle_client.idle()
    srv.stop()
    srv.stop()  # idempotent
    assert {t.ident for t in threading.enumerate()} <= before
    for port in (smtp_port, imap_port):
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((HOST, port))  # nobody listens there any more
    idle_client.socket().close()


def test_start_fails_cleanly_when_port_is_taken(tmp_path: Path) -> None:
    before = {t.ident for t in threading.enumerate()}
    with socket.socket() as taken:
        taken.bind((HOST, 0))
        taken.listen()
        srv = DevMailServer(tmp_path, smtp_port=taken.getsockname()[1], imap_port=0)
        with pytest.raises(OSError):
            srv.start()
    assert not srv.running
    assert {t.ident for t in threading.enumerate()} <= before


def test_run_mailserver_in_foreground_stops_on_ctrl_c(tmp_path: Path) -> None:
    smtp_port, imap_port = free_port(), free_port()
    code = (
        "import logging, sys; from pathlib import Path; "
        "logging.basicConfig(level=logging.INFO, stream=sys.stdout); "
        "from mail.devserver import run_mailserver; "
        f"run_mailserver(Path({str(tmp_path)!r}), smtp_port={smtp_port}, "
        f"imap_port={imap_port}, accounts=['x@shop.test'], auto_accounts=False)"
    )
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # wait for the readiness log line, no sleeps
            if "ready; Ctrl-C to stop" in line:
                break
        else:
            pytest.fail("mail server exited before it was ready")
        with IMAPClient(HOST, port=imap_port, ssl=False, timeout=10) as client:
            client.login("x@shop.test", "dev")
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=15)
        assert proc.returncode == 0, rest
        assert "dev mail server stopped" in rest
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_delivery_headers_follow_the_message_line_endings() -> None:
    from mailorder.mail.devserver_smtp import with_delivery_headers

    assert with_delivery_headers(b"Subject: a\r\n\r\nb\r\n", "<x+t@y.z>", "s@a.b") == (
        b"Return-Path: <s@a.b>\r\nDelivered-To: x+t@y.z\r\nX-Original-To: x+t@y.z\r\nSubject: a\r\n\r\nb\r\n"
    )
    assert with_delivery_headers(b"Subject: a\n\nb\n", "x@y.z", "").startswith(
        b"Return-Path: <>\nDelivered-To: x@y.z\nX-Original-To: x@y.z\nSubject: a\n"
    )


def test_imap_append_keeps_bytes_and_flags(server: DevMailServer) -> None:
    raw = "Subject: Verzonden\r\nX-Long: " + "woord " * 40 + "\r\n\r\nGrüße\r\n"
    with imap(server, "rep@example.com", "dev") as client:
        client.create_folder("Sent")
        client.append("Sent", raw.encode(), flags=[b"\\Seen"])  # Thunderbird saving a sent mail
        client.select_folder("Sent")
        data = client.fetch(client.search("ALL"), ["BODY.PEEK[]", "FLAGS"])
    [(_, item)] = data.items()
    assert item[b"BODY[]"] == raw.encode()
    assert b"\\Seen" in item[b"FLAGS"]


def test_start_removes_stale_locks_left_by_a_killed_server(tmp_path: Path) -> None:
    with DevMailServer(tmp_path, smtp_port=0, imap_port=0) as srv:
        send(srv, ["orders@example.com"], make_message("orders@example.com"))
    (tmp_path / "pymap-etc-passwd.lock").touch()
    (tmp_path / "orders@example.com" / "dovecot-uidlist.lock").touch()
    with (
        DevMailServer(tmp_path, smtp_port=0, imap_port=0) as srv,
        imap(srv, "orders@example.com", "dev") as client,
    ):
        assert client.select_folder("INBOX")[b"EXISTS"] == 1


def deeply_nested(
    levels: int, leaf: bytes = b"Content-Type: text/plain\r\n\r\nGraag 3x 02-0001-1049"
) -> bytes:
    body = leaf
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
    return b"From: a@klant.example\r\nSubject: diep\r\nMessage-ID: <diep@klant.example>\r\n" + body


@pytest.mark.parametrize("levels", [350, 1000, 3000])
def test_a_deeply_nested_message_is_served_byte_for_byte(server: DevMailServer, levels: int) -> None:
    """pymap parses a message into a MIME tree for FETCH, recursively: a few hundred nested
    multiparts used to raise RecursionError there and drop the connection."""
    deep = deeply_nested(levels)
    attached = b"Content-Type: text/plain\r\n\r\nGraag\r\n"
    for level in range(1000):  # and a forward of a forward of ... (message/rfc822)
        attached = b"From: x%d@a.example\r\nContent-Type: message/rfc822\r\n\r\n" % level + attached
    with imap(server, "orders@example.com", "dev") as client:
        for raw in (deep, attached, make_message("orders@example.com")):
            client.append("INBOX", raw)
        client.select_folder("INBOX")
        uids = client.search("ALL")
        data = client.fetch(uids, ["BODY.PEEK[]", "RFC822.SIZE", "BODYSTRUCTURE", "ENVELOPE"])
        assert client.noop()  # the connection survived
    assert [data[u][b"BODY[]"] for u in uids[:2]] == [deep, attached]
    assert [data[u][b"RFC822.SIZE"] for u in uids[:2]] == [len(deep), len(attached)]
    assert data[uids[2]][b"BODY[]"] == make_message("orders@example.com")


def test_a_deeply_nested_message_delivered_over_smtp_reaches_the_agent(server: DevMailServer) -> None:
    from mailorder.mail.imap import ImapInbox

    deep = deeply_nested(1000)
    send(server, ["orders@example.com"], deep)
    send(server, ["orders@example.com"], make_message("orders@example.com", "PO 4712"))
    inbox = ImapInbox(HOST, server.imap_port, "orders@example.com", "dev")
    try:
        result = inbox.fetch_new(0, None, max_bytes=10_000_000)
    finally:
        inbox.close()
    assert result.failures == [] and len(result.messages) == 2
    assert result.messages[0].raw.endswith(deep)  # after the Delivered-To/X-Original-To lines
