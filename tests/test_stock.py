"""Stock on the draft: the cache in front of the ERP, the draft's stock notes (pure), the tool, and
the summary's markers."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence

import httpx
import pytest

from mailorder.domain import (
    Customer,
    CustomerMatch,
    Draft,
    Extraction,
    IssueCode,
    LineRequest,
    ParsedEmail,
    Product,
    UnitOption,
)
from mailorder.mail.render import SummaryContext, render_summary
from mailorder.mock_erp.app import create_app
from mailorder.mock_erp.faults import Faults
from mailorder.tools.catalog import CatalogIndex
from mailorder.tools.draft_order import apply_stock, draft_order
from mailorder.tools.erp_client import ErpClient, ErpUnavailable
from mailorder.tools.stock import CachedStock, StockLevel, check_stock
from mailorder.tools.toolbox import Toolbox
from tests.test_mock_erp import ROLL_SKU as ERP_ROLL
from tests.test_mock_erp import SHEET_SKU as ERP_SHEET
from tests.test_mock_erp import write_dataset

ROLL, SHEET, PAPER = "10-0001-0001", "20-0001-0001", "30-0001-0001"
CATALOG = CatalogIndex.build(
    [
        Product(
            sku=ROLL,
            name="Folie wit 1260 mm x 50 M",
            base_unit="mtr",
            units=[
                UnitOption(unit="mtr", per_base=1),
                UnitOption(unit="rol", per_base=50),
                UnitOption(unit="m2", per_base=0.8),
            ],
            unit_price=2.0,
        ),
        Product(
            sku=SHEET,
            name="Plaat PVC wit 3 mm",
            base_unit="plaat",
            units=[
                UnitOption(unit="plaat", per_base=1),
                UnitOption(unit="stuks", per_base=1),
                UnitOption(unit="pallet", per_base=100),
            ],
            unit_price=12.0,
        ),
        Product(
            sku=PAPER,
            name="Papier A4 80 g",
            base_unit="vel",
            units=[UnitOption(unit="vel", per_base=1), UnitOption(unit="pallet", per_base=240000)],
            unit_price=0.01,
        ),
    ],
    version="v1",
)
KNOWN = CustomerMatch(customer=Customer(company_id="COMP-001"), method="contact", confidence=1.0)


def drafted(*lines: tuple[str | None, float, str]) -> Draft:
    return draft_order(
        Extraction(lines=[LineRequest(sku=sku, qty=qty, unit=unit) for sku, qty, unit in lines]),
        KNOWN,
        CATALOG,
    )


def stock_issues(draft: Draft) -> list[tuple[IssueCode, int | None, str]]:
    return [
        (i.code, i.line, i.message)
        for i in draft.issues
        if i.code in (IssueCode.STOCK_SHORT, IssueCode.STOCK_UNKNOWN)
    ]


# --- the draft's stock notes (pure) ---------------------------------------------------------------
def test_every_line_gets_its_availability_and_enough_stock_says_nothing():
    draft = drafted((ROLL, 2, "rol"), (SHEET, 6, "plaat"))
    checked = apply_stock(draft, {ROLL: 100.0, SHEET: 6.0}, CATALOG)
    assert [ln.available for ln in checked.lines] == [100.0, 6.0]  # exactly what is there fits
    assert checked.issues == [] and not checked.needs_review
    assert draft.lines[0].available is None  # pure: the draft passed in is unchanged


def test_a_line_above_availability_gets_a_non_blocking_issue_in_its_own_unit():
    draft = drafted((SHEET, 40, "plaat"), (ROLL, 5, "rol"), (SHEET, 2, "pallet"))
    checked = apply_stock(draft, {SHEET: 6.0, ROLL: 120.0}, CATALOG)
    assert stock_issues(checked) == [
        (IssueCode.STOCK_SHORT, 1, "only 6 plaat in stock (ordered 40 plaat)"),
        (IssueCode.STOCK_SHORT, 3, "only 6 plaat in stock (ordered 2 pallet = 200 plaat)"),
        (IssueCode.STOCK_SHORT, 2, "only 2.4 rol in stock (120 mtr; ordered 5 rol = 250 mtr)"),
    ]
    assert all(not i.blocking for i in checked.issues) and checked.blocking_issues == []
    assert checked.needs_review  # the rep looks; approving stays their call


def test_same_count_units_less_than_a_pack_and_finer_units():
    draft = drafted((SHEET, 5, "stuks"), (PAPER, 1, "pallet"), (ROLL, 100, "m2"))
    checked = apply_stock(draft, {SHEET: 1.0, PAPER: 500.0, ROLL: 60.0}, CATALOG)
    assert [m for _, _, m in stock_issues(checked)] == [
        "only 1 stuks in stock (ordered 5 stuks)",
        "only 500 vel in stock (ordered 1 pallet = 240000 vel)",
        "only 75 m2 in stock (60 mtr; ordered 100 m2 = 80 mtr)",
    ]


def test_availability_is_never_overstated_and_zero_is_out_of_stock():
    draft = drafted((ROLL, 1, "rol"), (SHEET, 1, "plaat"))
    checked = apply_stock(draft, {ROLL: 16.666, SHEET: 0.0}, CATALOG)
    assert [m for _, _, m in stock_issues(checked)] == [
        "only 16.66 mtr in stock (ordered 1 rol = 50 mtr)",
        "out of stock (ordered 1 plaat)",
    ]


def test_lines_of_one_product_that_only_together_ask_too_much():
    draft = drafted((SHEET, 4, "plaat"), (ROLL, 1, "rol"), (SHEET, 4, "stuks"))
    checked = apply_stock(draft, {SHEET: 6.0, ROLL: 500.0}, CATALOG)
    assert stock_issues(checked) == [
        (IssueCode.STOCK_SHORT, 1, "only 6 plaat in stock for lines 1, 3 together (ordered 8 plaat)"),
        (IssueCode.STOCK_SHORT, 3, "only 6 stuks in stock for lines 1, 3 together (ordered 8 stuks)"),
    ]


def test_unknown_stock_is_a_note_never_a_block():
    draft = drafted((ROLL, 1, "rol"), ("99-9999-9999", 1, "rol"), (None, 1, "rol"), (SHEET, None, ""))
    erp_down = apply_stock(draft, None, CATALOG)
    assert stock_issues(erp_down) == [(IssueCode.STOCK_UNKNOWN, None, erp_down.issues[-1].message)]
    assert erp_down.issues[-1].message.startswith("stock unknown") and not erp_down.issues[-1].blocking
    assert erp_down.issues[:-1] == draft.issues and erp_down.lines == draft.lines  # otherwise unchanged

    partly = apply_stock(draft, {ROLL: None, SHEET: 10.0}, CATALOG)  # the ERP does not know ROLL
    assert stock_issues(partly) == [
        (IssueCode.STOCK_UNKNOWN, 1, f"stock unknown: the ERP has no stock figure for {ROLL}")
    ]
    assert [ln.available for ln in partly.lines] == [None, None, None, 10.0]  # no qty: figure, no note
    assert not any(i.blocking for i in partly.issues if i.code == IssueCode.STOCK_UNKNOWN)


# --- the cache --------------------------------------------------------------------------------------
class FakeStock:
    """A StockSource with a visible history; `gate` holds answers back until the test opens it."""

    def __init__(self, levels: Mapping[str, float]) -> None:
        self.levels = dict(levels)
        self.history: list[list[str]] = []
        self.fail: Exception | None = None
        self.gate: asyncio.Event | None = None

    async def stock_levels(self, skus: Sequence[str]) -> dict[str, StockLevel]:
        self.history.append(list(skus))
        if self.gate is not None:
            await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        return {s: StockLevel(sku=s, available=self.levels[s], unit="mtr") for s in skus if s in self.levels}


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_cache_remembers_for_a_minute_and_asks_only_what_it_misses():
    source, clock = FakeStock({ROLL: 100, SHEET: 6}), Ticks()
    cache = CachedStock(source, clock=clock)
    first = await cache.levels([ROLL, "99-9999-9999", ROLL])
    assert first[ROLL].available == 100 and first["99-9999-9999"] is None
    assert source.history == [[ROLL, "99-9999-9999"]]  # one request, duplicates once
    clock.now = 59
    both = await cache.levels([ROLL, SHEET, "99-9999-9999"])
    assert both[SHEET].available == 6 and both["99-9999-9999"] is None  # "unknown" is remembered too
    assert source.history[1:] == [[SHEET]]
    source.levels[ROLL] = 40
    clock.now = 60.5  # ROLL's answer is a minute old now; SHEET's is not
    again = await cache.levels([ROLL, SHEET])
    assert again[ROLL].available == 40 and source.history[2:] == [[ROLL]]


async def test_concurrent_misses_share_one_request():
    source = FakeStock({ROLL: 100, SHEET: 6})
    source.gate = asyncio.Event()
    cache = CachedStock(source)
    waiting = [asyncio.create_task(cache.levels([ROLL, SHEET])) for _ in range(5)]
    overlapping = asyncio.create_task(cache.levels([SHEET, PAPER]))
    await asyncio.sleep(0)
    source.gate.set()
    answers = await asyncio.gather(*waiting, overlapping)
    assert source.history == [[ROLL, SHEET], [PAPER]]
    assert all(a[ROLL].available == 100 for a in answers[:5]) and answers[5][SHEET].available == 6
    assert answers[5][PAPER] is None


async def test_failures_are_shared_but_not_remembered():
    source = FakeStock({ROLL: 100})
    source.fail, source.gate = ErpUnavailable("HTTP 503", 4, 503), asyncio.Event()
    cache = CachedStock(source)
    tasks = [asyncio.create_task(cache.levels([ROLL])) for _ in range(3)]
    await asyncio.sleep(0)
    source.gate.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, ErpUnavailable) for r in results) and len(source.history) == 1
    source.fail = None
    assert (await cache.levels([ROLL]))[ROLL].available == 100 and len(source.history) == 2


async def test_check_stock_turns_a_failure_into_a_note():
    source = FakeStock({ROLL: 120})
    draft = drafted((ROLL, 5, "rol"))
    checked = await check_stock(draft, CachedStock(source), CATALOG)
    assert checked.lines[0].available == 120 and stock_issues(checked)[0][0] == IssueCode.STOCK_SHORT
    source.fail = ErpUnavailable("connection error", 4)
    down = await check_stock(draft, CachedStock(source), CATALOG)
    assert [c for c, _, _ in stock_issues(down)] == [IssueCode.STOCK_UNKNOWN]
    asked = len(source.history)
    unpriced = drafted((None, 1, "rol"), ("99-9999-9999", 2, "rol"))
    assert await check_stock(unpriced, CachedStock(source), CATALOG) == unpriced  # nothing to ask
    assert len(source.history) == asked


# --- the toolbox and its LangChain tool, against the mock ERP ---------------------------------------
async def test_toolbox_stock_tool_and_check(tmp_path):
    app = create_app(write_dataset(tmp_path / "ds"), faults=Faults())
    async with ErpClient("http://erp", transport=httpx.ASGITransport(app=app)) as erp:
        toolbox = await Toolbox.create(erp)
        await erp.set_stock(ERP_SHEET, 6)
        tools = {t.name: t for t in toolbox.langchain_tools()}
        answer = await tools["stock"].ainvoke({"skus": [ERP_SHEET, "99-9999-9999"]})
        assert answer == [
            {"sku": ERP_SHEET, "available": 6.0, "unit": "plaat"},
            {"sku": "99-9999-9999", "available": None, "unit": None},
        ]
        with pytest.raises(ValueError):
            await tools["stock"].ainvoke({"skus": []})
        extraction = Extraction(
            lines=[
                LineRequest(sku=ERP_SHEET, qty=8, unit="plaat"),
                LineRequest(sku=ERP_ROLL, qty=1, unit="rol"),
            ]
        )
        checked = await toolbox.check_stock(toolbox.draft_order(extraction, KNOWN))
        assert [m for _, _, m in stock_issues(checked)] == ["only 6 plaat in stock (ordered 8 plaat)"]
        assert checked.lines[1].available and checked.lines[1].available >= 250
    offline = Toolbox(erp=None, catalog=CATALOG)
    draft = drafted((ROLL, 1, "rol"))
    assert await offline.check_stock(draft) is draft


async def test_a_reps_edit_is_checked_against_stock_like_the_first_version(tmp_path):
    from mailorder.agent.review.apply import apply_edits
    from mailorder.domain import EditOp

    app = create_app(write_dataset(tmp_path / "ds"), faults=Faults())
    async with ErpClient("http://erp", transport=httpx.ASGITransport(app=app)) as erp:
        toolbox = await Toolbox.create(erp)
        await erp.set_stock(ERP_SHEET, 6)
        extraction = Extraction(lines=[LineRequest(sku=ERP_SHEET, qty=4, unit="plaat")])
        v1 = await toolbox.check_stock(toolbox.draft_order(extraction, KNOWN))
        assert stock_issues(v1) == [] and v1.lines[0].available == 6
        v2 = (await apply_edits(v1, [EditOp(op="qty", line=1, qty=8)], toolbox)).draft
        assert [m for _, _, m in stock_issues(v2)] == ["only 6 plaat in stock (ordered 8 plaat)"]
        assert v2.lines[0].available == 6


# --- the summary's markers ----------------------------------------------------------------------------
ORIGINAL = ParsedEmail(message_id="<o@x>", subject="Bestelling", sender="buyer@alpha.test", text="...")


def summary(draft: Draft, lang: str = "en"):
    return render_summary(
        SummaryContext(
            draft_id=1,
            version=1,
            tag="[MO-1 v1]",
            edit_block="--- block ---",
            draft=draft,
            original=ORIGINAL,
            rep="rep@example.com",
            reply_address="orders+t@example.com",
            agent_address="orders@example.com",
            language=lang,  # type: ignore[arg-type]
        )
    )


def markers(html: str) -> list[str]:
    return re.findall(r'<span style="font-size:11px;color:#\w+;">([^<]*)</span>', html)


def test_summary_marks_stock_next_to_the_quantity_in_text_and_html():
    lines = drafted((ROLL, 5, "rol"), (SHEET, 2, "plaat"), (PAPER, 1, "vel"))
    draft = apply_stock(lines, {ROLL: 120.0, SHEET: 12.0, PAPER: 0.0}, CATALOG)
    mail = summary(draft)
    assert "5 rol [only 2.4 rol in stock] x" in mail.text
    assert "2 plaat [in stock: 12 plaat] x" in mail.text
    assert "1 vel [out of stock] x" in mail.text
    assert "- line 1: only 2.4 rol in stock (120 mtr; ordered 5 rol = 250 mtr)" in mail.text
    assert markers(mail.html) == ["only 2.4 rol in stock", "in stock: 12 plaat", "out of stock"]

    dutch = summary(draft, "nl")
    assert "5 rol [slechts 2,4 rol op voorraad] x" in dutch.text and "[op voorraad: 12 plaat]" in dutch.text
    assert markers(dutch.html)[2] == "niet op voorraad"
    assert "[auf Lager: 12 plaat]" in summary(draft, "de").text


def test_summary_says_stock_unknown_and_nothing_when_stock_was_not_asked():
    plain = drafted((ROLL, 5, "rol"))
    assert "stock" not in summary(plain).text.split("ISSUES")[0]  # not asked (an edited version)
    down = apply_stock(plain, None, CATALOG)
    mail = summary(down)
    assert "5 rol [stock unknown] x" in mail.text and markers(mail.html) == ["stock unknown"]
    assert "[voorraad onbekend]" in summary(down, "nl").text
