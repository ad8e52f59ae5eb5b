"""An email larger than one draft: 60,000 order lines (1 MB) must not become a 60,000-line draft,
a 77 MB summary or a wedged inbox. It is drafted up to the cap, cannot post, and the rep is told."""

from __future__ import annotations

import pytest

from mailorder.agent.workflow.pipeline import MAX_BODY_LINES, MAX_DRAFT_LINES
from mailorder.store.models import DraftStatus
from tests.loop_harness import Loop, catalog, known_contact, order_email

pytestmark = pytest.mark.e2e


async def test_sixty_thousand_lines_are_capped_summarised_and_cannot_post(tmp_path, clock):
    sender, _ = known_contact()
    products = [p for p in catalog() if p.get("active", True)]
    lines = "\n".join(f"{i % 7 + 1}x {products[i % len(products)]['sku']}" for i in range(60_000))
    async with Loop(tmp_path, clock) as loop:
        await loop.send(order_email(sender, "Jaarbestelling", "Graag bestellen:\n" + lines))
        summary = (await loop.poll_until(loop.rep_mail, timeout=60))[0]
        assert len(summary.as_bytes()) < 1_000_000
        payload = loop.payload()
        assert len(payload["lines"]) == MAX_DRAFT_LINES
        messages = [i["message"] for i in payload["issues"] if i["code"] == "too_long"]
        assert any(f"first {MAX_BODY_LINES} of" in m for m in messages)
        assert all(i["blocking"] for i in payload["issues"] if i["code"] == "too_long")
        await loop.reply(summary, "APPROVE")
        await loop.poll_until(lambda: loop.audit("reply_refused"))
        assert loop.erp_orders() == [] and loop.drafts()[0].status == DraftStatus.AWAITING_REVIEW

        await loop.send(order_email(sender, "Bestelling", f"Graag 2x {products[0]['sku']}\n"))  # the canary
        await loop.poll_until(lambda: len(loop.rep_mail()) == 2)
