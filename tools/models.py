"""Typed domain objects shared by the tools, the agent and the store.

These are the contracts between modules: catalog products, customers, candidate matches,
the extractor's proposed lines, and the priced, validated draft a rep reviews.
"""
from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, Field


class UnitOption(BaseModel):
    unit: str
    per_base: float  # qty in base units = qty x per_base


class Product(BaseModel):
    sku: str
    name: str
    base_unit: str
    units: list[UnitOption]
    unit_price: float  # EUR per base unit
    family: str = ""
    active: bool = True

    def unit_option(self, unit: str | None) -> UnitOption | None:
        """The product's unit entry for a canonical unit name (None = base unit)."""
        wanted = unit or self.base_unit
        return next((u for u in self.units if u.unit == wanted), None)


class Customer(BaseModel):
    company_id: str  # public id, e.g. COMP-004
    company_name: str | None = None
    contact_email: str | None = None
    contact_id: int | None = None
    rep_email: str | None = None  # rep assigned by the ERP, when it has one


class CustomerMatch(BaseModel):
    customer: Customer | None = None
    method: str = "none"  # "contact" | "domain" | "none" | "rep"
    confidence: float = 0.0
    hints: list[Customer] = Field(default_factory=list)  # body-name hints, never auto-chosen


class Candidate(BaseModel):
    sku: str
    name: str
    score: float  # 0..100
    reasons: list[str] = Field(default_factory=list)
    base_unit: str
    units: list[str] = Field(default_factory=list)
    learned_unit: str | None = None  # the unit a rep taught for this customer's wording


class LineRequest(BaseModel):
    """One order line as the extractor (rules or model) proposes it, before pricing."""

    sku: str | None = None
    qty: float | None = None
    unit: str | None = None  # any spelling; draft_order canonicalises
    source_text: str = ""
    reference: str | None = None
    confidence: float = 1.0  # the extractor's own confidence in the SKU match
    candidates: list[Candidate] = Field(default_factory=list)  # alternatives when ambiguous


class IssueCode(StrEnum):
    CUSTOMER_UNKNOWN = "customer_unknown"
    UNKNOWN_SKU = "unknown_sku"
    PRODUCT_NOT_IDENTIFIED = "product_not_identified"
    AMBIGUOUS_MATCH = "ambiguous_match"
    INACTIVE_PRODUCT = "inactive_product"
    UNIT_NOT_SOLD = "unit_not_sold"
    QTY_MISSING = "qty_missing"
    QTY_IMPLAUSIBLE = "qty_implausible"
    NO_LINES = "no_lines"
    DUPLICATE_ORDER = "duplicate_order"
    EXTRACTION_FALLBACK = "extraction_fallback"
    LOW_CONFIDENCE = "low_confidence"


class Issue(BaseModel):
    code: IssueCode
    message: str
    line: int | None = None  # 1-based line number, None = whole draft
    blocking: bool = True  # blocking issues prevent approval/posting


class DraftLine(BaseModel):
    sku: str | None
    product_name: str = ""
    qty: float | None
    unit: str | None  # canonical unit of the product (base unit when None was given)
    unit_price: float = 0.0  # EUR per `unit` (= catalog base price x per_base)
    line_total: float = 0.0
    base_qty: float | None = None  # qty x per_base
    confidence: float = 0.0
    source_text: str = ""
    reference: str | None = None
    candidates: list[Candidate] = Field(default_factory=list)


class Draft(BaseModel):
    customer: Customer | None = None
    reference: str | None = None
    delivery_date: date | None = None
    comment: str | None = None
    lines: list[DraftLine] = Field(default_factory=list)
    total: float = 0.0
    issues: list[Issue] = Field(default_factory=list)
    extraction_method: str = "rules, no AI model configured"
    prompt_version: str | None = None
    confidence: float = 0.0

    @property
    def blocking_issues(self) -> list[Issue]:
        return [i for i in self.issues if i.blocking]

    @property
    def needs_review(self) -> bool:
        return bool(self.issues) or self.confidence < 0.9


class TriageLabel(StrEnum):
    ORDER = "order"
    QUOTE_REQUEST = "quote_request"
    ORDER_STATUS = "order_status"
    COMPLAINT = "complaint"
    MARKETING = "marketing"
    AUTO_REPLY = "auto_reply"
    OTHER = "other"


class Triage(BaseModel):
    label: TriageLabel
    reason: str = ""
    confidence: float = 1.0


class Extraction(BaseModel):
    """What an extractor (rules or model) read from an order email, before draft_order."""

    lines: list[LineRequest] = Field(default_factory=list)
    reference: str | None = None
    delivery_date: date | None = None
    comment: str | None = None
    method: str = "rules, no AI model configured"
    prompt_version: str | None = None
    notes: list[str] = Field(default_factory=list)  # e.g. "model failed, fell back to rules"
