"""Stock on the draft, black-box over the real loop (dev mail server, mock ERP on uvicorn, the agent):
the summary flags a line above what is available, APPROVE still posts it, a posted order takes
its stock, and an ERP whose inventory fails gives a draft that says "stock unknown" and is
otherwise the same."""

from __future__ import annotations

import re

import httpx
import pytest

from mailorder.store.models import DraftStatus
from tests.loop_harness import Loop, catalog, known_contact, order_email

pytestmark = pytest.mark.e2e

FAST_ERP = dict(erp_attempts=2, erp_backoff=0.01)
STOCK_CODES = {"stock_short", "stock_unknown"}


def products() -> tuple[dict, dict]:
    """A sheet product (counted in plaat) and a roll product (counted in rol), both orderable."""
    active = [p for p in catalog() if p.get("active", True)]
    sheet = next(p for p in active if p["base_unit"] == "plaat")
    roll = next(p for p in active if p["base_unit"] == "rol")
    return sheet, roll


def body(*skus: str) -> str:
    lines = "\n".join(f"5x {sku}" for sku in skus)
    return f"Goedemorgen,\n\nGraag bestellen:\n\n{lines}\n\nMet vriendelijke groet,\nJan\n"


def stock_of(loop: Loop, sku: str) -> float:
    response = httpx.get(f"{loop.erp.url}/api/inventory/{sku}")
    response.raise_for_status()
    return response.json()["available"]


def set_stock(loop: Loop, sku: str, available: float) -> None:
    httpx.put(f"{loop.erp.url}/api/inventory/{sku}", json={"available": available}).raise_for_status()


def parts(summary) -> tuple[str, str]:
    return summary.get_body(("plain",)).get_content(), summary.get_body(("html",)).get_content()


async def test_the_summary_flags_short_stock_approve_still_posts_and_stock_goes_down(tmp_path, clock):
    sender, _ = known_contact()
    sheet, roll = products()
    async with Loop(tmp_path, clock) as loop:
        set_stock(loop, sheet["sku"], 1)
        set_stock(loop, roll["sku"], 500)
        await loop.send(order_email(sender, "Bestelling", body(sheet["sku"], roll["sku"])))
        summary = (await loop.poll_until(loop.rep_mail))[0]
        plain, html = parts(summary)
        assert re.search(r"\n   5 \w+ \[only 1 \w+ in stock\] x ", plain), plain
        assert re.search(r"\n   5 rol \[in stock: 500 rol\] x ", plain), plain
        assert re.search(r"line 1: only 1 \w+ in stock \(ordered 5 \w+\)", plain), plain
        assert re.search(r'<span style="font-size:11px;color:#cf222e;">only 1 \w+ in stock</span>', html)
        assert '<span style="font-size:11px;color:#1a7f37;">in stock: 500 rol</span>' in html

        payload = loop.payload()
        assert [ln["sku"] for ln in payload["lines"]] == [sheet["sku"], roll["sku"]]
        assert [ln["available"] for ln in payload["lines"]] == [1, 500]
        [short] = [i for i in payload["issues"] if i["code"] in STOCK_CODES]
        assert (short["code"], short["line"], short["blocking"]) == ("stock_short", 1, False)

        await loop.reply(summary, "APPROVE")  # the rep's call: approving short stock posts
        await loop.poll_until(lambda: loop.drafts()[0].status == DraftStatus.CONFIRMED)
        [order] = loop.erp_orders()
        assert [(p["sku"], p["quantity"]) for p in order["products"]] == [(sheet["sku"], 5), (roll["sku"], 5)]
        assert stock_of(loop, sheet["sku"]) == 0  # 5 ordered, 1 there: nothing left (the rest is backorder)
        assert stock_of(loop, roll["sku"]) == 500 - payload["lines"][1]["base_qty"] == 495


async def test_inventory_down_says_stock_unknown_and_the_draft_is_otherwise_the_same(tmp_path, clock):
    sender, _ = known_contact()
    sheet, roll = products()
    async with Loop(tmp_path, clock, **FAST_ERP) as loop:
        loop.set_erp_faults(inventory_status=503)
        await loop.send(order_email(sender, "Bestelling", body(sheet["sku"], roll["sku"])))
        summary = (await loop.poll_until(loop.rep_mail))[0]
        plain, html = parts(summary)
        assert plain.count("[stock unknown]") == 2 and "- stock unknown: the ERP did not answer" in plain
        assert html.count(">stock unknown</span>") == 2 and "stock unknown: the ERP did not answer" in html
        down = loop.payload(0)
        assert [ln["available"] for ln in down["lines"]] == [None, None]
        [note] = [i for i in down["issues"] if i["code"] in STOCK_CODES]
        assert (note["code"], note["line"], note["blocking"]) == ("stock_unknown", None, False)

        await loop.reply(summary, "APPROVE")  # stock unknown never blocks
        await loop.poll_until(lambda: loop.drafts()[0].status == DraftStatus.CONFIRMED)
        assert len(loop.erp_orders()) == 1

        httpx.delete(f"{loop.erp.url}/_faults").raise_for_status()
        await loop.send(order_email(sender, "Bestelling", body(sheet["sku"], roll["sku"])))
        await loop.poll_until(lambda: len(loop.rep_mail()) == 2)
        known = loop.payload(1)
        assert all(ln["available"] is not None for ln in known["lines"])

        def without_stock(payload: dict) -> dict:
            lines = [{k: v for k, v in ln.items() if k != "available"} for ln in payload["lines"]]
            # the second order repeats the first: the duplicate note is the only other difference
            issues = [i for i in payload["issues"] if i["code"] not in STOCK_CODES | {"duplicate_order"}]
            return {**payload, "lines": lines, "issues": issues}

        assert without_stock(down) == without_stock(known)


async def test_a_dutch_rep_reads_the_stock_note_in_dutch(tmp_path, clock):
    sender, _ = known_contact()
    sheet, _ = products()
    async with Loop(tmp_path, clock, reps=["rep@example.com:nl"]) as loop:
        set_stock(loop, sheet["sku"], 1)
        await loop.send(order_email(sender, "Bestelling", body(sheet["sku"])))
        plain, html = parts((await loop.poll_until(loop.rep_mail))[0])
        assert re.search(r"regel 1: slechts 1 \w+ op voorraad \(besteld 5 \w+\)", plain), plain
        assert "slechts 1" in html and "in stock" not in plain + html
        assert "regels, geen AI-model ingesteld" in plain
