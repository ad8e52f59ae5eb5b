"""Edits by reply, end to end: commands, the edited block, APPROVE with edits."""

from __future__ import annotations

import pytest

from mailorder.store.models import DraftStatus
from tests.loop_harness import Loop, catalog, known_contact, order_email

pytestmark = pytest.mark.e2e


def products():
    active = [p for p in catalog() if p.get("active", True)]
    return active[0], active[len(active) // 3], active[2 * len(active) // 3]


async def test_commands_make_version_two_with_a_change_log_then_approve(tmp_path, clock):
    sender, _ = known_contact()
    a, b, c = products()
    async with Loop(tmp_path, clock) as loop:
        await loop.send(order_email(sender, "order", f"Graag:\n2x {a['sku']}\n3x {b['sku']}\n"))
        v1 = (await loop.poll_until(loop.rep_mail))[0]
        await loop.reply(v1, f"regel 1 aantal 5\nremove 2\nadd 1 {c['base_unit']} {c['sku']}\nref PO-991")
        v2 = (await loop.poll_until(lambda: [m for m in loop.rep_mail() if " v2]" in str(m["Subject"])]))[0]
        plain = v2.get_body(("plain",)).get_content()
        assert "qty" in plain and "removed" in plain and "added" in plain and "PO-991" in plain
        await loop.reply(v2, "APPROVE")
        await loop.poll_until(lambda: loop.drafts()[0].status == DraftStatus.CONFIRMED)
        order = loop.erp_orders()[0]
        assert sorted((ln["sku"], ln["quantity"]) for ln in order["products"]) == sorted(
            [(a["sku"], 5), (c["sku"], 1)]
        )
        assert order["reference"] == "PO-991"
        assert [e.details["version"] for e in loop.audit("edited")] == [2]


async def test_edited_block_in_the_quote_is_applied(tmp_path, clock):
    sender, _ = known_contact()
    a, b, _ = products()
    async with Loop(tmp_path, clock) as loop:
        await loop.send(order_email(sender, "order", f"Graag:\n2x {a['sku']}\n3x {b['sku']}\n"))
        v1 = (await loop.poll_until(loop.rep_mail))[0]
        original = v1.get_body(("plain",)).get_content()
        edited = "\n".join(
            ln.replace(f"| {a['sku']} | 2 |", f"| {a['sku']} | 7 |") for ln in original.splitlines()
        )
        assert edited != original
        await loop.reply_text(
            v1, "See my change below\n\n" + "\n".join("> " + ln for ln in edited.splitlines())
        )
        v2 = (await loop.poll_until(lambda: [m for m in loop.rep_mail() if " v2]" in str(m["Subject"])]))[0]
        assert "7" in v2.get_body(("plain",)).get_content()
        assert loop.erp_orders() == []


async def test_approve_with_edits_posts_the_new_version_when_clean(tmp_path, clock):
    sender, _ = known_contact()
    a, b, _ = products()
    async with Loop(tmp_path, clock) as loop:
        await loop.send(order_email(sender, "order", f"Graag:\n2x {a['sku']}\n3x {b['sku']}\n"))
        v1 = (await loop.poll_until(loop.rep_mail))[0]
        await loop.reply(v1, "APPROVE\nremove 2")
        await loop.poll_until(lambda: loop.drafts()[0].status == DraftStatus.CONFIRMED)
        draft = loop.drafts()[0]
        assert draft.version == 2
        assert [ln["sku"] for ln in loop.erp_orders()[0]["products"]] == [a["sku"]]


async def test_approving_an_old_version_is_refused_with_a_pointer(tmp_path, clock):
    sender, _ = known_contact()
    a, b, _ = products()
    async with Loop(tmp_path, clock) as loop:
        await loop.send(order_email(sender, "order", f"Graag:\n2x {a['sku']}\n3x {b['sku']}\n"))
        v1 = (await loop.poll_until(loop.rep_mail))[0]
        await loop.reply(v1, "remove 2")
        await loop.poll_until(lambda: [m for m in loop.rep_mail() if " v2]" in str(m["Subject"])])
        await loop.reply(v1, "APPROVE")
        await loop.poll_until(lambda: loop.audit("reply_refused"))
        assert loop.erp_orders() == []
        notices = loop.rep_notices()
        assert len(notices) == 1 and "[MO-1 v2]" in str(
            notices[0]["Subject"]
        )  # pointer to the current version
        assert "v2" in notices[0].get_body(("plain",)).get_content()


async def test_a_corrected_sku_is_learned_for_that_customer_only(tmp_path, clock):
    sender, company = known_contact()
    a, b, _ = products()
    text = f"Graag bestellen:\n2x {a['name']} zoals altijd\n"
    async with Loop(tmp_path, clock) as loop:
        await loop.send(order_email(sender, "order 1", text))
        v1 = (await loop.poll_until(loop.rep_mail))[0]
        await loop.reply(v1, f"sku 1 {b['sku']}")
        await loop.poll_until(lambda: loop.audit("alias_learned"))
        await loop.send(order_email(sender, "order 2", text))
        await loop.poll_until(lambda: len(loop.drafts()) == 2)
        from mailorder.agent.workflow.loading import load_draft

        _, second = load_draft(loop.runner.services, loop.drafts()[1].id)
        assert second.lines[0].sku == b["sku"]
        assert loop.runner.services.toolbox.customer_aliases.get(company)
        other = {k for k in loop.runner.services.toolbox.customer_aliases if k != company}
        assert not other  # nobody else learned anything


async def test_a_wrong_product_costs_the_rep_one_word(tmp_path, clock):
    """The issue's black-box check: an order without the sheet size offers lettered FOREX 10 mm
    choices in both parts of the summary; `1b` makes v2 with that product, learned for the
    customer; APPROVE posts it."""
    sender, _ = known_contact()
    async with Loop(tmp_path, clock) as loop:
        await loop.send(order_email(sender, "Bestelling platen", "Graag 3 platen Forex Classic wit 10 mm\n"))
        v1 = (await loop.poll_until(loop.rep_mail))[0]
        plain = v1.get_body(("plain",)).get_content()
        html = v1.get_body(("html",)).get_content()
        draft = loop.payload()
        choices = draft["lines"][0]["candidates"]
        offered = [c for c in choices if c["sku"] != draft["lines"][0]["sku"]]
        assert len(offered) >= 2 and all("10 mm" in c["name"] for c in offered[:2])
        for letter, choice in zip("ab", offered[:2], strict=True):
            assert f"1{letter}  {choice['sku']}" in plain
            assert f">1{letter}</b>" in html and choice["sku"] in html

        await loop.reply(v1, "1b")
        v2 = (await loop.poll_until(lambda: [m for m in loop.rep_mail() if " v2]" in str(m["Subject"])]))[0]
        assert loop.payload()["lines"][0]["sku"] == offered[1]["sku"]
        assert "SKU" in v2.get_body(("plain",)).get_content()  # the change log names the change
        assert [e.details["sku"] for e in loop.audit("alias_learned")] == [offered[1]["sku"]]

        await loop.reply(v2, "APPROVE")
        await loop.poll_until(lambda: loop.drafts()[0].status == DraftStatus.CONFIRMED)
        [order] = loop.erp_orders()
        assert [(ln["sku"], ln["quantity"]) for ln in order["products"]] == [(offered[1]["sku"], 3)]
