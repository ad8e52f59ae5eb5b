"""The submit-order request format and its validation (pure: no DB, no HTTP)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from pydantic import BaseModel, ConfigDict

from mailorder.mock_erp.contract import ErpProduct

TOTAL_TOLERANCE = 0.01


class OrderLineIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    sku: str | None = None
    product_name: str | None = ""
    quantity: float | None = None
    unit_price: float | None = None
    unit: str | None = None  # None = the product's base unit


class OrderRequestIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    customer_name: str | None = None
    customer_id: str | None = None  # optional public company id, COMP-NNN
    reference: str | None = None
    delivery_date: str | None = None  # YYYY-MM-DD
    comment: str | None = None
    products: list[OrderLineIn] = []
    total_amount: float | None = None


def lines_total(request: OrderRequestIn) -> float:
    return sum((line.quantity or 0) * (line.unit_price or 0) for line in request.products)


def validate_order(
    request: OrderRequestIn,
    catalog: Mapping[str, ErpProduct],
    known_customer_ids: set[str],
) -> list[str]:
    """Every reason the ERP refuses this order, in a stable order; empty = acceptable."""
    errors: list[str] = []
    if not (request.customer_name or "").strip():
        errors.append("Missing customer_name")
    if request.customer_id and request.customer_id not in known_customer_ids:
        errors.append(f"Unknown customer_id: {request.customer_id}")
    if request.delivery_date:
        try:
            date.fromisoformat(request.delivery_date)
        except ValueError:
            errors.append(f"Invalid delivery_date: {request.delivery_date} (expected YYYY-MM-DD)")
    if not request.products:
        errors.append("Order has no products")
    for position, line in enumerate(request.products, start=1):
        errors.extend(_line_errors(position, line, catalog))
    if request.total_amount is None:
        errors.append("Missing total_amount")
    elif request.products and not errors:
        expected = lines_total(request)
        if abs(request.total_amount - expected) > TOTAL_TOLERANCE:
            errors.append(
                f"total_amount {request.total_amount:.2f} does not match the sum of the lines {expected:.2f}"
            )
    return errors


def _line_errors(position: int, line: OrderLineIn, catalog: Mapping[str, ErpProduct]) -> list[str]:
    if not line.sku:
        return [f"Missing sku on line {position}"]
    product = catalog.get(line.sku)
    if product is None:
        return [f"Invalid product SKU: {line.sku}"]
    errors: list[str] = []
    if not product.active:
        errors.append(f"Product is not orderable (inactive): {line.sku}")
    if line.quantity is None or line.quantity <= 0:
        errors.append(f"Invalid quantity for {line.sku}: {line.quantity} (must be > 0)")
    if line.unit_price is None or line.unit_price < 0:
        errors.append(f"Invalid unit_price for {line.sku}: {line.unit_price}")
    if line.unit and product.unit_option(line.unit) is None:
        allowed = ", ".join(u.unit for u in product.units)
        errors.append(f"Invalid unit for {line.sku}: {line.unit} (allowed: {allowed})")
    return errors
