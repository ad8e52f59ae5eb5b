from mailorder.domain import Customer, CustomerMatch, Extraction, IssueCode, LineRequest
from mailorder.tools.draft_order import draft_order
from tests.test_catalog import index

KNOWN = CustomerMatch(customer=Customer(company_id="COMP-001"), method="contact", confidence=1.0)


def codes(draft) -> set[IssueCode]:
    return {i.code for i in draft.issues}


def test_prices_come_from_the_catalog_and_units_convert():
    extraction = Extraction(
        lines=[
            LineRequest(sku="10-0001-0001", qty=2, unit="rollen", source_text="2 rollen geel"),
            LineRequest(sku="10-0005-0001", qty=10, unit="meter", source_text="10 m laminaat"),
        ]
    )
    draft = draft_order(extraction, KNOWN, index())
    first, second = draft.lines
    assert (first.unit, first.unit_price, first.base_qty, first.line_total) == ("rol", 250.0, 100, 500.0)
    assert (second.unit, second.unit_price, second.line_total) == ("mtr", 3.0, 30.0)
    assert draft.total == 530.0
    assert draft.issues == [] and not draft.needs_review and draft.confidence == 1.0


def test_counts_of_roll_goods_become_rolls():
    extraction = Extraction(lines=[LineRequest(sku="10-0001-0001", qty=4, unit="x")])
    line = draft_order(extraction, KNOWN, index()).lines[0]
    assert (line.unit, line.base_qty) == ("rol", 200)


def test_named_issues_for_every_problem():
    extraction = Extraction(
        lines=[
            LineRequest(sku="99-9999-9999", qty=1, unit="rol"),
            LineRequest(sku=None, qty=2, unit="rol", source_text="iets onbekends"),
            LineRequest(sku="10-0003-0001", qty=None),
            LineRequest(sku="10-0003-0001", qty=1, unit="m2"),
            LineRequest(sku="10-0009-0001", qty=1, unit="mtr"),
            LineRequest(sku="10-0003-0001", qty=50000, unit="stuks"),
            LineRequest(sku="10-0001-0001", qty=1, unit=None),
            LineRequest(
                sku="10-0001-0001",
                qty=1,
                unit="mtr",
                confidence=0.5,
                candidates=index().lookup("500 geel", limit=2),
            ),
        ],
        notes=["model extraction failed (TimeoutError); fell back to rules"],
    )
    draft = draft_order(extraction, CustomerMatch(), index())
    assert {
        IssueCode.UNKNOWN_SKU,
        IssueCode.PRODUCT_NOT_IDENTIFIED,
        IssueCode.QTY_MISSING,
        IssueCode.UNIT_NOT_SOLD,
        IssueCode.INACTIVE_PRODUCT,
        IssueCode.QTY_IMPLAUSIBLE,
        IssueCode.LOW_CONFIDENCE,
        IssueCode.AMBIGUOUS_MATCH,
        IssueCode.CUSTOMER_UNKNOWN,
        IssueCode.EXTRACTION_FALLBACK,
    } <= codes(draft)
    assert draft.needs_review and draft.confidence == 0.0
    assert all(i.line for i in draft.issues if i.code == IssueCode.UNKNOWN_SKU)


def test_no_lines_and_duplicates():
    assert IssueCode.NO_LINES in codes(draft_order(Extraction(), KNOWN, index()))
    extraction = Extraction(lines=[LineRequest(sku="10-0003-0001", qty=2, unit="stuks")])
    earlier = draft_order(extraction, KNOWN, index())
    again = draft_order(extraction, KNOWN, index(), recent_orders=[earlier])
    assert IssueCode.DUPLICATE_ORDER in codes(again) and again.needs_review


def test_unknown_customer_always_needs_review():
    extraction = Extraction(lines=[LineRequest(sku="10-0003-0001", qty=2, unit="stuks")])
    draft = draft_order(extraction, CustomerMatch(), index())
    assert draft.needs_review and IssueCode.CUSTOMER_UNKNOWN in codes(draft)
