"""The ERP contract from both sides: the client (tools.erp_client, mailorder.domain) and the mock
ERP (mock_erp.contract, mock_erp.orders) keep their own models, so a drift shows up here."""

import httpx

from mailorder.domain import Customer, Draft, DraftLine, Product
from mailorder.mock_erp.app import create_app
from mailorder.mock_erp.contract import ErpCustomer, ErpProduct, ErpStock, ErpStockUpdate
from mailorder.mock_erp.orders import OrderLineIn, OrderRequestIn
from mailorder.tools.erp_client import ErpClient, build_order_request
from mailorder.tools.stock import StockLevel
from tests.test_mock_erp import ROLL_SKU, SHEET_SKU, write_dataset


def test_every_field_the_client_sends_is_one_the_erp_reads():
    draft = Draft(
        customer=Customer(company_id="COMP-001", company_name="Test BV"),
        reference="PO-1",
        lines=[DraftLine(sku=ROLL_SKU, qty=2, unit="rol", unit_price=125.0, product_name="Testfolie")],
    )
    body = build_order_request(draft)
    request = body["orderRequest"]
    assert set(body) == {"orderRequest"}
    assert set(request) <= set(OrderRequestIn.model_fields)
    assert all(set(line) <= set(OrderLineIn.model_fields) for line in request["products"])
    parsed = OrderRequestIn.model_validate(request)
    assert parsed.customer_id == "COMP-001" and parsed.products[0].quantity == 2


def test_the_client_models_hold_every_field_the_erp_answers():
    assert set(ErpProduct.model_fields) == set(Product.model_fields)
    assert set(ErpCustomer.model_fields) == set(Customer.model_fields)
    assert set(ErpStock.model_fields) == set(StockLevel.model_fields)


async def test_the_client_reads_the_erps_answers(tmp_path):
    app = create_app(write_dataset(tmp_path), "sqlite://")
    async with ErpClient("http://erp", transport=httpx.ASGITransport(app=app)) as erp:
        products, _version = await erp.list_products()
        sheet = await erp.get_product(SHEET_SKU)
        customers = await erp.list_customers()
    assert {p.sku for p in products} >= {ROLL_SKU, SHEET_SKU}
    roll = next(p for p in products if p.sku == ROLL_SKU)
    assert roll.unit_option("rol").per_base == 50 and roll.base_unit == "mtr"
    assert sheet is not None and sheet.base_unit == "plaat"
    assert customers and all(c.company_id.startswith("COMP-") for c in customers)


class RecordingTransport(httpx.AsyncBaseTransport):
    """The ASGI app behind a transport that keeps every request the client sends."""

    def __init__(self, app) -> None:
        self._inner = httpx.ASGITransport(app=app)
        self.sent: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        return await self._inner.handle_async_request(request)


async def test_the_client_reads_stock_and_the_erp_reads_its_stock_update(tmp_path):
    app = create_app(write_dataset(tmp_path), "sqlite://")
    transport = RecordingTransport(app)
    async with ErpClient("http://erp", transport=transport) as erp:
        updated = await erp.set_stock(SHEET_SKU, 6)
        levels = await erp.stock_levels([SHEET_SKU, ROLL_SKU, "99-9999-9999"])
        one = await erp.get_stock(ROLL_SKU)
        missing = await erp.get_stock("99-9999-9999")
    put = next(r for r in transport.sent if r.method == "PUT")
    ErpStockUpdate.model_validate_json(put.content)  # what the client sends is what the ERP reads
    assert updated == StockLevel(sku=SHEET_SKU, available=6, unit="plaat")
    assert set(levels) == {SHEET_SKU, ROLL_SKU} and levels[SHEET_SKU] == updated
    assert one == levels[ROLL_SKU] and one.unit == "mtr" and missing is None
