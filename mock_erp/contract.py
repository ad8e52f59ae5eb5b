"""The mock ERP's own models of the ERP contract: what it stores and answers for products,
customers and stock. Deliberately independent of the client's domain models (mailorder.domain): the
contract test (tests/test_contract.py) checks that the client reads these answers and that the
ERP accepts what the client sends, so a drift between the two shows up."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ErpUnit(BaseModel):
    unit: str
    per_base: float  # qty in base units = qty x per_base


class ErpProduct(BaseModel):
    sku: str
    name: str
    base_unit: str
    units: list[ErpUnit]
    unit_price: float  # EUR per base unit
    family: str = ""
    active: bool = True

    def unit_option(self, unit: str | None) -> ErpUnit | None:
        wanted = unit or self.base_unit
        return next((u for u in self.units if u.unit == wanted), None)


class ErpCustomer(BaseModel):
    company_id: str  # public id, COMP-NNN
    company_name: str | None = None
    contact_email: str | None = None
    contact_id: int | None = None
    rep_email: str | None = None


class ErpStock(BaseModel):
    """GET /api/inventory/{sku}: what is available, in the product's base unit."""

    sku: str
    available: float
    unit: str  # the product's base unit


class ErpStockList(BaseModel):
    """GET /api/inventory?skus=a,b,c: the known SKUs' stock, and the SKUs the ERP does not know."""

    items: list[ErpStock]
    unknown: list[str] = []


class ErpStockUpdate(BaseModel):
    """PUT /api/inventory/{sku} (admins and tests): set what is available, in the base unit."""

    model_config = ConfigDict(extra="forbid")

    available: float = Field(ge=0)
