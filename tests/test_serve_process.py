"""`mailorder serve` as a real process: configured by environment, killed with SIGKILL, restarted."""

from __future__ import annotations

import httpx
import pytest

from mailorder.mail.devserver import DevMailServer
from mailorder.mail.smtp import SmtpSender
from mailorder.mock_erp.server import ErpServer
from tests.conftest import ROOT, free_port
from tests.loop_harness import ORDERS, PASSWORD, REP, Loop, known_contact, order_email
from tests.serve_process import Serve, serve_env, wait_for

pytestmark = pytest.mark.e2e


async def test_serve_process_survives_sigkill_between_summary_and_reply(tmp_path):
    smtp_port, imap_port = free_port(), free_port()
    sender, _ = known_contact()
    product = __import__("tests.loop_harness", fromlist=["catalog"]).catalog()[0]
    with (
        DevMailServer(
            tmp_path / "mail",
            smtp_port=smtp_port,
            imap_port=imap_port,
            accounts=[ORDERS, REP],
            password=PASSWORD,
        ),
        ErpServer(ROOT / "data", f"sqlite:///{tmp_path / 'erp.db'}", port=free_port()) as erp,
    ):
        env = serve_env(
            imap_port=imap_port,
            smtp_port=smtp_port,
            erp_url=erp.url,
            database=tmp_path / "mo.db",
            reps=REP,
            imap_user=ORDERS,
            imap_password=PASSWORD,
        )
        # a Loop object only for its mailbox helpers (no agent inside)
        helper = Loop(tmp_path, clock=None)
        helper.imap_port, helper.smtp_port, helper.smtp = (
            imap_port,
            smtp_port,
            SmtpSender("127.0.0.1", smtp_port),
        )
        serve = Serve(env, tmp_path / "serve.log")
        serve.start()
        try:
            await helper.send(order_email(sender, "proces test", f"Graag 2x {product['sku']}\n"))
            summary = wait_for(lambda: helper.rep_mail(), what="summary in the rep's inbox")[0]
            serve.kill()
            serve.start()
            await helper.send(_reply(summary))
            try:
                orders = wait_for(
                    lambda: httpx.get(f"{erp.url}/api/orders").json()["items"], what="ERP order"
                )
            except AssertionError:
                import sqlite3

                con = sqlite3.connect(tmp_path / "mo.db")
                print(con.execute("select action, details from audit_events").fetchall())
                print(serve.stop())
                raise
            assert len(orders) == 1 and orders[0]["products"][0]["sku"] == product["sku"]
            wait_for(lambda: helper.mailbox(sender, sender), what="customer confirmation")
        finally:
            output = serve.stop()
        assert "Traceback" not in output, output


def _reply(summary):
    from email.message import EmailMessage
    from email.utils import getaddresses, make_msgid

    reply = EmailMessage()
    reply["From"] = REP
    reply["To"] = getaddresses([str(summary["Reply-To"])])[0][1]
    reply["Subject"] = "Re: " + str(summary["Subject"])
    reply["Message-ID"] = make_msgid(domain="example.com")
    reply["In-Reply-To"] = str(summary["Message-ID"])
    reply.set_content("APPROVE\n\n-- \nRep")
    return reply
