from mailorder.domain import Customer, CustomerMatch, Extraction, IssueCode, LineRequest, OrderDigest
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
    stored = OrderDigest.model_validate_json(earlier.model_dump_json())  # as the draft node reads it
    assert IssueCode.DUPLICATE_ORDER in codes(draft_order(extraction, KNOWN, index(), recent_orders=[stored]))
    other = Extraction(lines=[LineRequest(sku="10-0003-0001", qty=3, unit="stuks")])
    assert IssueCode.DUPLICATE_ORDER not in codes(draft_order(other, KNOWN, index(), recent_orders=[stored]))


def test_unknown_customer_always_needs_review():
    extraction = Extraction(lines=[LineRequest(sku="10-0003-0001", qty=2, unit="stuks")])
    draft = draft_order(extraction, CustomerMatch(), index())
    assert draft.needs_review and IssueCode.CUSTOMER_UNKNOWN in codes(draft)


def test_uncertain_lines_carry_their_next_best_products_with_how_they_differ():
    from mailorder.domain import Candidate

    def cand(sku: str, score: float) -> Candidate:
        return Candidate(sku=sku, name=sku, score=score, base_unit="mtr")

    extraction = Extraction(
        lines=[
            LineRequest(
                sku="10-0001-0001",
                qty=1,
                unit="rol",
                confidence=0.5,
                candidates=[cand("10-0001-0001", 80), cand("10-0001-0002", 79), cand("10-0001-0004", 70)],
            ),
            LineRequest(
                sku="10-0001-0003", qty=1, unit="rol", confidence=1.0, candidates=[cand("10-0001-0001", 50)]
            ),
        ]
    )
    draft = draft_order(extraction, KNOWN, index())
    uncertain, certain = draft.lines
    assert [c.sku for c in uncertain.candidates] == ["10-0001-0002", "10-0001-0004"]  # never the chosen one
    assert uncertain.candidates[0].note == "same series, 1520 instead of 1260 mm"
    assert "other series" in uncertain.candidates[1].note
    assert certain.candidates == []  # a certain line offers no alternatives


def test_a_stated_price_is_compared_with_the_catalog_and_never_used():
    extraction = Extraction(
        lines=[
            LineRequest(sku="10-0001-0001", qty=2, unit="rol", stated_price=4.50, stated_price_unit="mtr"),
            LineRequest(sku="10-0002-0001", qty=1, unit="plaat", stated_price=90.0),
        ]
    )
    draft = draft_order(extraction, KNOWN, index())
    mismatch = [i for i in draft.issues if i.code == IssueCode.PRICE_MISMATCH]
    assert len(mismatch) == 1 and mismatch[0].line == 1 and not mismatch[0].blocking
    assert "4.50 per mtr" in mismatch[0].message and "5.00 per mtr" in mismatch[0].message
    assert draft.lines[0].unit_price == 250.0 and draft.needs_review
