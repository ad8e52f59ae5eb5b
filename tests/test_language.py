"""The rep's language and the customer's, through the real loop."""

from __future__ import annotations

import pytest

from mailorder.store.models import DraftStatus
from tests.loop_harness import REP, Loop, catalog, known_contact, order_email

pytestmark = pytest.mark.e2e


async def test_a_dutch_rep_gets_a_dutch_summary_and_akkoord_posts(tmp_path, clock):
    sender, _ = known_contact()
    product = next(p for p in catalog() if p.get("active", True))
    async with Loop(tmp_path, clock, reps=[f"{REP}:nl"]) as loop:
        await loop.send(order_email(sender, "Bestelling", f"Goedemorgen,\n\nGraag 2x {product['sku']}\n"))
        summary = (await loop.poll_until(loop.rep_mail))[0]
        plain = summary.get_body(("plain",)).get_content()
        html = summary.get_body(("html",)).get_content()
        assert "AKKOORD" in plain and "AFGEWEZEN" in plain and "regel 2 aantal 5" in plain
        assert "Beantwoord deze e-mail om te beslissen" in html and "APPROVE" not in html
        await loop.reply(summary, "AKKOORD")
        await loop.poll_until(lambda: loop.drafts()[0].status == DraftStatus.CONFIRMED)
        confirmation = loop.mailbox(sender, sender)[0]
        assert "Bedankt voor uw bestelling" in confirmation.get_body(("plain",)).get_content()


async def test_an_edit_inside_the_quoted_html_block_of_an_outlook_reply_makes_v2(tmp_path, clock):
    """Outlook, OWA, Gmail and phones quote the summary's HTML, not its text part: the order block
    sits there as lines, and a quantity changed inside it is applied like a command."""
    from email.message import EmailMessage
    from email.utils import getaddresses, make_msgid

    sender, _ = known_contact()
    product = next(p for p in catalog() if p.get("active", True))
    async with Loop(tmp_path, clock) as loop:
        await loop.send(order_email(sender, "Bestelling", f"Graag 2x {product['sku']}\n"))
        summary = (await loop.poll_until(loop.rep_mail))[0]
        html = summary.get_body(("html",)).get_content()
        line = f"1 | {product['sku']} | 2 |"
        assert line in html
        edited = html.replace(line, f"1 | {product['sku']} | 7 |")
        reply = EmailMessage()
        reply["From"], reply["To"] = REP, getaddresses([str(summary["Reply-To"])])[0][1]
        reply["Subject"], reply["Message-ID"] = "RE: " + str(summary["Subject"]), make_msgid()
        reply["In-Reply-To"] = reply["References"] = str(summary["Message-ID"])
        quoted = edited.split("<body", 1)[1].split(">", 1)[1].rsplit("</body>", 1)[0]
        reply.set_content(
            '<html><body><div dir="ltr">zie aanpassing in het blok</div>'
            '<div id="divRplyFwdMsg"><b>From:</b> orders@example.com<br><b>Sent:</b> Monday</div>'
            f"{quoted}</body></html>",
            subtype="html",
        )
        await loop.send(reply, sender=REP)
        v2 = (await loop.poll_until(lambda: [m for m in loop.rep_mail() if " v2]" in str(m["Subject"])]))[0]
        assert loop.payload()["lines"][0]["qty"] == 7
        assert "7" in v2.get_body(("plain",)).get_content()
