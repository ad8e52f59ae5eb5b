"""The mock ERP's HTTP API (FastAPI). Build it with `create_app(dataset_dir, db_url, faults, clock)`."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from fastapi import FastAPI, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from mailorder.mock_erp.backend import Clock, ErpBackend, request_hash, utc_now
from mailorder.mock_erp.contract import ErpStockList, ErpStockUpdate
from mailorder.mock_erp.dataset import default_dataset_dir, read_dataset
from mailorder.mock_erp.db import make_engine
from mailorder.mock_erp.errors import (
    code_for_status,
    describe_validation_errors,
    error_response,
    install_error_handlers,
)
from mailorder.mock_erp.faults import FaultInjector, Faults
from mailorder.mock_erp.orders import OrderRequestIn

MAX_PAGE = 100_000
MAX_STOCK_SKUS = 1000  # SKUs in one GET /api/inventory?skus=...


def create_app(
    dataset_dir: Path | None = None,
    db_url: str = "sqlite:///:memory:",
    faults: Faults | None = None,
    clock: Clock = utc_now,
) -> FastAPI:
    """A ready app: the dataset is loaded into the DB before this returns (no lifespan needed).

    faults=None reads MOCK_ERP_* environment variables. `app.state.backend` and
    `app.state.faults` (a FaultInjector) are exposed for tests and the server wrapper.
    """
    dataset = read_dataset(Path(dataset_dir) if dataset_dir else default_dataset_dir())
    backend = ErpBackend(make_engine(db_url), dataset, clock)
    injector = FaultInjector(faults if faults is not None else Faults.from_env())

    app = FastAPI(title="mock ERP", version="1.0")
    app.state.backend = backend
    app.state.faults = injector
    install_error_handlers(app)

    @app.middleware("http")
    async def _inject_latency(request: Request, call_next):
        delay = injector.latency_seconds()
        if delay > 0 and request.url.path.startswith("/api/"):
            await asyncio.sleep(delay)
        return await call_next(request)

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok", "catalog_version": backend.catalog_version}

    @app.get("/_faults")
    async def get_faults() -> dict:
        return injector.faults.model_dump()

    @app.post("/_faults")
    async def set_faults(request: Request) -> Response:
        try:
            changes = json.loads(await request.body() or b"{}")
            if not isinstance(changes, dict):
                raise ValueError("expected a JSON object")
            return JSONResponse(injector.update(changes).model_dump())
        except ValidationError as exc:
            details = describe_validation_errors(exc.errors())
            return error_response(422, "; ".join(details), "VALIDATION_ERROR", details=details)
        except ValueError as exc:
            return error_response(400, f"Malformed faults body: {exc}", "BAD_REQUEST")

    @app.delete("/_faults")
    async def reset_faults() -> dict:
        return injector.reset().model_dump()

    @app.get("/api/products")
    async def list_products(
        request: Request,
        q: str | None = None,
        limit: int = Query(50, ge=1, le=MAX_PAGE),
        offset: int = Query(0, ge=0),
    ) -> Response:
        version = backend.catalog_version
        headers = {"ETag": f'"{version}"', "X-Catalog-Version": version}
        if request.headers.get("if-none-match") == headers["ETag"] and not q:
            return Response(status_code=304, headers=headers)
        items, total = await run_in_threadpool(backend.list_products, q, limit, offset)
        body = {"items": [p.model_dump() for p in items], "total": total, "catalog_version": version}
        return JSONResponse(body, headers=headers)

    @app.get("/api/products/{sku}")
    async def get_product(sku: str) -> Response:
        product = await run_in_threadpool(backend.get_product, sku)
        if product is None:
            return error_response(404, f"Product not found: {sku}", "NOT_FOUND")
        return JSONResponse(product.model_dump(), headers={"X-Catalog-Version": backend.catalog_version})

    @app.get("/api/inventory")
    async def list_stock(skus: str | None = None) -> Response:
        """Stock of the comma-separated SKUs (one request per draft), or of every product."""
        injected = injector.inventory_error_status()
        if injected is not None:
            return _injected_error(injected, injector.faults.retry_after_s)
        wanted = [s.strip() for s in skus.split(",") if s.strip()] if skus is not None else None
        if wanted is not None and len(wanted) > MAX_STOCK_SKUS:
            return error_response(400, f"At most {MAX_STOCK_SKUS} SKUs per request", "BAD_REQUEST")
        items, unknown = await run_in_threadpool(backend.stock, wanted)
        return JSONResponse(ErpStockList(items=items, unknown=unknown).model_dump())

    @app.get("/api/inventory/{sku}")
    async def get_stock(sku: str) -> Response:
        injected = injector.inventory_error_status()
        if injected is not None:
            return _injected_error(injected, injector.faults.retry_after_s)
        items, _unknown = await run_in_threadpool(backend.stock, [sku])
        if not items:
            return error_response(404, f"Product not found: {sku}", "NOT_FOUND")
        return JSONResponse(items[0].model_dump())

    @app.put("/api/inventory/{sku}")
    async def set_stock(sku: str, update: ErpStockUpdate) -> Response:
        """Set what is available (base unit): for admins and tests."""
        injected = injector.inventory_error_status()
        if injected is not None:
            return _injected_error(injected, injector.faults.retry_after_s)
        stock = await run_in_threadpool(backend.set_stock, sku, update.available)
        if stock is None:
            return error_response(404, f"Product not found: {sku}", "NOT_FOUND")
        return JSONResponse(stock.model_dump())

    @app.get("/api/customers")
    async def list_customers(
        email: str | None = None, domain: str | None = None, company_id: str | None = None
    ) -> dict:
        found = await run_in_threadpool(backend.find_customers, email, domain, company_id)
        return {"items": [c.model_dump() for c in found]}

    @app.get("/api/customers/{company_id}")
    async def get_customer(company_id: str) -> Response:
        found = await run_in_threadpool(backend.find_customers, None, None, company_id)
        if not found:
            return error_response(404, f"Customer not found: {company_id}", "NOT_FOUND")
        return JSONResponse(found[0].model_dump())

    @app.get("/api/customers/{company_id}/orders")
    async def customer_orders(company_id: str, limit: int = Query(10, ge=1, le=1000)) -> Response:
        """The customer's earlier orders, newest first, each with its lines (order history)."""
        orders = await run_in_threadpool(backend.customer_orders, company_id, limit)
        if orders is None:
            return error_response(404, f"Customer not found: {company_id}", "NOT_FOUND")
        return JSONResponse({"items": orders})

    @app.post("/api/submit-order")
    async def submit_order(request: Request) -> Response:
        injected = injector.submit_error_status()
        if injected is not None:  # before anything is read or stored
            return _injected_error(injected, injector.faults.retry_after_s)
        try:
            payload = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError):
            return error_response(400, "Malformed JSON body", "BAD_REQUEST")
        if not isinstance(payload, dict) or not isinstance(payload.get("orderRequest"), dict):
            return error_response(
                400, "Body must be a JSON object with an 'orderRequest' object", "BAD_REQUEST"
            )
        raw_order = payload["orderRequest"]
        order, parse_errors = None, []
        try:
            order = OrderRequestIn.model_validate(raw_order)
        except ValidationError as exc:
            parse_errors = describe_validation_errors(exc.errors())
        key = request.headers.get("idempotency-key") or None
        outcome = await run_in_threadpool(backend.submit, order, parse_errors, key, request_hash(raw_order))
        headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
        return JSONResponse(outcome.body, status_code=outcome.status, headers=headers)

    @app.get("/api/orders")
    async def list_orders(limit: int = Query(50, ge=1, le=10_000)) -> dict:
        return {"items": await run_in_threadpool(backend.list_orders, limit)}

    @app.get("/api/orders/{order_id}")
    async def get_order(order_id: str) -> Response:
        order = await run_in_threadpool(backend.get_order, order_id)
        if order is None:
            return error_response(404, f"Order not found: {order_id}", "NOT_FOUND")
        return JSONResponse(order)

    return app


def _injected_error(status: int, retry_after_s: float | None) -> Response:
    headers = {"Retry-After": f"{retry_after_s:g}"} if retry_after_s is not None else None
    return error_response(status, f"Injected fault: HTTP {status}", code_for_status(status), headers=headers)
