"""The mock ERP's own models of the ERP contract: what it stores and answers for products and
customers. Deliberately independent of the client's domain models (mailorder.domain): the
contract test (tests/test_contract.py) checks that the client reads these answers and that the
ERP accepts what the client sends, so a drift between the two shows up."""

from __future__ import annotations

from pydantic import BaseModel


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
