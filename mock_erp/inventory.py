"""Stock in the mock ERP (pure): the figure a product starts with, and what an order line takes.

Stock is kept in the product's base unit. A product starts with the `stock` figure of
products.json when it has one, else with a deterministic figure derived from its SKU: generous
(5 to 20 pallets, or 100 to 400 of its largest pack when it has no pallet), so ordinary orders
fit and a test or an admin lowers it with `PUT /api/inventory/{sku}`.
"""

from __future__ import annotations

import hashlib

from mailorder.mock_erp.contract import ErpProduct


def initial_stock(product: ErpProduct, given: float | None = None) -> float:
    """The stock a product starts with, in its base unit."""
    if given is not None:
        return max(0.0, float(given))
    lots = 5 + int.from_bytes(hashlib.sha256(product.sku.encode()).digest()[:4], "big") % 16  # 5..20
    pack = max((u.per_base for u in product.units), default=1.0)
    if product.unit_option("pallet") is None:
        return float(round(max(pack, 1.0) * lots * 20))
    return float(round(pack * lots))


def base_quantity(product: ErpProduct, quantity: float, unit: str | None) -> float:
    """An order line's quantity in the product's base unit (an unknown unit counts as the base)."""
    option = product.unit_option(unit)
    return quantity * (option.per_base if option is not None else 1.0)
