"""The agent's ERP client against a real mock ERP on loopback (and once over ASGITransport)."""

from __future__ import annotations

import socket
import time
from datetime import UTC, date

import httpx
import pytest

from mailorder.domain import Customer, Draft, DraftLine
from mailorder.mock_erp.app import create_app
from mailorder.mock_erp.faults import Faults
from mailorder.mock_erp.server import ErpServer
from mailorder.tools.erp_client import (
    ErpClient,
    ErpRejected,
    ErpUnavailable,
    SubmitResult,
    build_order_request,
    parse_retry_after,
)
from tests.test_mock_erp import ROLL_SKU, SHEET_SKU, write_dataset

FAST = dict(timeout=2.0, max_attempts=4, backoff_initial=0.01, backoff_max=0.05)


class CountingTransport(httpx.AsyncBaseTransport):
    """A real HTTP transport that records every request it sends."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.sent: list[tuple[str, str]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append((request.method, request.url.path))
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


@pytest.fixture
def erp(tmp_path, clock):
    with ErpServer(write_dataset(tmp_path / "dataset"), faults=Faults(), clock=clock) as server:
        yield server


@pytest.fixture
def transport() -> CountingTransport:
    return CountingTransport()


@pytest.fixture
async def client(erp, transport):
    async with ErpClient(erp.url, transport=transport, **FAST) as erp_client:
        yield erp_client


def draft(**overrides) -> Draft:
    values = dict(
        customer=Customer(
            company_id="COMP-001", company_name="Alpha Signs", contact_email="buyer@alpha.test"
        ),
        reference="PO-7",
        delivery_date=date(2026, 3, 10),
        comment="achterom",
        lines=[
            DraftLine(sku=ROLL_SKU, product_name="Testfolie", qty=2, unit="rol", unit_price=125.0),
            DraftLine(sku=SHEET_SKU, product_name="Testplaat", qty=3, unit="plaat", unit_price=12.4),
        ],
    )
    values.update(overrides)
    return Draft(**values)


async def test_catalog_and_single_products(client, erp):
    products, version = await client.list_products()
    assert [p.sku for p in products][:2] == [ROLL_SKU, SHEET_SKU] and len(products) == 3
    assert version and version == httpx.get(f"{erp.url}/health").json()["catalog_version"]
    roll = await client.get_product(ROLL_SKU)
    assert roll is not None and roll.unit_option("rol").per_base == 50
    assert await client.get_product("99-9999-9999") is None


async def test_customer_lookups(client):
    buyer = await client.customer_by_email(" Buyer@Alpha.test ")
    assert buyer == Customer(
        company_id="COMP-001",
        company_name="Alpha Signs",
        contact_email="buyer@alpha.test",
        contact_id=10,
        rep_email="rep.alpha@distributor.test",
    )
    assert await client.customer_by_email("stranger@alpha.test") is None
    assert [c.contact_id for c in await client.customers_by_domain("@alpha.test")] == [10, 11]
    assert [c.company_id for c in await client.list_customers()] == ["COMP-001", "COMP-002"]
    assert (await client.get_customer("COMP-002")).contact_email == "orders@beta.test"
    assert await client.get_customer("COMP-404") is None


async def test_submit_a_draft_and_read_the_order_back(client, transport):
    result = await client.submit_order(build_order_request(draft()), idempotency_key="mailorder-1-v1")
    assert isinstance(result, SubmitResult) and result.order_id.startswith("EXT-ORDER-")
    assert result.message == "Order successfully created" and result.raw["success"] is True
    assert not result.replayed
    order = await client.get_order(result.order_id)
    assert order["total_amount"] == 287.2 and order["customer_id"] == "COMP-001"
    assert [o["order_id"] for o in await client.list_orders(limit=5)] == [result.order_id]
    assert await client.get_order("EXT-ORDER-missing") is None

    again = await client.submit_order(build_order_request(draft()), idempotency_key="mailorder-1-v1")
    assert again.order_id == result.order_id and again.replayed
    assert len(await client.list_orders()) == 1


async def test_inner_order_request_is_wrapped(client):
    inner = build_order_request(draft())["orderRequest"]
    result = await client.submit_order(inner, idempotency_key="inner-1")
    assert (await client.get_order(result.order_id))["reference"] == "PO-7"


async def test_rejection_carries_the_erp_error_and_is_not_retried(client, transport):
    bad = draft(lines=[DraftLine(sku="PROD-123", product_name="?", qty=1, unit=None, unit_price=1.0)])
    with pytest.raises(ErpRejected) as caught:
        await client.submit_order(build_order_request(bad), idempotency_key="bad-1")
    assert caught.value.error == "Invalid product SKU: PROD-123"
    assert (caught.value.code, caught.value.status) == ("VALIDATION_ERROR", 422)
    assert transport.sent.count(("POST", "/api/submit-order")) == 1


async def test_two_500s_then_success_gives_one_order(client, erp, transport):
    erp.faults.update({"fail_next": 2})
    result = await client.submit_order(build_order_request(draft()), idempotency_key="retry-1")
    assert transport.sent.count(("POST", "/api/submit-order")) == 3
    orders = await client.list_orders()
    assert [o["order_id"] for o in orders] == [result.order_id]
    assert orders[0]["idempotency_key"] == "retry-1"


async def test_persistent_503_ends_in_unavailable_after_bounded_attempts(erp, transport):
    erp.faults.update({"force_status": 503})
    async with ErpClient(erp.url, transport=transport, **{**FAST, "max_attempts": 3}) as client:
        with pytest.raises(ErpUnavailable) as caught:
            await client.submit_order(build_order_request(draft()), idempotency_key="down-1")
        assert caught.value.attempts == 3 and caught.value.status == 503
        assert "UNAVAILABLE" in caught.value.last_error
        assert transport.sent.count(("POST", "/api/submit-order")) == 3
        erp.faults.update({"force_status": None})
        assert await client.list_orders() == []


async def test_retry_after_header_is_honoured(erp, client):
    erp.faults.update({"fail_next": 1, "retry_after_s": 0.2})
    started = time.monotonic()
    await client.submit_order(build_order_request(draft()), idempotency_key="later-1")
    assert time.monotonic() - started >= 0.2


async def test_timeouts_end_in_unavailable(erp, transport):
    erp.faults.update({"latency_ms": 400})
    async with ErpClient(
        erp.url, transport=transport, timeout=0.05, max_attempts=2, backoff_initial=0.01, backoff_max=0.02
    ) as client:
        started = time.monotonic()
        with pytest.raises(ErpUnavailable) as caught:
            await client.list_products()
        assert caught.value.attempts == 2 and "timeout" in caught.value.last_error
        assert time.monotonic() - started < 0.4
    assert len(transport.sent) == 2


async def test_connection_refused_ends_in_unavailable():
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with ErpClient(
        f"http://127.0.0.1:{port}", max_attempts=2, backoff_initial=0.01, backoff_max=0.02
    ) as client:
        with pytest.raises(ErpUnavailable) as caught:
            await client.customer_by_email("a@b.test")
        assert caught.value.attempts == 2 and "connection error" in caught.value.last_error
        assert await client.health() is False


async def test_works_over_asgi_transport(tmp_path):
    app = create_app(write_dataset(tmp_path / "ds"), faults=Faults())
    async with ErpClient("http://erp", transport=httpx.ASGITransport(app=app), **FAST) as client:
        assert await client.health()
        result = await client.submit_order(build_order_request(draft()), idempotency_key="asgi-1")
        assert (await client.get_order(result.order_id))["order_id"] == result.order_id


# --- build_order_request (pure) ----------------------------------------------------------------
def test_build_order_request_maps_a_draft():
    body = build_order_request(
        draft(
            lines=[
                DraftLine(sku=ROLL_SKU, product_name="Testfolie", qty=3, unit="m2", unit_price=1.984126984),
                DraftLine(sku=None, product_name="?", qty=1, unit=None),
                DraftLine(sku=SHEET_SKU, product_name="Testplaat", qty=None, unit="plaat", unit_price=12.4),
                DraftLine(sku=SHEET_SKU, product_name="Testplaat", qty=0.5, unit="pallet", unit_price=1240.0),
            ]
        )
    )
    order = body["orderRequest"]
    assert order["customer_name"] == "Alpha Signs" and order["customer_id"] == "COMP-001"
    assert order["delivery_date"] == "2026-03-10" and order["reference"] == "PO-7"
    assert [(p["sku"], p["quantity"], p["unit"]) for p in order["products"]] == [
        (ROLL_SKU, 3, "m2"),
        (SHEET_SKU, 0.5, "pallet"),
    ]
    assert order["total_amount"] == round(3 * 1.984127 + 620.0, 2) == 625.95


def test_build_order_request_falls_back_to_company_id_and_refuses_empty_drafts():
    nameless = draft(customer=Customer(company_id="COMP-002"), delivery_date=None)
    order = build_order_request(nameless)["orderRequest"]
    assert order["customer_name"] == "COMP-002" and order["delivery_date"] is None
    with pytest.raises(ValueError):
        build_order_request(draft(customer=None))
    with pytest.raises(ValueError):
        build_order_request(draft(lines=[DraftLine(sku=None, qty=1, unit=None)]))


def test_parse_retry_after():
    assert (
        parse_retry_after("3") == 3.0
        and parse_retry_after(None) is None
        and parse_retry_after("soon") is None
    )
    from datetime import datetime

    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert parse_retry_after("Mon, 02 Mar 2026 09:00:05 GMT", now=now) == 5.0


async def test_backoff_grows_and_is_capped():
    async with ErpClient("http://erp.invalid", backoff_initial=0.5, backoff_max=8.0) as client:
        delays = [client.backoff_seconds(n) for n in range(1, 8)]
    assert 0.5 <= delays[0] <= 1.0 and 1.0 <= delays[1] <= 1.5 and 2.0 <= delays[2] <= 2.5
    assert all(d <= 8.0 for d in delays) and delays[-1] == 8.0


async def test_loopback_round_trips_are_fast(client):
    """Guards against Nagle + delayed ACK (~40 ms per response) on the server's sockets."""
    await client.list_orders()
    started = time.monotonic()
    for _ in range(20):
        await client.get_order("EXT-ORDER-none")
    assert time.monotonic() - started < 0.5


class LoseFirstSubmitAnswer(httpx.AsyncBaseTransport):
    """Delivers the first submit to the ERP but 'loses' its answer, as a dropped connection would."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.lost = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if request.url.path == "/api/submit-order" and not self.lost:
            await response.aread()
            self.lost += 1
            raise httpx.ReadTimeout("answer lost", request=request)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


async def test_lost_answer_is_recovered_by_the_idempotency_key(erp):
    transport = LoseFirstSubmitAnswer()
    async with ErpClient(erp.url, transport=transport, **FAST) as client:
        result = await client.submit_order(build_order_request(draft()), idempotency_key="lost-1")
        assert transport.lost == 1 and result.replayed
        assert [o["order_id"] for o in await client.list_orders()] == [result.order_id]


async def test_customer_orders_are_read_as_past_orders(tmp_path, clock):
    import json as _json

    folder = write_dataset(tmp_path / "ds")
    history = [
        {
            "company_id": "COMP-001",
            "order_date": "2025-09-15",
            "lines": [{"sku": ROLL_SKU, "qty": 2, "unit": "rol"}],
        }
    ]
    (folder / "history.json").write_text(_json.dumps(history), encoding="utf-8")
    app = create_app(folder, faults=Faults(), clock=clock)
    async with ErpClient("http://erp", transport=httpx.ASGITransport(app=app)) as erp:
        orders = await erp.customer_orders("COMP-001", limit=3)
        assert len(orders) == 1 and orders[0].created_at is not None
        assert [(ln.sku, ln.qty, ln.unit) for ln in orders[0].lines] == [(ROLL_SKU, 2, "rol")]
        assert "2025-09-15" in orders[0].label
        assert await erp.customer_orders("COMP-404") == []  # unknown customer: no history


# --- stock ---------------------------------------------------------------------------------------
async def test_stock_of_a_draft_is_one_request(client, transport):
    await client.set_stock(SHEET_SKU, 6)
    transport.sent.clear()
    levels = await client.stock_levels([ROLL_SKU, SHEET_SKU, ROLL_SKU, "99-9999-9999"])
    assert transport.sent == [("GET", "/api/inventory")]
    assert levels[SHEET_SKU].available == 6 and levels[SHEET_SKU].unit == "plaat"
    assert levels[ROLL_SKU].unit == "mtr" and "99-9999-9999" not in levels
    assert await client.stock_levels([]) == {} and len(transport.sent) == 1  # nothing to ask


async def test_many_skus_are_asked_in_batches(client, transport):
    skus = [ROLL_SKU, *(f"00-0000-{i:04d}" for i in range(150))]
    levels = await client.stock_levels(skus)
    assert transport.sent == [("GET", "/api/inventory")] * 2 and set(levels) == {ROLL_SKU}


async def test_stock_failures_are_retried_and_end_in_unavailable(erp, client, transport):
    erp.faults.update({"inventory_status": 503})
    with pytest.raises(ErpUnavailable) as caught:
        await client.stock_levels([ROLL_SKU])
    assert caught.value.attempts == FAST["max_attempts"] and caught.value.status == 503
    assert transport.sent.count(("GET", "/api/inventory")) == FAST["max_attempts"]
    erp.faults.update({"inventory_status": 404})  # a 4xx is not retried
    with pytest.raises(ErpRejected):
        await client.stock_levels([ROLL_SKU])
    erp.faults.update({"inventory_status": None})
    assert (await client.get_stock(ROLL_SKU)).sku == ROLL_SKU
    assert await client.get_stock("99-9999-9999") is None
    with pytest.raises(ErpRejected):
        await client.set_stock("99-9999-9999", 1)


async def test_posted_orders_take_stock(client):
    await client.set_stock(ROLL_SKU, 500)
    await client.submit_order(build_order_request(draft()), idempotency_key="stock-1")
    assert (await client.get_stock(ROLL_SKU)).available == 400  # 2 rol of 50 m
