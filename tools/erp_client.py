"""The agent's HTTP client for the ERP (the mock ERP or a real one with the same API).

4xx answers raise ErpRejected at once; 5xx, timeouts and connection errors are retried with
exponential backoff and jitter (honouring Retry-After) and end in ErpUnavailable.
Submitting is safe to retry because every submit carries an Idempotency-Key.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import BaseModel, Field
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt

from mailorder.domain import Customer, Draft, Product
from mailorder.tools.history import PastOrder
from mailorder.tools.stock import StockLevel

log = logging.getLogger(__name__)

CATALOG_PAGE = 100_000
STOCK_BATCH = 100  # SKUs per GET /api/inventory?skus=... (a draft of up to 100 products asks once)


class ErpError(Exception):
    """Base of the ERP client's errors."""


class ErpRejected(ErpError):
    """The ERP refused the request (4xx); retrying the same request will not help."""

    def __init__(self, error: str, code: str, status: int, details: list[str] | None = None) -> None:
        super().__init__(f"ERP rejected the request ({status} {code}): {error}")
        self.error = error
        self.code = code
        self.status = status
        self.details = details or [error]


class ErpUnavailable(ErpError):
    """The ERP did not answer usefully after every attempt (5xx, timeout, connection error)."""

    def __init__(self, last_error: str, attempts: int, status: int | None = None) -> None:
        super().__init__(f"ERP unavailable after {attempts} attempt(s): {last_error}")
        self.last_error = last_error
        self.attempts = attempts
        self.status = status


class SubmitResult(BaseModel):
    order_id: str
    message: str = ""
    raw: dict[str, Any] = Field(default_factory=dict)
    replayed: bool = False  # the ERP answered from its idempotency store (an earlier attempt landed)


class _RetryableFailure(Exception):
    def __init__(self, description: str, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(description)
        self.description = description
        self.status = status
        self.retry_after = retry_after


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date); None if absent/bad."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _error_fields(response: httpx.Response) -> tuple[str, str, list[str] | None]:
    """(error, code, details) from an ERP error body; falls back to the raw text."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("error"):
        return (
            str(body["error"]),
            str(body.get("code") or f"HTTP_{response.status_code}"),
            body.get("details"),
        )
    text = response.text.strip()[:300] or response.reason_phrase
    return text, f"HTTP_{response.status_code}", None


class ErpClient:
    def __init__(
        self,
        base_url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 10.0,
        max_attempts: int = 4,
        backoff_initial: float = 0.5,
        backoff_max: float = 8.0,
        retry_after_max: float = 30.0,
    ) -> None:
        self._http = httpx.AsyncClient(base_url=base_url.rstrip("/"), transport=transport, timeout=timeout)
        self.max_attempts = max(1, max_attempts)
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.retry_after_max = retry_after_max

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> ErpClient:
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.aclose()

    # --- transport with retries ----------------------------------------------------------------
    def backoff_seconds(self, attempt_number: int) -> float:
        """Exponential backoff with jitter: initial x 2^(n-1) + up to `initial`, capped at backoff_max."""
        exponential = self.backoff_initial * 2 ** min(attempt_number - 1, 30)
        return min(self.backoff_max, exponential + random.uniform(0, self.backoff_initial))

    def _wait(self, retry_state) -> float:
        """The server's Retry-After when it sent one (capped at retry_after_max), else our backoff."""
        failure = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(failure, _RetryableFailure) and failure.retry_after is not None:
            return min(failure.retry_after, self.retry_after_max)
        return self.backoff_seconds(retry_state.attempt_number)

    async def _request_ok(self, method: str, path: str, **kwargs) -> httpx.Response:
        """Send with retries; the 2xx response (a 4xx raises ErpRejected)."""
        response = await self._request(method, path, **kwargs)
        assert response is not None  # only allow_404 answers None
        return response

    async def _request(
        self, method: str, path: str, *, allow_404: bool = False, **kwargs
    ) -> httpx.Response | None:
        """Send with retries. Returns the 2xx response (None for a 404 when allow_404)."""
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=self._wait,
            retry=retry_if_exception_type(_RetryableFailure),
            reraise=True,
        )
        attempts = 0
        try:
            async for attempt in retrying:
                with attempt:
                    attempts = attempt.retry_state.attempt_number
                    return self._check(await self._send_once(method, path, **kwargs), allow_404)
        except _RetryableFailure as failure:
            log.warning("ERP %s %s failed %d time(s): %s", method, path, attempts, failure.description)
            raise ErpUnavailable(failure.description, attempts, failure.status) from failure
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send_once(self, method: str, path: str, **kwargs) -> httpx.Response:
        started = time.monotonic()
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise _RetryableFailure(
                f"timeout after {time.monotonic() - started:.2f}s ({type(exc).__name__})"
            ) from exc
        except httpx.TransportError as exc:
            raise _RetryableFailure(f"connection error: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 500:
            error, code, _ = _error_fields(response)
            raise _RetryableFailure(
                f"HTTP {response.status_code} {code}: {error}",
                response.status_code,
                parse_retry_after(response.headers.get("retry-after")),
            )
        return response

    @staticmethod
    def _check(response: httpx.Response, allow_404: bool) -> httpx.Response | None:
        if response.status_code == 404 and allow_404:
            return None
        if response.status_code >= 400:
            error, code, details = _error_fields(response)
            raise ErpRejected(error, code, response.status_code, details)
        return response

    # --- catalog -------------------------------------------------------------------------------
    async def list_products(self) -> tuple[list[Product], str]:
        """The whole catalog and its version (paged transparently if the ERP caps the page)."""
        products: dict[str, Product] = {}
        version = ""
        while True:
            response = await self._request_ok(
                "GET", "/api/products", params={"limit": CATALOG_PAGE, "offset": len(products)}
            )
            body = response.json()
            page = [Product.model_validate(p) for p in body.get("items", [])]
            before = len(products)
            products.update((p.sku, p) for p in page)
            version = body.get("catalog_version") or response.headers.get("x-catalog-version", version)
            if len(products) == before or len(products) >= int(body.get("total", len(products))):
                return list(products.values()), version  # done, or the server ignored offset

    async def get_product(self, sku: str) -> Product | None:
        response = await self._request("GET", f"/api/products/{sku}", allow_404=True)
        return Product.model_validate(response.json()) if response is not None else None

    # --- customers -----------------------------------------------------------------------------
    async def _customers(self, **params: str) -> list[Customer]:
        response = await self._request_ok("GET", "/api/customers", params=params)
        return [Customer.model_validate(c) for c in response.json().get("items", [])]

    async def customer_by_email(self, email: str) -> Customer | None:
        """The customer (company + contact) whose contact has exactly this address, if any."""
        found = await self._customers(email=email.strip())
        return found[0] if found else None

    async def customers_by_domain(self, domain: str) -> list[Customer]:
        return await self._customers(domain=domain.strip().lstrip("@"))

    async def list_customers(self) -> list[Customer]:
        """Every company, with its default contact's address."""
        return await self._customers()

    async def get_customer(self, company_id: str) -> Customer | None:
        found = await self._customers(company_id=company_id)
        return found[0] if found else None

    # --- stock ---------------------------------------------------------------------------------
    async def stock_levels(self, skus: Sequence[str]) -> dict[str, StockLevel]:
        """The stock of these SKUs (base units) in one request per 100 SKUs; a SKU the ERP does not
        know is left out."""
        wanted = list(dict.fromkeys(s for s in skus if s))
        found: dict[str, StockLevel] = {}
        for start in range(0, len(wanted), STOCK_BATCH):
            batch = wanted[start : start + STOCK_BATCH]
            response = await self._request_ok("GET", "/api/inventory", params={"skus": ",".join(batch)})
            for item in response.json().get("items", []):
                level = StockLevel.model_validate(item)
                found[level.sku] = level
        return found

    async def get_stock(self, sku: str) -> StockLevel | None:
        """One SKU's stock; None when the ERP does not know the SKU."""
        response = await self._request("GET", f"/api/inventory/{sku}", allow_404=True)
        return StockLevel.model_validate(response.json()) if response is not None else None

    async def set_stock(self, sku: str, available: float) -> StockLevel:
        """Set what is available of a SKU (base units): for admins and tests. Idempotent (PUT)."""
        response = await self._request_ok("PUT", f"/api/inventory/{sku}", json={"available": available})
        return StockLevel.model_validate(response.json())

    # --- orders --------------------------------------------------------------------------------
    async def submit_order(self, order_request: dict, idempotency_key: str) -> SubmitResult:
        """POST /api/submit-order. Accepts the full body {"orderRequest": {...}} or just the inner object."""
        if not idempotency_key:
            raise ValueError("submit_order needs an idempotency key")
        body = order_request if "orderRequest" in order_request else {"orderRequest": order_request}
        response = await self._request_ok(
            "POST", "/api/submit-order", json=body, headers={"Idempotency-Key": idempotency_key}
        )
        raw = response.json()
        if not raw.get("success") or not raw.get("order_id"):
            raise ErpRejected(
                str(raw.get("error") or "ERP did not confirm the order"),
                str(raw.get("code") or "UNEXPECTED_RESPONSE"),
                response.status_code,
            )
        replayed = response.headers.get("idempotent-replayed", "").lower() == "true"
        log.info(
            "ERP order %s created (key %s%s)",
            raw["order_id"],
            idempotency_key,
            ", replayed" if replayed else "",
        )
        return SubmitResult(
            order_id=raw["order_id"], message=str(raw.get("message", "")), raw=raw, replayed=replayed
        )

    async def get_order(self, order_id: str) -> dict | None:
        response = await self._request("GET", f"/api/orders/{order_id}", allow_404=True)
        return response.json() if response is not None else None

    async def customer_orders(self, company_id: str, limit: int = 3) -> list[PastOrder]:
        """The customer's earlier orders with their lines, newest first; [] for an unknown customer."""
        response = await self._request(
            "GET", f"/api/customers/{company_id}/orders", params={"limit": limit}, allow_404=True
        )
        if response is None:
            return []
        return [PastOrder.from_erp(o) for o in response.json().get("items", [])]

    async def list_orders(self, limit: int = 50) -> list[dict]:
        response = await self._request_ok("GET", "/api/orders", params={"limit": limit})
        return response.json().get("items", [])

    async def health(self) -> bool:
        """True when the ERP answers /health (one attempt, no retries)."""
        try:
            response = await self._http.get("/health")
        except httpx.HTTPError:
            return False
        return response.status_code == 200


def build_order_request(draft: Draft) -> dict:
    """The brief's submit body {"orderRequest": {...}} for a draft; total recomputed from the lines.

    Lines without a SKU or quantity are skipped. Raises ValueError when the draft has no customer
    or no postable line (such drafts must not be posted).
    """
    if draft.customer is None:
        raise ValueError("draft has no customer; it cannot be posted")
    products: list[dict[str, Any]] = []
    for line in draft.lines:
        if line.sku is None or line.qty is None:
            continue
        products.append(
            {
                "sku": line.sku,
                "product_name": line.product_name,
                "quantity": line.qty,
                "unit_price": round(line.unit_price, 6),
                "unit": line.unit,
            }
        )
    if not products:
        raise ValueError("draft has no line with a SKU and a quantity; it cannot be posted")
    customer = draft.customer
    return {
        "orderRequest": {
            "customer_name": customer.company_name or customer.company_id,
            "customer_id": customer.company_id,
            "reference": draft.reference,
            "delivery_date": draft.delivery_date.isoformat() if draft.delivery_date else None,
            "comment": draft.comment,
            "products": products,
            "total_amount": round(sum(float(p["quantity"]) * float(p["unit_price"]) for p in products), 2),
        }
    }
