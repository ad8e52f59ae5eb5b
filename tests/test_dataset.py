"""Integrity of the bundled sample dataset in data/ (interchange format of the eval README).

When the shared scorer exists, predictions rebuilt from our own truth must score perfectly:
that proves the files are in the format the scorer (and `mailorder eval`) reads.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import SHARED_EVAL

DATA = Path(__file__).resolve().parents[1] / "data"
SCORER = SHARED_EVAL / "score.py"
TABLES = ("products", "contacts", "companies", "emails", "orders", "order_lines", "order_emails")
SKU_PATTERN = re.compile(r"^\d{2}-\d{4}-\d{4}$")
UNIT_NAMES = {"mtr", "rol", "m2", "plaat", "stuks", "vel", "riem", "doos", "pallet"}
FAMILIES = {
    "vinyl-cast",
    "vinyl-calendered",
    "vinyl-print",
    "inkjet-media",
    "laminate",
    "application-tape",
    "sheet-pvc-foam",
    "sheet-acm",
    "sheet-acrylic",
    "sheet-petg",
    "ink",
    "office-paper",
    "packaging-tape",
    "stretch-film",
    "foam-profile",
    "cutting-tools",
}


@pytest.fixture(scope="module")
def ds() -> dict[str, list[dict]]:
    return {name: json.loads((DATA / f"{name}.json").read_text(encoding="utf-8")) for name in TABLES}


def _unique(values) -> bool:
    values = list(values)
    return len(values) == len(set(values))


# ---------------------------------------------------------------- catalog
def test_catalog_shape(ds):
    products = ds["products"]
    assert 400 <= len(products) <= 600
    assert _unique(p["sku"] for p in products)
    assert _unique(p["name"] for p in products)
    assert {p["family"] for p in products} == FAMILIES
    assert any(not p["active"] for p in products), "a few inactive products are expected"
    for p in products:
        assert SKU_PATTERN.match(p["sku"]), p["sku"]
        assert p["units"][0] == {"unit": p["base_unit"], "per_base": 1}, p["sku"]
        assert _unique(u["unit"] for u in p["units"]), p["sku"]
        assert {u["unit"] for u in p["units"]} <= UNIT_NAMES, p["sku"]
        assert all(u["per_base"] > 0 for u in p["units"]), p["sku"]
        assert p["unit_price"] > 0 and round(p["unit_price"], 2) == p["unit_price"], p["sku"]


def test_similar_products_have_different_base_units(ds):
    bases = {p["base_unit"] for p in ds["products"] if p["family"] == "inkjet-media"}
    assert {"rol", "mtr"} <= bases


def test_catalog_generator_is_deterministic(ds):
    from mailorder.data import make_catalog

    assert make_catalog.build_catalog() == ds["products"]


# ---------------------------------------------------------------- customers
def test_contacts_point_to_companies(ds):
    companies = {c["id"]: c for c in ds["companies"]}
    contacts = {c["id"]: c for c in ds["contacts"]}
    assert _unique(c["id"] for c in ds["companies"]) and _unique(contacts)
    assert _unique(c["company_id"] for c in ds["companies"])
    assert _unique(c["email_address"].lower() for c in ds["contacts"])
    for c in ds["contacts"]:
        assert c["company_id"] in companies, c
    for c in ds["companies"]:
        assert re.match(r"^COMP-\d{3}$", c["company_id"])
        assert contacts[c["default_contact_id"]]["company_id"] == c["id"], c
    names = Counter(c["company_name"] for c in ds["companies"])
    assert names[None] >= 1 and any(n > 1 for name, n in names.items() if name), "null and duplicate names"
    assert any(c.get("rep_email") for c in ds["companies"])


# ---------------------------------------------------------------- emails and truth
def test_emails_mix(ds):
    emails = ds["emails"]
    assert len(emails) >= 20
    assert _unique(e["email_id"] for e in emails)
    flags = Counter(e["is_order_email"] for e in emails)
    assert flags[True] >= 15 and flags[False] >= 5
    for e in emails:
        assert e["body_text"].strip() and e["body_html"].strip()
        assert e["processing_status"] == ("Completed" if e["is_order_email"] else "Not an order")
        assert e["recipients"] == "orders@example.com"


def test_every_order_email_linked_and_non_orders_unlinked(ds):
    linked = Counter(link["email_id"] for link in ds["order_emails"])
    order_ids = {o["id"] for o in ds["orders"]}
    assert _unique(order_ids)
    assert {link["order_id"] for link in ds["order_emails"]} == order_ids
    for e in ds["emails"]:
        assert (linked[e["email_id"]] > 0) == e["is_order_email"], e["subject"]
    assert set(linked) <= {e["email_id"] for e in ds["emails"]}


def test_truth_lines_reference_catalog_with_valid_units(ds):
    catalog = {p["sku"]: p for p in ds["products"]}
    orders_with_lines = Counter(line["order_id"] for line in ds["order_lines"])
    assert _unique(line["id"] for line in ds["order_lines"])
    for o in ds["orders"]:
        assert orders_with_lines[o["id"]] > 0, o
    for line in ds["order_lines"]:
        p = catalog[line["sku"]]
        assert p["active"], line
        assert line["product_name"] == p["name"]
        assert line["unit"] in {u["unit"] for u in p["units"]}, line
        assert line["qty"] > 0


def test_unknown_senders_are_not_contacts(ds):
    contacts = {c["id"]: c for c in ds["contacts"]}
    by_email = {c["email_address"].lower(): c for c in ds["contacts"]}
    order_by_email = {link["email_id"]: link["order_id"] for link in ds["order_emails"]}
    orders = {o["id"]: o for o in ds["orders"]}
    unknown = 0
    for e in ds["emails"]:
        if not e["is_order_email"]:
            continue
        contact_id = orders[order_by_email[e["email_id"]]]["contact_id"]
        sender = by_email.get(e["sender"].lower())
        if contact_id in contacts:
            assert sender and sender["id"] == contact_id, e["subject"]
        else:
            assert sender is None, e["subject"]
            unknown += 1
    assert unknown >= 2


# ---------------------------------------------------------------- scorer round trip
def _predictions_from_truth(ds) -> list[dict]:
    companies = {c["id"]: c["company_id"] for c in ds["companies"]}
    contacts = {c["id"]: c for c in ds["contacts"]}
    orders = {o["id"]: o for o in ds["orders"]}
    order_of = {link["email_id"]: link["order_id"] for link in ds["order_emails"]}
    preds = []
    for e in ds["emails"]:
        order = orders.get(order_of.get(e["email_id"]))
        contact = contacts.get(order["contact_id"]) if order else None
        lines = [
            {"sku": ln["sku"], "qty": ln["qty"], "unit": ln["unit"], "reference": ln["reference"] or None}
            for ln in ds["order_lines"]
            if order and ln["order_id"] == order["id"]
        ]
        preds.append(
            {
                "email_id": e["email_id"],
                "is_order": order is not None,
                "customer": {
                    "company_id": companies[contact["company_id"]] if contact else None,
                    "contact_email": e["sender"],
                },
                "lines": lines,
                "reference": None,
                "delivery_date": None,
                "confidence": 1.0,
                "needs_review": bool(order is not None and contact is None),
            }
        )
    return preds


@pytest.mark.skipif(not SCORER.exists(), reason="shared scorer not available")
def test_shared_scorer_gives_perfect_scores_on_own_truth(ds, tmp_path):
    pred_file = tmp_path / "preds.jsonl"
    pred_file.write_text("".join(json.dumps(p) + "\n" for p in _predictions_from_truth(ds)), encoding="utf-8")
    run = subprocess.run(
        [sys.executable, str(SCORER), "--truth", str(DATA), "--pred", str(pred_file), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    metrics = json.loads(run.stdout.strip().splitlines()[-1])
    for key in (
        "triage_accuracy",
        "triage_precision",
        "triage_recall",
        "customer_accuracy",
        "line_precision",
        "line_recall",
        "line_f1",
        "sku_recall",
        "perfect_order_rate",
    ):
        assert metrics[key] == pytest.approx(1.0), key
    assert metrics["unsafe_automation_rate"] == 0.0
    assert metrics["safe_automation_rate"] == pytest.approx(metrics["safe_automation_ceiling"])
    assert metrics["n_emails"] == len(ds["emails"])


@pytest.mark.skipif(not SCORER.exists(), reason="shared scorer not available")
def test_shared_scorer_self_test_on_own_truth():
    run = subprocess.run(
        [sys.executable, str(SCORER), "--self-test", "--truth", str(DATA)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stdout[-2000:]


# ---------------------------------------------------------------- benchmark catalog generator
def test_generate_catalog_scales_with_consistent_products(ds):
    from benchmarks.gen_catalog import generate_catalog

    base = ds["products"]
    products = generate_catalog(base, 3000, seed=1)
    assert len(products) == 3000
    assert products[: len(base)] == base
    assert _unique(p["sku"] for p in products) and _unique(p["name"] for p in products)
    base_families = {p["family"] for p in base}
    for p in products:
        assert SKU_PATTERN.match(p["sku"]) and p["family"] in base_families
        assert p["units"][0] == {"unit": p["base_unit"], "per_base": 1}
        assert all(u["per_base"] > 0 for u in p["units"]) and p["unit_price"] > 0
    assert generate_catalog(base, 3000, seed=1) == products
    assert generate_catalog(base, 10) == base[:10]


def test_generated_roll_units_follow_the_name():
    from benchmarks.gen_catalog import generate_catalog

    base = [
        {
            "sku": "06-0104-0100",
            "name": "ORACAL® 751C High Performance Cast 010 wit 1000 mm x 50 M 60 µ",
            "base_unit": "mtr",
            "units": [
                {"unit": "mtr", "per_base": 1},
                {"unit": "rol", "per_base": 50},
                {"unit": "m2", "per_base": 1},
                {"unit": "pallet", "per_base": 1200},
            ],
            "unit_price": 8.0,
            "family": "vinyl-cast",
            "active": True,
        }
    ]
    for p in generate_catalog(base, 200, seed=2)[1:]:
        width, length = map(int, re.search(r"(\d{3,4}) mm x (\d+) M", p["name"]).groups())
        units = {u["unit"]: u["per_base"] for u in p["units"]}
        assert units["rol"] == length
        assert units["m2"] == pytest.approx(1000 / width, rel=1e-6)
        assert p["sku"].startswith("06-0104-")
