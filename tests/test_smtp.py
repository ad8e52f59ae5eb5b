"""SmtpSender's connection pool against real aiosmtpd servers on loopback."""

from __future__ import annotations

import asyncio
import itertools
import subprocess
import sys
import threading
import time

import aiosmtplib
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

from mailorder.mail.smtp import SmtpSender
from tests.conftest import ROOT, free_port

FROM, TO, UNKNOWN = "orders@example.com", "rep@example.com", "nobody@example.com"


def message(n: int) -> bytes:
    return f"Subject: message {n}\r\nMessage-ID: <m{n}@example.com>\r\n\r\nbody {n}\r\n".encode()


class Recorder:
    """aiosmtpd handler that keeps a history of (connection number, command) and the messages
    received; `fail_next_mail` makes the next MAIL FROM end its connection ("421" or "drop")."""

    def __init__(self) -> None:
        self.history: list[tuple[int, str]] = []
        self.messages: list[bytes] = []
        self.open: set[int] = set()
        self.max_open = 0
        self.fail_next_mail: str | None = None
        self.drop_in_data = False
        self.close_after_data = False
        self._lock = threading.Lock()

    def record(self, server: SMTP, command: str) -> None:
        with self._lock:
            self.history.append((server.number, command))

    def connections(self) -> set[int]:
        """Connections that talked SMTP (the controller's own readiness probe never does)."""
        return {number for number, command in self.history if command == "EHLO"}

    def commands(self, command: str) -> list[int]:
        return [number for number, c in self.history if c == command]

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.record(server, "EHLO")
        session.host_name = hostname  # what aiosmtpd does itself when there is no EHLO hook
        with self._lock:
            self.open.add(server.number)
            self.max_open = max(self.max_open, len(self.open))
        return responses

    def lost(self, server: SMTP) -> None:
        with self._lock:
            self.open.discard(server.number)

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        self.record(server, "MAIL")
        failure, self.fail_next_mail = self.fail_next_mail, None
        if failure == "drop":
            server.transport.close()
            return "250 OK"  # never arrives
        if failure == "421":
            asyncio.get_running_loop().call_soon(server.transport.close)  # after the reply is written
            return "421 4.4.2 idle too long, closing connection"
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.record(server, "RCPT")
        if address == UNKNOWN:
            return f"550 5.1.1 <{address}>: no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.record(server, "DATA")
        self.messages.append(envelope.original_content)
        if self.drop_in_data:
            server.transport.close()
        elif self.close_after_data:
            asyncio.get_running_loop().call_soon(server.transport.close)
        return "250 OK"

    async def handle_RSET(self, server, session, envelope):
        self.record(server, "RSET")
        return "250 OK"

    async def handle_QUIT(self, server, session, envelope):
        self.record(server, "QUIT")
        return "221 Bye"


class _RecordedSMTP(SMTP):
    def connection_lost(self, error):
        self.event_handler.lost(self)
        super().connection_lost(error)


class RecordingController(Controller):
    def __init__(self, handler: Recorder, port: int) -> None:
        super().__init__(handler, hostname="127.0.0.1", port=port)
        self._numbers = itertools.count(1)

    def factory(self) -> SMTP:
        server = _RecordedSMTP(self.handler, **self.SMTP_kwargs)
        server.number = next(self._numbers)
        return server


@pytest.fixture
def server():
    recorder = Recorder()
    controller = RecordingController(recorder, free_port())
    controller.start()
    recorder.port = controller.port
    yield recorder
    controller.stop()


def delivered(recorder: Recorder) -> list[bytes]:
    return sorted(raw.split(b"\r\n", 1)[0] for raw in recorder.messages)


async def test_concurrent_sends_share_at_most_max_connections(server):
    sender = SmtpSender("127.0.0.1", server.port, max_connections=2)
    await asyncio.gather(*(sender.send(message(n), FROM, [TO]) for n in range(20)))
    assert delivered(server) == sorted(f"Subject: message {n}".encode() for n in range(20))
    assert server.max_open <= 2 and len(server.connections()) <= 2
    await sender.close()


async def test_sequential_sends_reuse_one_connection(server):
    sender = SmtpSender("127.0.0.1", server.port)
    for n in range(5):
        await sender.send(message(n), FROM, [TO])
    assert len(server.messages) == 5 and len(server.connections()) == 1
    await sender.close()


@pytest.mark.parametrize("failure", ["421", "drop"])
async def test_a_pooled_connection_the_server_ended_is_replaced_and_the_message_sent_once(server, failure):
    sender = SmtpSender("127.0.0.1", server.port)
    await sender.send(message(1), FROM, [TO])
    server.fail_next_mail = failure  # the server has given up on the idle connection
    await sender.send(message(2), FROM, [TO])
    assert delivered(server) == [b"Subject: message 1", b"Subject: message 2"]
    assert len(server.connections()) == 2 and len(server.commands("MAIL")) == 3
    await sender.close()


async def test_a_server_closing_after_every_message_costs_a_reconnect_not_a_duplicate(server):
    server.close_after_data = True
    sender = SmtpSender("127.0.0.1", server.port)
    for n in range(3):
        await sender.send(message(n), FROM, [TO])
    assert delivered(server) == [f"Subject: message {n}".encode() for n in range(3)]
    assert len(server.commands("DATA")) == 3 and len(server.connections()) == 3


async def test_a_fresh_connection_failing_is_not_retried(server):
    server.fail_next_mail = "421"
    sender = SmtpSender("127.0.0.1", server.port)
    with pytest.raises(aiosmtplib.SMTPSenderRefused) as refused:
        await sender.send(message(1), FROM, [TO])
    assert refused.value.code == 421 and len(server.commands("MAIL")) == 1 and not server.messages


async def test_a_connection_lost_during_data_is_never_retried(server):
    sender = SmtpSender("127.0.0.1", server.port)
    await sender.send(message(1), FROM, [TO])
    server.drop_in_data = True  # the server has the message but the reply never arrives
    with pytest.raises(aiosmtplib.SMTPServerDisconnected):
        await sender.send(message(2), FROM, [TO])
    assert len(server.commands("DATA")) == 2 and len(server.messages) == 2
    server.drop_in_data = False
    await sender.send(message(3), FROM, [TO])  # on a new connection
    assert len(server.messages) == 3 and len(server.connections()) == 2


async def test_a_refused_recipient_raises_and_the_connection_is_reset_and_reused(server):
    sender = SmtpSender("127.0.0.1", server.port)
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
        await sender.send(message(1), FROM, [UNKNOWN])
    assert server.commands("RSET")
    await sender.send(message(2), FROM, [TO])
    assert delivered(server) == [b"Subject: message 2"] and len(server.connections()) == 1
    await sender.close()


async def test_server_down_fails_at_once():
    sender = SmtpSender("127.0.0.1", free_port(), timeout=5)
    started = time.monotonic()
    with pytest.raises(aiosmtplib.SMTPConnectError):
        await sender.send(message(1), FROM, [TO])
    assert time.monotonic() - started < 2


async def test_a_server_that_never_answers_times_out_after_the_timeout():
    silent = await asyncio.start_server(lambda reader, writer: None, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    sender = SmtpSender("127.0.0.1", port, timeout=0.3)
    started = time.monotonic()
    with pytest.raises(aiosmtplib.SMTPTimeoutError):
        await sender.send(message(1), FROM, [TO])
    assert time.monotonic() - started < 2
    silent.close()


async def test_close_quits_idle_connections(server):
    sender = SmtpSender("127.0.0.1", server.port, max_connections=2)
    await asyncio.gather(*(sender.send(message(n), FROM, [TO]) for n in range(4)))
    await sender.close()
    assert sorted(server.commands("QUIT")) == sorted(server.connections())
    await sender.send(message(5), FROM, [TO])  # a closed sender still works: it reconnects
    assert len(server.messages) == 5
    await sender.close()


async def test_an_idle_connection_older_than_idle_timeout_is_quit_not_reused(server):
    sender = SmtpSender("127.0.0.1", server.port, idle_timeout=0)
    await sender.send(message(1), FROM, [TO])
    await sender.send(message(2), FROM, [TO])
    first, second = sorted(server.connections())
    assert server.commands("QUIT") == [first] and len(server.messages) == 2
    await sender.close()
    assert server.commands("QUIT") == [first, second]


def test_one_sender_used_from_two_event_loops(server):
    sender = SmtpSender("127.0.0.1", server.port)
    asyncio.run(sender.send(message(1), FROM, [TO]))
    asyncio.run(sender.send(message(2), FROM, [TO]))  # the first loop's connection is left behind
    assert len(server.messages) == 2


def test_an_unclosed_sender_exits_quietly(server):
    script = (
        "import asyncio; from mail.smtp import SmtpSender\n"
        f"s = SmtpSender('127.0.0.1', {server.port})\n"
        "asyncio.run(s.send(b'Subject: x\\r\\n\\r\\nx\\r\\n', 'a@example.com', ['b@example.com']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0 and done.stderr == "" and len(server.messages) == 1


async def test_sends_queued_behind_a_hung_server_time_out_too():
    """More sends than connections to a server that accepts and then never answers: the queued
    sends fail after the timeout as well, not one timeout per round of connections."""
    silent = await asyncio.start_server(lambda reader, writer: None, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    sender = SmtpSender("127.0.0.1", port, timeout=0.5, max_connections=2)
    started = time.monotonic()
    results = await asyncio.gather(
        *(sender.send(message(n), FROM, [TO]) for n in range(8)), return_exceptions=True
    )
    elapsed = time.monotonic() - started
    assert all(isinstance(r, aiosmtplib.SMTPTimeoutError) for r in results), results
    assert elapsed < 1.5  # one timeout, not 8 / 2 = 4 of them
    silent.close()


class SlowSink:
    """Accepts every message after `delay` seconds in DATA."""

    def __init__(self, delay: float) -> None:
        self.delay, self.messages = delay, []

    async def handle_DATA(self, server, session, envelope) -> str:
        await asyncio.sleep(self.delay)
        self.messages.append(envelope.content)
        return "250 OK"


async def test_a_slow_server_that_keeps_sending_keeps_its_queue_waiting():
    """12 sends over 2 connections at 0.15 s each take ~0.9 s, longer than the 0.4 s timeout;
    none times out, because messages keep getting through."""
    sink = SlowSink(0.15)
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        sender = SmtpSender("127.0.0.1", controller.port, timeout=0.4, max_connections=2)
        started = time.monotonic()
        await asyncio.gather(*(sender.send(message(n), FROM, [TO]) for n in range(12)))
        assert time.monotonic() - started > 0.4  # the queue did wait longer than the timeout
        assert len(sink.messages) == 12
        await sender.close()
    finally:
        controller.stop()
