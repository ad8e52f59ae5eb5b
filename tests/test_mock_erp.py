"""The mock ERP: endpoints over ASGITransport, plus one real loopback server with a file DB."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx
import pytest

from mailorder.mock_erp.app import create_app
from mailorder.mock_erp.dataset import read_dataset
from mailorder.mock_erp.faults import Faults
from mailorder.mock_erp.server import ErpServer, sqlite_url
from tests.conftest import ROOT, SHARED_EVAL

ROLL_SKU = "11-1111-0001"  # base unit mtr, also sold per rol of 50 m
SHEET_SKU = "22-2222-0002"  # base unit plaat
INACTIVE_SKU = "33-3333-0003"


def write_dataset(folder: Path, *, roll_price: float = 2.5) -> Path:
    """A tiny made-up dataset in the interchange format."""
    folder.mkdir(parents=True, exist_ok=True)
    products = [
        {
            "sku": ROLL_SKU,
            "name": "Testfolie glanzend wit 1260 mm x 50 M",
            "base_unit": "mtr",
            "units": [{"unit": "mtr", "per_base": 1}, {"unit": "rol", "per_base": 50}],
            "unit_price": roll_price,
            "family": "vinyl-cast",
            "active": True,
        },
        {
            "sku": SHEET_SKU,
            "name": "Testplaat PVC schuim wit 3 mm",
            "base_unit": "plaat",
            "units": [{"unit": "plaat", "per_base": 1}, {"unit": "pallet", "per_base": 100}],
            "unit_price": 12.4,
            "family": "sheet-pvc-foam",
            "active": True,
        },
        {
            "sku": INACTIVE_SKU,
            "name": "Oude testtape mat zwart",
            "base_unit": "rol",
            "units": [{"unit": "rol", "per_base": 1}],
            "unit_price": 3.0,
            "family": "application-tape",
            "active": False,
        },
    ]
    companies = [
        {
            "id": 1,
            "company_id": "COMP-001",
            "company_name": "Alpha Signs",
            "default_contact_id": 11,
            "rep_email": "rep.alpha@distributor.test",
        },
        {"id": 2, "company_id": "COMP-002", "company_name": None, "default_contact_id": 99},
    ]
    contacts = [
        {"id": 10, "company_id": 1, "email_address": "buyer@alpha.test"},
        {"id": 11, "company_id": 1, "email_address": "Office@Alpha.test"},
        {"id": 20, "company_id": 2, "email_address": "orders@beta.test"},
        {"id": 30, "company_id": 77, "email_address": "orphan@nowhere.test"},
    ]
    for name, rows in (("products", products), ("companies", companies), ("contacts", contacts)):
        (folder / f"{name}.json").write_text(json.dumps(rows), encoding="utf-8")
    return folder


def order_body(**overrides) -> dict:
    order = {
        "customer_name": "Alpha Signs",
        "customer_id": "COMP-001",
        "reference": "PO-7",
        "delivery_date": "2026-03-10",
        "comment": "achterom leveren",
        "products": [
            {"sku": ROLL_SKU, "product_name": "Testfolie", "quantity": 2, "unit_price": 125.0, "unit": "rol"},
            {
                "sku": SHEET_SKU,
                "product_name": "Testplaat",
                "quantity": 3,
                "unit_price": 12.4,
                "unit": "plaat",
            },
        ],
        "total_amount": 287.2,
    }
    order.update(overrides)
    return {"orderRequest": order}


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    return write_dataset(tmp_path / "dataset")


@pytest.fixture
def app(dataset, clock):
    return create_app(dataset, faults=Faults(), clock=clock)


@pytest.fixture
async def api(app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://erp") as client:
        yield client


def assert_error_shape(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False and body["code"] == code and body["error"]
    return body


# --- catalog -----------------------------------------------------------------------------------
async def test_products_list_page_search_and_version(api):
    everything = await api.get("/api/products", params={"limit": 100000})
    body = everything.json()
    assert body["total"] == 3 and [p["sku"] for p in body["items"]] == [ROLL_SKU, SHEET_SKU, INACTIVE_SKU]
    version = body["catalog_version"]
    assert everything.headers["x-catalog-version"] == version
    assert everything.headers["etag"] == f'"{version}"'

    page = (await api.get("/api/products", params={"limit": 1, "offset": 1})).json()
    assert page["total"] == 3 and [p["sku"] for p in page["items"]] == [SHEET_SKU]

    found = (await api.get("/api/products", params={"q": "WIT testplaat"})).json()
    assert [p["sku"] for p in found["items"]] == [SHEET_SKU]
    by_sku = (await api.get("/api/products", params={"q": "11-1111"})).json()
    assert [p["sku"] for p in by_sku["items"]] == [ROLL_SKU]

    not_modified = await api.get("/api/products", headers={"If-None-Match": f'"{version}"'})
    assert not_modified.status_code == 304


async def test_single_product_and_not_found_shape(api):
    product = (await api.get(f"/api/products/{ROLL_SKU}")).json()
    assert product["base_unit"] == "mtr" and product["units"][1] == {"unit": "rol", "per_base": 50.0}
    body = assert_error_shape(await api.get("/api/products/99-9999-9999"), 404, "NOT_FOUND")
    assert "99-9999-9999" in body["error"]


async def test_bad_query_parameter_uses_the_erp_error_shape(api):
    assert_error_shape(await api.get("/api/products", params={"limit": "many"}), 422, "VALIDATION_ERROR")
    assert_error_shape(await api.get("/api/nothing-here"), 404, "NOT_FOUND")


# --- customers ---------------------------------------------------------------------------------
async def test_customer_by_email_is_case_insensitive_and_carries_rep(api):
    items = (await api.get("/api/customers", params={"email": "OFFICE@alpha.test"})).json()["items"]
    assert items == [
        {
            "company_id": "COMP-001",
            "company_name": "Alpha Signs",
            "contact_email": "Office@Alpha.test",
            "contact_id": 11,
            "rep_email": "rep.alpha@distributor.test",
        }
    ]
    assert (await api.get("/api/customers", params={"email": "nobody@alpha.test"})).json()["items"] == []
    # a contact whose company is unknown is not a customer
    assert (await api.get("/api/customers", params={"email": "orphan@nowhere.test"})).json()["items"] == []


async def test_customers_by_domain_company_and_all(api):
    by_domain = (await api.get("/api/customers", params={"domain": "alpha.test"})).json()["items"]
    assert [c["contact_id"] for c in by_domain] == [10, 11]
    assert {c["company_id"] for c in by_domain} == {"COMP-001"}

    company = (await api.get("/api/customers", params={"company_id": "COMP-001"})).json()["items"]
    assert [(c["company_id"], c["contact_id"]) for c in company] == [("COMP-001", 11)]  # default contact

    everyone = (await api.get("/api/customers")).json()["items"]
    # COMP-002's default contact is missing, so its own contact stands in; its name is null
    assert [(c["company_id"], c["contact_email"], c["company_name"]) for c in everyone] == [
        ("COMP-001", "Office@Alpha.test", "Alpha Signs"),
        ("COMP-002", "orders@beta.test", None),
    ]

    one = await api.get("/api/customers/COMP-002")
    assert one.json()["contact_id"] == 20
    assert_error_shape(await api.get("/api/customers/COMP-999"), 404, "NOT_FOUND")


# --- submit-order ------------------------------------------------------------------------------
async def test_submit_creates_an_order_that_can_be_read_back(api, clock):
    response = await api.post("/api/submit-order", json=order_body())
    assert response.status_code == 200
    created = response.json()
    assert created["success"] is True and created["message"] == "Order successfully created"
    assert created["order_id"].startswith("EXT-ORDER-")

    order = (await api.get(f"/api/orders/{created['order_id']}")).json()
    assert order["customer_name"] == "Alpha Signs" and order["customer_id"] == "COMP-001"
    assert order["reference"] == "PO-7" and order["delivery_date"] == "2026-03-10"
    assert order["total_amount"] == 287.2
    assert order["created_at"].startswith(clock.now.isoformat()[:19])
    assert [(p["sku"], p["quantity"], p["unit"], p["line_total"]) for p in order["products"]] == [
        (ROLL_SKU, 2.0, "rol", 250.0),
        (SHEET_SKU, 3.0, "plaat", 37.2),
    ]

    clock.advance(minutes=5)
    second = (await api.post("/api/submit-order", json=order_body(reference="PO-8"))).json()
    assert second["order_id"] != created["order_id"]
    listed = (await api.get("/api/orders", params={"limit": 10})).json()["items"]
    assert [o["order_id"] for o in listed] == [second["order_id"], created["order_id"]]  # newest first
    assert_error_shape(await api.get("/api/orders/EXT-ORDER-nope"), 404, "NOT_FOUND")


async def test_unit_may_be_omitted_and_defaults_to_the_base_unit(api):
    body = order_body(
        products=[{"sku": SHEET_SKU, "product_name": "", "quantity": 1, "unit_price": 12.4}],
        total_amount=12.4,
    )
    order_id = (await api.post("/api/submit-order", json=body)).json()["order_id"]
    line = (await api.get(f"/api/orders/{order_id}")).json()["products"][0]
    assert line["unit"] == "plaat" and line["product_name"] == "Testplaat PVC schuim wit 3 mm"


BAD_LINE = {"sku": ROLL_SKU, "product_name": "x", "quantity": 1, "unit_price": 2.5, "unit": "mtr"}


@pytest.mark.parametrize(
    "overrides, expected_error",
    [
        (
            {"products": [{**BAD_LINE, "sku": "PROD-123"}], "total_amount": 2.5},
            "Invalid product SKU: PROD-123",
        ),
        ({"products": [{**BAD_LINE, "quantity": 0}], "total_amount": 0}, "Invalid quantity"),
        ({"products": [{**BAD_LINE, "quantity": -2}], "total_amount": -5}, "Invalid quantity"),
        (
            {"products": [{**BAD_LINE, "unit": "doos"}], "total_amount": 2.5},
            "Invalid unit for 11-1111-0001: doos",
        ),
        ({"products": [{**BAD_LINE, "sku": INACTIVE_SKU, "unit": "rol"}], "total_amount": 2.5}, "inactive"),
        ({"products": [BAD_LINE], "total_amount": 2.52}, "does not match"),
        ({"products": [BAD_LINE], "total_amount": None}, "Missing total_amount"),
        ({"customer_name": "  ", "products": [BAD_LINE], "total_amount": 2.5}, "Missing customer_name"),
        (
            {"customer_id": "COMP-999", "products": [BAD_LINE], "total_amount": 2.5},
            "Unknown customer_id: COMP-999",
        ),
        (
            {"delivery_date": "next week", "products": [BAD_LINE], "total_amount": 2.5},
            "Invalid delivery_date",
        ),
        ({"products": [], "total_amount": 0}, "Order has no products"),
        ({"products": [{**BAD_LINE, "quantity": "lots"}], "total_amount": 2.5}, "products.0.quantity"),
    ],
)
async def test_invalid_orders_are_rejected_with_422(api, overrides, expected_error):
    body = assert_error_shape(
        await api.post("/api/submit-order", json=order_body(**overrides)), 422, "VALIDATION_ERROR"
    )
    assert expected_error in body["error"]
    assert (await api.get("/api/orders")).json()["items"] == []


async def test_total_within_one_cent_is_accepted(api):
    response = await api.post("/api/submit-order", json=order_body(products=[BAD_LINE], total_amount=2.509))
    assert response.status_code == 200


async def test_all_problems_are_listed_in_details(api):
    lines = [{**BAD_LINE, "sku": "PROD-1"}, {**BAD_LINE, "quantity": 0}]
    body = (await api.post("/api/submit-order", json=order_body(products=lines, total_amount=0))).json()
    assert body["error"] == "Invalid product SKU: PROD-1"
    assert len(body["details"]) == 2 and "Invalid quantity" in body["details"][1]


@pytest.mark.parametrize(
    "content", [b"{not json", b"[1, 2]", b'{"order": {}}', b'{"orderRequest": "x"}', b""]
)
async def test_malformed_bodies_get_400(api, content):
    response = await api.post(
        "/api/submit-order", content=content, headers={"Content-Type": "application/json"}
    )
    assert_error_shape(response, 400, "BAD_REQUEST")


# --- idempotency -------------------------------------------------------------------------------
async def test_same_idempotency_key_gives_the_first_answer_and_one_order(api):
    headers = {"Idempotency-Key": "draft-1-v1"}
    first = await api.post("/api/submit-order", json=order_body(), headers=headers)
    again = await api.post("/api/submit-order", json=order_body(), headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true" and "idempotent-replayed" not in first.headers
    other = await api.post("/api/submit-order", json=order_body(), headers={"Idempotency-Key": "draft-1-v2"})
    assert other.json()["order_id"] != first.json()["order_id"]
    orders = (await api.get("/api/orders")).json()["items"]
    assert len(orders) == 2 and orders[1]["idempotency_key"] == "draft-1-v1"


async def test_a_rejection_is_also_remembered_under_its_key(api):
    headers = {"Idempotency-Key": "k-rejected"}
    bad = await api.post("/api/submit-order", json=order_body(total_amount=1.0), headers=headers)
    again = await api.post("/api/submit-order", json=order_body(), headers=headers)
    assert bad.status_code == again.status_code == 422 and again.json() == bad.json()
    assert (await api.get("/api/orders")).json()["items"] == []


async def test_concurrent_posts_with_one_key_create_one_order(api):
    headers = {"Idempotency-Key": "race"}
    responses = await asyncio.gather(
        *(api.post("/api/submit-order", json=order_body(), headers=headers) for _ in range(12))
    )
    assert {r.status_code for r in responses} == {200}
    assert len({r.json()["order_id"] for r in responses}) == 1
    assert len((await api.get("/api/orders")).json()["items"]) == 1


# --- faults ------------------------------------------------------------------------------------
async def test_force_status_fails_every_submit_and_stores_nothing(dataset, clock):
    app = create_app(dataset, faults=Faults(force_status=503, retry_after_s=2), clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://erp") as api:
        for _ in range(2):
            response = await api.post(
                "/api/submit-order", json=order_body(), headers={"Idempotency-Key": "k"}
            )
            assert_error_shape(response, 503, "UNAVAILABLE")
            assert response.headers["retry-after"] == "2"
        assert (await api.get("/api/products")).status_code == 200  # reads are unaffected
        await api.post("/_faults", json={"force_status": None})
        ok = await api.post("/api/submit-order", json=order_body(), headers={"Idempotency-Key": "k"})
        assert ok.status_code == 200 and "idempotent-replayed" not in ok.headers


async def test_fail_next_set_at_run_time(api):
    assert (await api.post("/_faults", json={"fail_next": 2})).json()["fail_next"] == 2
    statuses = []
    for _ in range(3):
        response = await api.post("/api/submit-order", json=order_body(), headers={"Idempotency-Key": "k2"})
        statuses.append(response.status_code)
    assert statuses == [500, 500, 200]
    assert_error_shape(await api.post("/_faults", json={"error_rate": 3}), 422, "VALIDATION_ERROR")
    assert_error_shape(await api.post("/_faults", json={"fail_nxt": 1}), 422, "VALIDATION_ERROR")
    assert (await api.get("/_faults")).json()["fail_next"] == 0
    await api.post("/_faults", json={"force_status": 500, "latency_ms": 5})
    assert (await api.delete("/_faults")).json() == Faults().model_dump()
    assert len((await api.get("/api/orders")).json()["items"]) == 1


async def test_error_rate_is_seeded_and_repeatable(dataset):
    async def run() -> list[int]:
        app = create_app(dataset, faults=Faults(error_rate=0.5, seed=7))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://erp") as api:
            return [(await api.post("/api/submit-order", json=order_body())).status_code for _ in range(12)]

    first, second = await run(), await run()
    assert first == second and {500, 200} == set(first)


async def test_latency_applies_to_api_calls(dataset):
    app = create_app(dataset, faults=Faults(latency_ms=60))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://erp") as api:
        started = time.monotonic()
        await api.get("/api/products")
        assert time.monotonic() - started >= 0.06


def test_faults_from_environment():
    faults = Faults.from_env(
        {
            "MOCK_ERP_LATENCY_MS": "15",
            "MOCK_ERP_ERROR_RATE": "0.25",
            "MOCK_ERP_FORCE_STATUS": "503",
            "MOCK_ERP_FAIL_NEXT": "2",
            "MOCK_ERP_SEED": "",
        }
    )
    assert (faults.latency_ms, faults.error_rate, faults.force_status, faults.fail_next) == (15, 0.25, 503, 2)
    assert Faults.from_env({}) == Faults()


# --- persistence on a real loopback server -----------------------------------------------------
def test_real_server_keeps_orders_across_restart_and_reloads_the_catalog(tmp_path, dataset):
    db_url = sqlite_url(tmp_path / "db" / "erp.sqlite3")
    with ErpServer(dataset, db_url) as erp:
        assert httpx.get(f"{erp.url}/health").json()["status"] == "ok"
        version_before = httpx.get(f"{erp.url}/api/products").json()["catalog_version"]
        created = httpx.post(
            f"{erp.url}/api/submit-order", json=order_body(), headers={"Idempotency-Key": "persist-1"}
        ).json()

    write_dataset(dataset, roll_price=3.0)  # the master data changed while the ERP was down
    with ErpServer(dataset, db_url) as erp:
        orders = httpx.get(f"{erp.url}/api/orders").json()["items"]
        assert [o["order_id"] for o in orders] == [created["order_id"]]
        replay = httpx.post(
            f"{erp.url}/api/submit-order", json=order_body(), headers={"Idempotency-Key": "persist-1"}
        )
        assert replay.json() == created and replay.headers["idempotent-replayed"] == "true"
        assert httpx.get(f"{erp.url}/api/products/{ROLL_SKU}").json()["unit_price"] == 3.0
        assert httpx.get(f"{erp.url}/api/products").json()["catalog_version"] != version_before
        erp.faults.update({"fail_next": 1})
        assert httpx.post(f"{erp.url}/api/submit-order", json=order_body()).status_code == 500


def test_server_url_is_known_before_start_when_port_given(dataset):
    server = ErpServer(dataset, port=54321)
    assert server.url == "http://127.0.0.1:54321"
    server.app.state.backend.close()


@pytest.mark.skipif(not (ROOT / "data" / "products.json").exists(), reason="project data/ not written yet")
async def test_default_dataset_is_the_project_data_folder():
    app = create_app(faults=Faults())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://erp") as api:
        body = (await api.get("/api/products", params={"limit": 100000})).json()
        assert body["total"] == len(json.loads((ROOT / "data" / "products.json").read_text())) > 0


# --- the real eval dataset, when present -------------------------------------------------------
@pytest.mark.skipif(not (SHARED_EVAL / "dev" / "products.json").exists(), reason="eval data not present")
async def test_loads_the_eval_dataset():
    folder = SHARED_EVAL / "dev"
    dataset = read_dataset(folder)
    app = create_app(folder, faults=Faults())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://erp") as api:
        body = (await api.get("/api/products", params={"limit": 100000})).json()
        assert body["total"] == len(dataset.products) == len(body["items"])
        companies = (await api.get("/api/customers")).json()["items"]
        assert len(companies) == len(dataset.companies)
        contact = dataset.contacts[0]
        found = (await api.get("/api/customers", params={"email": contact["email_address"]})).json()["items"]
        assert all(c["contact_id"] == contact["id"] for c in found)


def test_two_processes_sharing_a_file_db_still_create_one_order(tmp_path, dataset):
    """Two backends (as two ERP processes would) race on one key; the key's constraint wins."""
    import threading

    from mailorder.mock_erp.backend import ErpBackend, request_hash
    from mailorder.mock_erp.db import make_engine
    from mailorder.mock_erp.orders import OrderRequestIn

    db_url = sqlite_url(tmp_path / "shared.sqlite3")
    backends = [ErpBackend(make_engine(db_url), read_dataset(dataset)) for _ in range(2)]
    raw = order_body()["orderRequest"]
    order = OrderRequestIn.model_validate(raw)
    start = threading.Barrier(8)
    outcomes = []

    def submit(backend: ErpBackend) -> None:
        start.wait()
        outcomes.append(backend.submit(order, [], "shared-key", request_hash(raw)))

    threads = [threading.Thread(target=submit, args=(backends[i % 2],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [o.status for o in outcomes] == [200] * 8
    assert len({o.body["order_id"] for o in outcomes}) == 1
    assert sum(not o.replayed for o in outcomes) == 1
    assert len(backends[0].list_orders(100)) == 1
    for backend in backends:
        backend.close()


def test_start_on_a_busy_port_raises(dataset):
    with ErpServer(dataset) as running:
        clash = ErpServer(dataset, port=running.port)
        with pytest.raises(OSError):
            clash.start()
        clash.app.state.backend.close()
        assert httpx.get(f"{running.url}/health").status_code == 200


# --- order history -------------------------------------------------------------------------------
HISTORY = [
    {
        "company_id": "COMP-001",
        "order_date": "2025-08-01",
        "lines": [{"sku": SHEET_SKU, "qty": 4, "unit": "plaat"}],
    },
    {
        "company_id": "COMP-001",
        "order_date": "2025-09-15",
        "lines": [{"sku": ROLL_SKU, "qty": 2, "unit": "rol"}, {"sku": SHEET_SKU, "qty": 1, "unit": None}],
    },
    {
        "company_id": "COMP-002",
        "order_date": "2025-09-20",
        "lines": [{"sku": ROLL_SKU, "qty": 30, "unit": "mtr"}],
    },
]


async def test_customer_order_history_newest_first_with_lines(dataset, clock):
    (dataset / "history.json").write_text(json.dumps(HISTORY), encoding="utf-8")
    app = create_app(dataset, faults=Faults(), clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://erp") as api:
        orders = (await api.get("/api/customers/COMP-001/orders", params={"limit": 5})).json()["items"]
        assert [o["created_at"][:10] for o in orders] == ["2025-09-15", "2025-08-01"]
        newest = orders[0]
        assert newest["customer_id"] == "COMP-001" and newest["order_id"].startswith("EXT-ORDER-20250915-")
        assert [(p["sku"], p["quantity"], p["unit"]) for p in newest["products"]] == [
            (ROLL_SKU, 2, "rol"),
            (SHEET_SKU, 1, "plaat"),  # no unit given: the product's base unit
        ]
        assert newest["products"][0]["unit_price"] == 125.0  # catalog price per roll
        one = (await api.get("/api/customers/COMP-001/orders", params={"limit": 1})).json()["items"]
        assert len(one) == 1 and one[0]["order_id"] == newest["order_id"]
        assert (await api.get("/api/customers/COMP-003/orders")).status_code == 404

        # a posted order joins the history, newest first
        created = (
            await api.post("/api/submit-order", json=order_body(), headers={"Idempotency-Key": "k1"})
        ).json()
        latest = (await api.get("/api/customers/COMP-001/orders")).json()["items"][0]
        assert latest["order_id"] == created["order_id"]


def test_history_is_loaded_once_into_a_file_database(tmp_path, dataset):
    (dataset / "history.json").write_text(json.dumps(HISTORY), encoding="utf-8")
    url = sqlite_url(tmp_path / "erp.db")
    for _ in range(2):  # a restart reloads the dataset but adds no second copy of the history
        app = create_app(dataset, url, faults=Faults())
        assert len(app.state.backend.customer_orders("COMP-001", 10)) == 2
        assert len(app.state.backend.customer_orders("COMP-002", 10)) == 1
        app.state.backend.close()


# --- inventory -----------------------------------------------------------------------------------
async def test_inventory_single_batch_and_all(api):
    one = await api.get(f"/api/inventory/{ROLL_SKU}")
    assert one.status_code == 200
    body = one.json()
    assert set(body) == {"sku", "available", "unit"} and body["sku"] == ROLL_SKU and body["unit"] == "mtr"
    assert body["available"] > 0

    batch = (await api.get("/api/inventory", params={"skus": f"{SHEET_SKU}, {ROLL_SKU},99-9999-9999"})).json()
    assert [i["sku"] for i in batch["items"]] == [SHEET_SKU, ROLL_SKU]  # in the asked order
    assert batch["unknown"] == ["99-9999-9999"]
    assert batch["items"][1] == body

    everything = (await api.get("/api/inventory")).json()
    assert [i["sku"] for i in everything["items"]] == sorted([ROLL_SKU, SHEET_SKU, INACTIVE_SKU])
    assert everything["unknown"] == []
    assert_error_shape(await api.get("/api/inventory/99-9999-9999"), 404, "NOT_FOUND")
    too_many = ",".join(f"S{i}" for i in range(1001))
    assert_error_shape(await api.get("/api/inventory", params={"skus": too_many}), 400, "BAD_REQUEST")


async def test_starting_stock_is_deterministic_and_generous(dataset):
    async def figures() -> dict[str, float]:
        app = create_app(dataset, faults=Faults())
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://erp") as api:
            return {i["sku"]: i["available"] for i in (await api.get("/api/inventory")).json()["items"]}

    first, second = await figures(), await figures()
    assert first == second
    assert 5 * 100 <= first[SHEET_SKU] <= 20 * 100  # 5 to 20 pallets of 100 sheets
    assert 5 * 50 * 20 <= first[ROLL_SKU] <= 20 * 50 * 20  # no pallet: 100 to 400 rolls of 50 m


async def test_stock_figure_from_products_json_when_present(tmp_path):
    folder = write_dataset(tmp_path / "ds")
    products = json.loads((folder / "products.json").read_text())
    products[0]["stock"] = 75
    (folder / "products.json").write_text(json.dumps(products), encoding="utf-8")
    app = create_app(folder, faults=Faults())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://erp") as api:
        assert (await api.get(f"/api/inventory/{ROLL_SKU}")).json()["available"] == 75
        catalog = (await api.get(f"/api/products/{ROLL_SKU}")).json()
        assert "stock" not in catalog  # stock is not part of the product's master data


async def test_put_sets_stock_and_validates(api):
    response = await api.put(f"/api/inventory/{SHEET_SKU}", json={"available": 6})
    assert response.status_code == 200
    assert response.json() == {"sku": SHEET_SKU, "available": 6.0, "unit": "plaat"}
    assert (await api.get(f"/api/inventory/{SHEET_SKU}")).json()["available"] == 6
    assert_error_shape(await api.put("/api/inventory/99-9999-9999", json={"available": 1}), 404, "NOT_FOUND")
    for bad in ({"available": -1}, {"available": "lots"}, {}, {"available": 1, "extra": 2}):
        assert_error_shape(await api.put(f"/api/inventory/{SHEET_SKU}", json=bad), 422, "VALIDATION_ERROR")
    assert (await api.get(f"/api/inventory/{SHEET_SKU}")).json()["available"] == 6


async def test_a_posted_order_takes_its_base_quantity_from_stock_once(api):
    await api.put(f"/api/inventory/{ROLL_SKU}", json={"available": 500})
    await api.put(f"/api/inventory/{SHEET_SKU}", json={"available": 2})
    headers = {"Idempotency-Key": "stock-1"}
    assert (await api.post("/api/submit-order", json=order_body(), headers=headers)).status_code == 200
    # 2 rol of 50 m, and 3 plaat of which only 2 were there (the rest is a backorder: stock stays at 0)
    stock = (await api.get("/api/inventory", params={"skus": f"{ROLL_SKU},{SHEET_SKU}"})).json()["items"]
    assert [i["available"] for i in stock] == [400, 0]
    replay = await api.post("/api/submit-order", json=order_body(), headers=headers)
    assert replay.headers["idempotent-replayed"] == "true"
    assert (await api.get(f"/api/inventory/{ROLL_SKU}")).json()["available"] == 400  # not taken twice
    rejected = await api.post("/api/submit-order", json=order_body(total_amount=1.0))
    assert rejected.status_code == 422
    assert (await api.get(f"/api/inventory/{ROLL_SKU}")).json()["available"] == 400
    plain = order_body(
        products=[{"sku": ROLL_SKU, "product_name": "x", "quantity": 30, "unit_price": 2.5}], total_amount=75
    )
    assert (await api.post("/api/submit-order", json=plain)).status_code == 200  # no unit: the base unit
    assert (await api.get(f"/api/inventory/{ROLL_SKU}")).json()["available"] == 370


def test_stock_is_taken_in_the_transaction_that_stores_the_order(dataset, monkeypatch):
    """When storing the order fails, the stock it would have taken stays."""
    from mailorder.mock_erp.backend import ErpBackend, request_hash
    from mailorder.mock_erp.db import make_engine
    from mailorder.mock_erp.orders import OrderRequestIn

    backend = ErpBackend(make_engine("sqlite://"), read_dataset(dataset))
    backend.set_stock(ROLL_SKU, 500)
    raw = order_body()["orderRequest"]

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk full")

    original = ErpBackend._create_order

    def create_then_fail(self, session, order, key):
        original(self, session, order, key)  # order rows and stock change are flushed ...
        broken()  # ... and rolled back together

    monkeypatch.setattr(ErpBackend, "_create_order", create_then_fail)
    with pytest.raises(RuntimeError):
        backend.submit(OrderRequestIn.model_validate(raw), [], "k", request_hash(raw))
    assert backend.stock([ROLL_SKU])[0][0].available == 500 and backend.list_orders(10) == []
    monkeypatch.setattr(ErpBackend, "_create_order", original)
    backend.submit(OrderRequestIn.model_validate(raw), [], "k", request_hash(raw))
    assert backend.stock([ROLL_SKU])[0][0].available == 400 and len(backend.list_orders(10)) == 1
    backend.close()


async def test_inventory_fault_fails_only_the_inventory(api):
    await api.post("/_faults", json={"inventory_status": 503, "retry_after_s": 1})
    for call in (
        api.get(f"/api/inventory/{ROLL_SKU}"),
        api.get("/api/inventory", params={"skus": ROLL_SKU}),
        api.put(f"/api/inventory/{ROLL_SKU}", json={"available": 1}),
    ):
        response = await call
        assert_error_shape(response, 503, "UNAVAILABLE")
        assert response.headers["retry-after"] == "1"
    assert (await api.get(f"/api/products/{ROLL_SKU}")).status_code == 200
    assert (await api.post("/api/submit-order", json=order_body())).status_code == 200
    await api.delete("/_faults")
    assert (await api.get(f"/api/inventory/{ROLL_SKU}")).status_code == 200
    assert Faults.from_env({"MOCK_ERP_INVENTORY_STATUS": "500"}).inventory_status == 500


def test_stock_survives_a_restart_and_follows_the_catalog(tmp_path, dataset):
    db_url = sqlite_url(tmp_path / "erp.sqlite3")
    with ErpServer(dataset, db_url) as erp:
        httpx.put(f"{erp.url}/api/inventory/{ROLL_SKU}", json={"available": 500}).raise_for_status()
        httpx.post(f"{erp.url}/api/submit-order", json=order_body()).raise_for_status()
    products = json.loads((dataset / "products.json").read_text())
    (dataset / "products.json").write_text(json.dumps(products[:2]), encoding="utf-8")  # one dropped
    with ErpServer(dataset, db_url) as erp:
        assert httpx.get(f"{erp.url}/api/inventory/{ROLL_SKU}").json()["available"] == 400
        everything = httpx.get(f"{erp.url}/api/inventory").json()["items"]
        assert sorted(i["sku"] for i in everything) == [ROLL_SKU, SHEET_SKU]
