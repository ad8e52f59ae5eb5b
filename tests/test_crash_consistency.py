"""Crash consistency: `mailorder serve` dies hard (exit 137) at every step boundary, is restarted
without the crash point, and the loop still ends with every email in a final state, exactly one
ERP order, a confirmed draft and one confirmation (or an identical re-send where unavoidable).

The ten scenarios run concurrently (each its own accounts on one dev mail server, its own mock ERP
and database) in a module fixture; the parametrized tests assert on each scenario's outcome."""

from __future__ import annotations

import json
import smtplib
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses, make_msgid
from pathlib import Path

import httpx
import pytest

from mailorder.agent.crashpoints import POINTS
from mailorder.mail.devserver import DevMailServer
from mailorder.mail.imap import ImapInbox
from mailorder.mock_erp.server import ErpServer
from tests.conftest import ROOT, free_port
from tests.loop_harness import PASSWORD, catalog, known_contact, order_email
from tests.serve_process import Serve, serve_env, wait_for

pytestmark = pytest.mark.e2e

CRASHED = 137
WAIT_S = 90.0  # ten agents start at once on two cores: a start can take 30 s under load
# a crash between the SMTP send and its bookkeeping re-sends the same message after the restart
RESEND_POINTS = {"after_send:summary": "summary", "after_send:confirmation": "confirmation"}
FINAL_EMAIL_STATES = {"not_order", "drafted", "reply", "ignored", "failed"}


def accounts(index: int) -> tuple[str, str]:
    """(orders inbox, rep) of one scenario: its own mail domain, so Message-IDs never collide."""
    domain = f"p{index}.example.com"
    return f"orders@{domain}", f"rep@{domain}"


@dataclass
class Outcome:
    point: str
    exit_codes: list[int] = field(default_factory=list)
    order_message_id: str = ""
    reply_message_id: str = ""
    summaries: list[str] = field(default_factory=list)  # Message-IDs in the rep's inbox
    confirmations: list[str] = field(default_factory=list)  # Message-IDs in the customer's inbox
    erp_orders: list[dict] = field(default_factory=list)
    inbox_ids: list[str] = field(default_factory=list)  # Message-IDs in the orders inbox
    emails: dict[str, str] = field(default_factory=dict)  # message_id -> status
    drafts: list[tuple[int, str]] = field(default_factory=list)
    outbox: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, message_id, status)
    audit: list[str] = field(default_factory=list)
    posted: list[dict] = field(default_factory=list)  # details of the "posted" audit rows
    log: str = ""


def mailbox(port: int, account: str, password: str) -> list[EmailMessage]:
    inbox = ImapInbox("127.0.0.1", port, account, password)
    try:
        result = inbox.fetch_new(0, None, max_bytes=100_000_000, batch=10_000)
    finally:
        inbox.close()
    return [message_from_bytes(m.raw, policy=policy.default) for m in result.messages]


class Scenario:
    """One crash point: order → summary → APPROVE → ERP → confirmation, with one hard crash."""

    def __init__(self, point: str, index: int, mail: DevMailServer, tmp: Path) -> None:
        self.point, self.mail, self.tmp = point, mail, tmp
        self.orders, self.rep = accounts(index)
        self.customer, _ = known_contact()
        self.outcome = Outcome(point)
        self.subject = f"Bestelling crash {index}"

    def run(self) -> Outcome:
        self.tmp.mkdir(parents=True, exist_ok=True)
        with ErpServer(ROOT / "data", f"sqlite:///{self.tmp / 'erp.db'}", port=free_port()) as erp:
            self.erp = erp
            env = serve_env(
                imap_port=self.mail.imap_port,
                smtp_port=self.mail.smtp_port,
                erp_url=erp.url,
                database=self.tmp / "mo.db",
                reps=self.rep,
                imap_user=self.orders,
                imap_password=PASSWORD,
                poll_seconds=0.2,
            )
            self.serve = Serve(env, self.tmp / "serve.log").start(MAILORDER_CRASH_AT=self.point)
            try:
                self._drive()
            finally:
                self.serve.stop()
                self._collect()
        return self.outcome

    # --- the loop ------------------------------------------------------------------------------
    def _drive(self) -> None:
        sku = catalog()[0]["sku"]
        order = order_email(
            self.customer, self.subject, f"Graag 3x {sku}\n", message_id=make_msgid(domain="c.example")
        )
        self.outcome.order_message_id = str(order["Message-ID"])
        self._smtp(order, self.customer, [self.orders])
        summary = self._wait(lambda: self._mail_of(self.rep, PASSWORD, "summary"), "summary to the rep")[0]
        reply = EmailMessage()
        reply["From"] = self.rep
        reply["To"] = getaddresses([str(summary["Reply-To"])])[0][1]
        reply["Subject"] = "Re: " + str(summary["Subject"])
        reply["Message-ID"] = make_msgid(domain=self.rep.split("@")[1])
        reply["In-Reply-To"] = str(summary["Message-ID"])
        reply.set_content("APPROVE\n\n-- \nRep")
        self.outcome.reply_message_id = str(reply["Message-ID"])
        self._smtp(reply, self.rep, [str(reply["To"])])
        self._wait(
            lambda: self._mail_of(self.customer, self.customer, "confirmation"), "customer confirmation"
        )
        self._wait(lambda: self._draft_states() == ["confirmed"] and self._no_pending(), "draft confirmed")

    def _wait(self, condition, what: str):
        """wait_for that restarts the agent (once, without the crash point) when it has died."""

        def step():
            if self.serve.exited():
                self.outcome.exit_codes.append(self.serve.returncode)
                if len(self.outcome.exit_codes) > 1:
                    raise AssertionError(f"agent died again: {self.outcome.exit_codes}")
                self.serve.start(MAILORDER_CRASH_AT=None)
            try:
                return condition()
            except (OSError, sqlite3.Error, httpx.HTTPError):
                return None  # database/table not yet created, server busy

        return wait_for(step, timeout=WAIT_S, what=f"{self.point}: {what}", interval=0.15)

    # --- observations --------------------------------------------------------------------------
    def _smtp(self, message: EmailMessage, sender: str, rcpt: list[str]) -> None:
        with smtplib.SMTP("127.0.0.1", self.mail.smtp_port, timeout=10) as smtp:
            smtp.sendmail(sender, rcpt, message.as_bytes(policy=policy.SMTP))

    def _mail_of(self, account: str, password: str, kind: str) -> list[EmailMessage]:
        return [
            m
            for m in mailbox(self.mail.imap_port, account, password)
            if str(m["Message-ID"]).startswith(f"<mo.{kind}.")
            and str(m["Message-ID"]).endswith(f"@{self.orders.split('@')[1]}>")
        ]

    def _db(self, sql: str) -> list[tuple]:
        with sqlite3.connect(f"file:{self.tmp / 'mo.db'}?mode=ro", uri=True, timeout=5) as con:
            return con.execute(sql).fetchall()

    def _draft_states(self) -> list[str]:
        return [status for (status,) in self._db("select status from drafts order by id")]

    def _no_pending(self) -> bool:
        return not self._db("select id from outbox where status = 'pending'")

    def _collect(self) -> None:
        o = self.outcome
        o.log = self.serve.output()
        try:
            o.summaries = [str(m["Message-ID"]) for m in self._mail_of(self.rep, PASSWORD, "summary")]
            o.confirmations = [
                str(m["Message-ID"]) for m in self._mail_of(self.customer, self.customer, "confirmation")
            ]
            o.inbox_ids = [str(m["Message-ID"]) for m in mailbox(self.mail.imap_port, self.orders, PASSWORD)]
            o.erp_orders = httpx.get(f"{self.erp.url}/api/orders", params={"limit": 1000}).json()["items"]
            o.emails = dict(self._db("select message_id, status from emails"))
            o.drafts = self._db("select id, status from drafts order by id")
            o.outbox = self._db("select kind, message_id, status from outbox order by id")
            o.audit = [a for (a,) in self._db("select action from audit_events order by id")]
            o.posted = [
                json.loads(d) for (d,) in self._db("select details from audit_events where action = 'posted'")
            ]
        except Exception as exc:  # noqa: BLE001 - reported by the assertions
            o.log += f"\ncollect failed: {exc!r}"


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> dict[str, Outcome | BaseException]:
    tmp = tmp_path_factory.mktemp("crash")
    mail = DevMailServer(
        tmp / "mail",
        smtp_port=free_port(),
        imap_port=free_port(),
        accounts=[a for i in range(len(POINTS)) for a in accounts(i)],
        password=PASSWORD,
    )
    with mail:
        scenarios = [Scenario(p, i, mail, tmp / f"s{i}") for i, p in enumerate(POINTS)]
        with ThreadPoolExecutor(max_workers=len(scenarios)) as pool:
            futures = {s.point: pool.submit(s.run) for s in scenarios}
        results: dict[str, Outcome | BaseException] = {}
        for point, future in futures.items():
            try:
                results[point] = future.result()
            except BaseException as exc:  # noqa: BLE001 - shown by the test of that point
                results[point] = exc
        return results


@pytest.mark.parametrize("point", POINTS)
def test_crash_at_every_step_boundary_recovers(outcomes, point):
    o = outcomes[point]
    if isinstance(o, BaseException):
        raise o
    context = f"{point}\n{o.log[-4000:]}"
    # the crash happened (exactly once) and the restarted agent ran to the end
    assert o.exit_codes == [CRASHED], context
    # no email lost: every message in the orders inbox has a row, in a final state
    assert set(o.inbox_ids) == {o.order_message_id, o.reply_message_id}, context
    assert set(o.emails) == set(o.inbox_ids), context
    assert set(o.emails.values()) <= FINAL_EMAIL_STATES, (o.emails, context)
    assert o.emails[o.order_message_id] == "drafted" and o.emails[o.reply_message_id] == "reply"
    # exactly one ERP order for the one approved draft, and the draft is confirmed
    assert len(o.erp_orders) == 1, (o.erp_orders, context)
    assert [status for _, status in o.drafts] == ["confirmed"], (o.drafts, context)
    assert all(status == "sent" for _, _, status in o.outbox), (o.outbox, context)
    # one summary and one confirmation; a re-send after a crash between SMTP and bookkeeping
    # carries the same Message-ID (the receiver can drop it), and only at those points
    for kind, received in (("summary", o.summaries), ("confirmation", o.confirmations)):
        assert len(set(received)) == 1, (kind, received, context)
        if RESEND_POINTS.get(point) == kind:
            assert len(received) == 2, (kind, received, context)
        else:
            assert len(received) == 1, (kind, received, context)
    assert o.audit.count("posted") == 1 and o.audit.count("confirmation_sent") == 1, (o.audit, context)
    # a crash between the ERP's answer and its bookkeeping: the re-POST (same key) is a replay
    assert o.posted[0]["replayed"] is (point == "after_erp_post"), (o.posted, context)
