"""The rules extractor on order shapes seen in real mail, against the sample catalog (data/).

Every example is written for this file (not taken from a dataset): units and number words in
Dutch, English and German, codes in every wrapping, items spread over lines, dimensions in cm/mm
either way round, packs, prices, thread context and "same as last time"."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import lru_cache

import pytest

from mailorder.agent.evaluation.dataset import default_dataset_dir
from mailorder.agent.extract.rules import extract_rules
from mailorder.domain import Customer, CustomerMatch, IssueCode, ParsedEmail, Product
from mailorder.mail.clean import clean_order_body
from mailorder.tools.catalog import CatalogIndex
from mailorder.tools.draft_order import draft_order
from mailorder.tools.history import PastOrder, PastOrderLine

RECEIVED = datetime(2025, 10, 6, 9, 0, tzinfo=UTC)


@lru_cache(maxsize=1)
def catalog() -> CatalogIndex:
    products = json.loads((default_dataset_dir() / "products.json").read_text(encoding="utf-8"))
    return CatalogIndex.build(Product.model_validate(p) for p in products)


def sku_of(name_part: str, *more: str) -> str:
    """The SKU whose catalog name holds all the given parts (the test's own ground truth)."""
    found = [p for p in catalog().products if all(x in p.name for x in (name_part, *more))]
    assert len(found) == 1, (name_part, more, [p.name for p in found])
    return found[0].sku


def read(text: str, subject: str = "bestelling", history=(), html: str = ""):
    email = ParsedEmail(message_id="<t@x>", text=text, html_text=html, subject=subject)
    return extract_rules(email, clean_order_body(email), catalog(), received=RECEIVED, history=history)


def lines(extraction) -> list[tuple]:
    return [(ln.sku, ln.qty, ln.unit) for ln in extraction.lines]


# ---------------------------------------------------------------- quantities


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Graag 5.000 vel Navigator Universal A4 80 grams", ("02-0001-4223", 5000, "vel")),
        ("Canon Black Label Zero A3 80g: drie dozen", ("02-0003-1055", 3, "doos")),
        ("vier rollen Oracal 651 zwart glanzend 1000mm", ("06-0102-6341", 4, "rol")),
        ("Wir brauchen zwei Platten Forex Classic weiß 5 mm 2030 x 3050", ("06-0201-6855", 2, "plaat")),
        ("We need two rolls of Oraguard 290 matt 1260mm", ("06-0303-6657", 2, "rol")),
        ("Oracal 751C geel 1260 mm - 7,5 meter", ("06-0104-5826", 7.5, "mtr")),
        ("Forex Classic grijs 3mm 1560x3050 x 4", ("06-0201-4343", 4, "stuks")),
        ("Menge: 12 Stk\nRoland Eco-Sol Max 3 Light Cyan 440 ml", ("06-0401-4166", 12, "stuks")),
    ],
)
def test_quantities_in_every_language_and_place(text, expected):
    assert lines(read("Hallo,\n\n" + text + "\n\nGroet")) == [expected]


def test_a_width_on_its_own_line_is_never_a_quantity():
    result = read("Graag:\nOratape MT72 papier\n1370\n2 rollen\n")
    assert lines(result) == [("06-0105-1992", 2, "rol")]
    result = read("Graag:\nOratape MT95\n137 breed\n1 rol\n")
    assert lines(result) == [("06-0105-9546", 1, "rol")]


# ---------------------------------------------------------------- codes


def test_codes_with_labels_brackets_hashes_and_no_dashes():
    result = read(
        "Bestelling:\n\nArt.nr. 02-0001-1049\nAantal: 3 riem\n\n"
        "#02-0003-8550 - 2 dozen\n[0200031465] 4 riem\n02-0003-2369x5\n"
    )
    assert lines(result) == [
        ("02-0001-1049", 3, "riem"),
        ("02-0003-8550", 2, "doos"),
        ("02-0003-1465", 4, "riem"),
        ("02-0003-2369", 5, "stuks"),
    ]


def test_a_code_the_catalog_lacks_is_matched_by_its_description_and_flagged():
    result = read("Graag:\n06-0201-0000 Forex Classic zwart 5mm 2030x3050, 2 platen\n")
    assert lines(result) == [("06-0201-9049", 2, "plaat")]
    draft = draft_order(
        result, CustomerMatch(customer=Customer(company_id="C-1"), method="contact", confidence=1), catalog()
    )
    issue = next(i for i in draft.issues if i.code == IssueCode.CODE_NOT_IN_CATALOG)
    assert "06-0201-0000" in issue.message and "06-0201-9049" in issue.message
    assert draft.needs_review


# ---------------------------------------------------------------- items over several lines


def test_product_attributes_and_quantity_on_separate_lines():
    result = read("Hoi,\n\nDibond\nwit mat\n3 mm\n1500 x 3050\n6 platen\n\nGroet")
    assert lines(result) == [("06-0204-6873", 6, "plaat")]


def test_a_family_heading_with_variants_and_implied_quantities():
    result = read("Graag:\n\nOracal 641 glanzend 1260mm rollen\n- wit 2x\n- rood\n\nBedankt")
    assert lines(result) == [("06-0101-1338", 2, "stuks"), ("06-0101-6145", 1, "rol")]
    implied = result.lines[1]
    assert implied.confidence < 0.9 and "implied" in (implied.note or "")


def test_an_elliptical_line_takes_the_product_of_the_line_before():
    result = read("Graag:\n3 rol Orajet 3551 wit glanzend 1370\nen 2 rol in 1050 breed\n")
    assert lines(result) == [("06-0305-5693", 3, "rol"), ("06-0305-2263", 2, "rol")]


def test_several_items_on_one_line():
    result = read("Please send ESL5-4LK x 2, ESL5-4YE x 4 and 1 box of ESL5-4CY")
    assert lines(result) == [
        ("06-0401-1971", 2, "stuks"),
        ("06-0401-1001", 4, "stuks"),
        ("06-0401-1021", 1, "doos"),
    ]


# ---------------------------------------------------------------- dimensions


def test_sizes_in_centimetres_either_way_round_and_widths_in_metres():
    result = read(
        "Graag:\n6 platen Forex Classic wit 4mm 305 x 156 cm\n2 rollen Oraguard 290 glanzend 1,26 m\n"
        "1 rol Oracal 651 zwart glanzend 63 cm\n"
    )
    assert lines(result) == [
        ("06-0201-4919", 6, "plaat"),
        ("06-0303-2563", 2, "rol"),
        ("06-0102-5842", 1, "rol"),
    ]


# ---------------------------------------------------------------- packs and prices


def test_packs_convert_through_the_catalog_units():
    result = read(
        "Hi,\nPlease send a box of 6 Roland Eco-Sol Max 3 yellow\n"
        "2 ds à 5 riem Canon Black Label Zero A4 75g\none pallet of Double A Premium A4\n"
    )
    assert lines(result) == [
        ("06-0401-1001", 1, "doos"),
        ("02-0003-3776", 2, "doos"),
        ("02-0003-8550", 1, "pallet"),
    ]


def test_a_stated_price_other_than_the_catalogs_is_a_non_blocking_issue():
    result = read("Graag:\n3 rol Oracal 641 wit glanzend 1260 mm à € 2,10 p/m\n")
    assert lines(result) == [("06-0101-1338", 3, "rol")]
    assert (result.lines[0].stated_price, result.lines[0].stated_price_unit) == (2.10, "mtr")
    draft = draft_order(result, CustomerMatch(), catalog())
    issue = next(i for i in draft.issues if i.code == IssueCode.PRICE_MISMATCH)
    assert not issue.blocking and "2.10" in issue.message and "2.84" in issue.message
    assert draft.lines[0].unit_price == 142.0  # the catalog price per roll, never the customer's


# ---------------------------------------------------------------- thread context and history

QUOTED_OFFER = (
    "\n\n-----Oorspronkelijk bericht-----\nVan: Verkoop <verkoop@example.com>\n"
    "Verzonden: dinsdag 7 oktober 2025 10:00\nAan: Klant <klant@x.nl>\nOnderwerp: Offerte 881\n\n"
    "Beste klant,\n\nHierbij onze offerte:\n"
    "1. Forex Classic wit 5 mm 2030 x 3050 - 10 platen - € 50,00 per plaat\n"
    "2. Dibond wit glanzend 3 mm 1500 x 3050 - 4 platen\n"
    "3. Oraguard 290 glanzend 1370 - 2 rol\n\nGroet,\nVerkoop\n"
)


def test_accepting_some_items_of_a_quoted_offer():
    result = read("Prima, graag posities 1 en 3 leveren." + QUOTED_OFFER, subject="RE: Offerte 881")
    assert lines(result) == [("06-0201-6855", 10, "plaat"), ("06-0303-8655", 2, "rol")]
    assert any("items 1, 3" in n for n in result.notes)


def test_accepting_a_quoted_offer_but_holding_one_product_back():
    result = read("Akkoord, maar de Dibond nog niet." + QUOTED_OFFER, subject="RE: Offerte 881")
    assert [sku for sku, _, _ in lines(result)] == ["06-0201-6855", "06-0303-8655"]
    assert any("Dibond" in n or "DIBOND" in n for n in result.notes)


LAST_ORDER = PastOrder(
    order_id="EXT-1",
    lines=[
        PastOrderLine(sku="05-0400-9928", product_name="PP tape 48 mm x 66 mtr bruin", qty=2, unit="doos"),
        PastOrderLine(
            sku="06-0105-1992", product_name="ORATAPE® MT72 papier 1370 mm x 100 M 110 µ", qty=1, unit="rol"
        ),
    ],
)


def test_same_as_last_time_takes_the_last_orders_lines_with_changes():
    result = read(
        "Hi,\nSame as our last order please, only 4 boxes of the tape instead of 2.", history=[LAST_ORDER]
    )
    assert sorted(lines(result)) == [("05-0400-9928", 4, "doos"), ("06-0105-1992", 1, "rol")]
    assert all("EXT-1" in (ln.note or "") for ln in result.lines)
    assert all(ln.confidence < 0.9 for ln in result.lines)


def test_same_as_last_time_without_the_held_back_product():
    result = read(
        "Goedemorgen,\nGraag hetzelfde als de vorige keer, zonder de transfertape.", history=[LAST_ORDER]
    )
    assert lines(result) == [("05-0400-9928", 2, "doos")]


def test_one_product_as_last_time_with_a_new_quantity():
    result = read(
        "Hallo,\nbitte liefern:\n- Klebeband wie beim letzten Mal, diesmal 5 Kartons\n", history=[LAST_ORDER]
    )
    assert lines(result) == [("05-0400-9928", 5, "doos")]


def test_purchase_order_field_blocks():
    result = read(
        "Bestellung 4711\n\nPos. 10\nArtikelnummer: 06-0102-5097\nBezeichnung: Oracal 651 schwarz 1260\n"
        "Menge: 2\nEinheit: Rolle\n\nPos. 20\nArtikelnummer: 06-0105-8887\nBezeichnung: Oratape MT72\n"
        "Menge: 1\nEinheit: Rolle\n"
    )
    assert lines(result) == [("06-0102-5097", 2, "rol"), ("06-0105-8887", 1, "rol")]
    assert not any(n.startswith("review:") for n in result.notes)


def test_more_of_the_same_fractions_and_roll_sizes():
    result = read(
        "Hi,\nCould we get 3 more of the ESL5-4BK and another box of cyan (ESL5-4CY)?\n\n"
        "Navigator A4 80gr - 1/2 pallet\nOracal 641 zwart glanzend 126cm x 50m  2 rol\n"
    )
    assert lines(result) == [
        ("06-0401-7977", 3, None),
        ("06-0401-1021", 1, "doos"),
        ("02-0001-4223", 0.5, "pallet"),
        ("06-0101-5373", 2, "rol"),
    ]


def test_a_line_the_list_holds_but_no_quantity_was_read_for_goes_to_review():
    result = read(
        "Graag:\n2 rol Oracal 641 wit glanzend 1260\nOracal 641 zwart glanzend 1260\n3 rol MT72 1260\n"
    )
    assert any("Oracal 641 zwart glanzend 1260" in n for n in result.notes if n.startswith("review:"))
