import json
from datetime import UTC, date, datetime
from pathlib import Path

import httpx

from mailorder.agent.extract.rules import extract_rules, find_delivery_date, find_line_texts, find_reference
from mailorder.agent.workflow.pipeline import analyse_email, extract_order
from mailorder.domain import IssueCode, ParsedEmail, TriageLabel
from mailorder.mail.clean import clean_order_body
from mailorder.mock_erp.app import create_app
from mailorder.tools.erp_client import ErpClient
from mailorder.tools.toolbox import Toolbox
from tests.test_catalog import SMALL_PRODUCTS, index

RECEIVED = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)  # a Monday


def extract(text: str, html_text: str = ""):
    email = ParsedEmail(message_id="<t@x>", text=text, html_text=html_text, subject="bestelling")
    return extract_rules(email, clean_order_body(email), index(), received=RECEIVED)


def lines(extraction) -> list[tuple]:
    return [(ln.sku, ln.qty, ln.unit) for ln in extraction.lines]


def test_quantities_before_and_after_the_product_with_units():
    result = extract(
        "Graag:\n2x 10-0003-0001\n-4x rol 500-021 geel 126\n"
        "2 rollen lamifol 210 mat 1370 mm\nplaatx wit 10mm 3 platen\n"
        "halve pallet paperco A4"
    )
    assert lines(result) == [
        ("10-0003-0001", 2, "stuks"),
        ("10-0001-0001", 4, "rol"),
        ("10-0005-0001", 2, "rol"),
        ("10-0002-0001", 3, "plaat"),
        ("10-0004-0001", 0.5, "pallet"),
    ]


def test_cut_pieces_and_sku_without_quantity():
    result = extract("8ex 578 x 768 x 10mm wit plaatx\n10-0003-0003 graag")
    assert result.lines[0].qty == 8 and result.lines[0].sku == "10-0002-0001"
    assert result.lines[0].confidence < 0.9
    assert (result.lines[1].sku, result.lines[1].qty) == ("10-0003-0003", None)


def test_table_rows_use_the_header_for_unit_and_reference():
    html_text = (
        "Product | Meters | Breedte | Referentie\n"
        "500-021 yellow | 3 | 126 | Bakker\n500-021 | 2 | 152 cm | Smit"
    )
    result = extract("flattened table", html_text)
    assert lines(result) == [("10-0001-0001", 3, "mtr"), ("10-0001-0002", 2, "mtr")]
    assert [ln.reference for ln in result.lines] == ["Bakker", "Smit"]


def test_unknown_products_with_explicit_units_stay_as_unidentified_lines():
    result = extract("3 platen onbekendmerk haaks gezaagd\nHartelijk dank!")
    assert lines(result) == [(None, 3, "plaat")]


def test_reference_and_delivery_dates():
    assert find_reference("Referentie: T28-05-2025\nx") == "T28-05-2025"
    assert find_reference("Ordernummer: TILBURG0206") == "TILBURG0206"
    assert find_reference("PO: 4500123") == "4500123"
    received = RECEIVED.date()
    assert find_delivery_date("leverdatum dinsdag 03-06-2025", received) == date(2025, 6, 3)
    assert find_delivery_date("Bezorgen: 3-06-2025", received) == date(2025, 6, 3)
    assert find_delivery_date("Levering: morgen", received) == date(2025, 6, 3)
    assert find_delivery_date("graag vrijdag leveren", received) == date(2025, 6, 6)
    assert find_delivery_date("Goedemorgen", received) is None


def test_line_shapes_ignore_prose():
    found = find_line_texts("Goedemiddag,\nIk heb 2 vragen over jullie site.\nGroet")
    assert found == []


# ---------------------------------------------------------------- pipeline integration


def write_dataset(folder: Path, emails: list[dict], orders=(), order_lines=(), order_emails=()) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    companies = [
        {"id": 1, "company_id": "COMP-001", "company_name": "Signmakers Zuid", "default_contact_id": 10},
        {"id": 2, "company_id": "COMP-002", "company_name": "Reclame West", "default_contact_id": 20},
    ]
    contacts = [
        {"id": 10, "company_id": 1, "email_address": "inkoop@signzuid.nl"},
        {"id": 20, "company_id": 2, "email_address": "info@reclamewest.nl"},
    ]
    files = {
        "products.json": [p.model_dump() for p in SMALL_PRODUCTS],
        "companies.json": companies,
        "contacts.json": contacts,
        "emails.json": emails,
        "orders.json": list(orders),
        "order_lines.json": list(order_lines),
        "order_emails.json": list(order_emails),
    }
    for name, data in files.items():
        (folder / name).write_text(json.dumps(data), encoding="utf-8")
    return folder


async def test_pipeline_on_synthetic_emails(tmp_path):
    folder = write_dataset(tmp_path / "ds", [])
    erp = ErpClient("http://erp", transport=httpx.ASGITransport(app=create_app(folder)))
    toolbox = await Toolbox.create(erp)
    try:
        order = ParsedEmail(
            message_id="<1@x>",
            sender="inkoop@signzuid.nl",
            subject="Bestelling",
            text="Graag bestellen:\n2x 10-0003-0001\n1 rol 500-021 geel 126\n\nMet vriendelijke groet,\nJan",
        )
        analysis = await analyse_email(order, toolbox, now=RECEIVED)
        assert analysis.triage.label == TriageLabel.ORDER
        assert analysis.customer.customer.company_id == "COMP-001"
        assert [(ln.sku, ln.qty, ln.unit) for ln in analysis.draft.lines] == [
            ("10-0003-0001", 2, "stuks"),
            ("10-0001-0001", 1, "rol"),
        ]
        assert analysis.draft.total == 2 * 100.0 + 250.0

        stranger = order.model_copy(update={"sender": "iemand@gmail.com", "message_id": "<2@x>"})
        unknown = await analyse_email(stranger, toolbox, now=RECEIVED)
        assert unknown.draft.needs_review and unknown.customer.customer is None

        status = ParsedEmail(
            message_id="<3@x>",
            sender="info@reclamewest.nl",
            text="Waar blijft onze bestelling? Graag de track & trace.",
        )
        not_order = await analyse_email(status, toolbox, now=RECEIVED)
        assert not_order.triage.label == TriageLabel.ORDER_STATUS and not_order.draft is None

        async def broken_model(email, body, tb):
            raise TimeoutError("model too slow")

        body = clean_order_body(order)
        extraction = await extract_order(order, body, toolbox, RECEIVED, llm_extractor=broken_model)
        assert extraction.lines and "fell back to rules" in extraction.notes[0]
        draft = toolbox.draft_order(extraction, analysis.customer)
        assert IssueCode.EXTRACTION_FALLBACK in {i.code for i in draft.issues}
        tools = {t.name: t for t in toolbox.langchain_tools()}
        found = tools["catalog_lookup"].invoke({"query": "jx100 cyaan", "limit": 2})
        assert found[0]["sku"] == "10-0003-0001" and "units" in found[0]
        who = await tools["customer_lookup"].ainvoke({"sender": "inkoop@signzuid.nl"})
        assert who["company_id"] == "COMP-001"
        priced = await tools["draft_order"].ainvoke(
            {"lines": [{"sku": "10-0003-0001", "qty": 1, "unit": "doos"}], "sender": "inkoop@signzuid.nl"}
        )
        assert priced["total"] == 600.0 and priced["lines"][0]["unit"] == "doos"
        assert await toolbox.refresh() is False
    finally:
        await erp.aclose()


def test_flattened_name_quantity_pairs_use_the_list_context():
    result = extract("Voor de printer graag de volgende JX-100 flessen:\n\nCyan\n2\nYellow\n1\n\nGroet")
    assert lines(result) == [("10-0003-0001", 2, None), ("10-0003-0003", 1, None)]


def test_quantity_block_followed_by_description_lines():
    result = extract(
        "Hierbij onze bestelling.\n\n4 platen\nPlaatx wit\n2050x3050\n5mm\n\n2 platen\nPlaatx zwart\n10 mm\n"
    )
    assert lines(result) == [("10-0002-0002", 4, "plaat"), ("10-0002-0003", 2, "plaat")]


def test_several_items_on_one_line_and_negation():
    result = extract("kan je me 25 meter 500-070 mat zwart sturen en 1 rol jx200 cyan?")
    assert lines(result) == [("10-0001-0003", 25, "mtr"), ("10-0003-0004", 1, "rol")]
    assert find_line_texts("2 rollen lamifol 210 1370 mm (zonder glans)")[0].query.endswith("(zonder glans)")
    assert extract("2 rollen lamifol 210 1370 mm zonder glanzend").lines[0].sku == "10-0005-0001"


def test_unread_order_text_is_noted_for_review():
    result = extract("Graag:\n2x 10-0003-0001\n3 stuks onbekend spul")
    assert any(n.startswith("review:") for n in result.notes)


def test_phone_numbers_and_po_numbers_are_not_skus():
    result = extract("Graag 2x 10-0003-0001\nPO 4500012873\nTel 06-00001234")
    assert lines(result) == [("10-0003-0001", 2, "stuks")]


def test_a_unit_taught_for_a_customers_wording_fills_in_a_bare_count():
    from mailorder.tools.catalog import normalise_alias

    toolbox = Toolbox(erp=None, catalog=index())
    sku = SMALL_PRODUCTS[2].sku
    toolbox.customer_aliases["COMP-1"] = {
        normalise_alias("5x onze vaste folie"): (sku, "doos", "taught by rep@x")
    }

    def for_customer(text: str, customer_id: str):
        email = ParsedEmail(message_id="<t@x>", text=text, subject="bestelling")
        return lines(
            extract_rules(email, clean_order_body(email), toolbox, received=RECEIVED, customer_id=customer_id)
        )

    assert for_customer("Graag:\n7x onze vaste folie\n", "COMP-1") == [(sku, 7, "doos")]
    assert for_customer("Graag:\n7 rol onze vaste folie\n", "COMP-1") == [
        (sku, 7, "rol")
    ]  # written unit wins
    assert all(
        line[0] != sku or line[2] != "doos"
        for line in for_customer("Graag:\n7x onze vaste folie\n", "COMP-2")
    )  # another customer


async def test_same_as_last_time_goes_through_the_order_history_tool(tmp_path):
    folder = write_dataset(tmp_path / "ds", [])
    history = [
        {"company_id": "COMP-001", "order_date": "2025-05-01", "lines": [{"sku": "10-0002-0001", "qty": 9}]},
        {
            "company_id": "COMP-001",
            "order_date": "2025-05-20",
            "lines": [
                {"sku": "10-0003-0001", "qty": 2, "unit": "stuks"},
                {"sku": "10-0001-0001", "qty": 1, "unit": "rol"},
            ],
        },
    ]
    (folder / "history.json").write_text(json.dumps(history), encoding="utf-8")
    erp = ErpClient("http://erp", transport=httpx.ASGITransport(app=create_app(folder)))
    toolbox = await Toolbox.create(erp)
    try:
        email = ParsedEmail(
            message_id="<h@x>",
            sender="inkoop@signzuid.nl",
            subject="bestelling",
            text="Hoi,\n\nGraag hetzelfde als de vorige keer, alleen de inkt 4 stuks i.p.v. 2.\n\nGroet",
        )
        analysis = await analyse_email(email, toolbox, now=RECEIVED)
        assert analysis.triage.label == TriageLabel.ORDER
        assert sorted((ln.sku, ln.qty, ln.unit) for ln in analysis.draft.lines) == [
            ("10-0001-0001", 1, "rol"),
            ("10-0003-0001", 4, "stuks"),
        ]
        assert all("2025-05-20" in (ln.note or "") for ln in analysis.draft.lines)
        assert analysis.draft.needs_review  # taken from history: a rep confirms
        tools = {t.name: t for t in toolbox.langchain_tools()}
        past = await tools["order_history"].ainvoke({"company_id": "COMP-001", "limit": 1})
        assert [ln["sku"] for ln in past[0]["lines"]] == ["10-0003-0001", "10-0001-0001"]
    finally:
        await erp.aclose()
