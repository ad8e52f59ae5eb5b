"""Domain models: the typed objects every room of mailorder passes around.

Below every consumer (mail, tools, store, agent import this; it imports nothing of theirs): the
parsed email, catalog products and customers, the extractor's proposed lines, the priced and
validated draft a rep reviews with its issues, the rep's edit operations and decision.
The mock ERP has its own contract models (mock_erp/contract.py) and never imports these.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field


# --- email ---------------------------------------------------------------------------------------
class Attachment(BaseModel):
    filename: str | None = None
    content_type: str = "application/octet-stream"
    size: int = 0
    order_source: bool = False  # a file that can hold an order: PDF, Excel, CSV, Word, an attached image
    data: bytes | None = Field(default=None, exclude=True, repr=False)  # an order source's bytes (bounded)
    not_kept: str | None = None  # why an order source's bytes were not kept (a size or count limit)


class ParsedEmail(BaseModel):
    message_id: str  # with angle brackets; synthesised from a content hash when missing
    subject: str = ""
    sender: str = ""  # bare lower-case address of From
    sender_name: str = ""
    to: list[str] = Field(default_factory=list)  # bare lower-case addresses
    cc: list[str] = Field(default_factory=list)
    reply_to: list[str] = Field(default_factory=list)
    date: datetime | None = None
    in_reply_to: str | None = None
    references: list[str] = Field(default_factory=list)
    text: str = ""  # the text/plain part (decoded), "" when absent
    html: str = ""  # the text/html part (decoded), "" when absent
    html_text: str = ""  # the HTML part rendered to plain text
    headers: dict[str, str] = Field(default_factory=dict)  # lower-case name -> first value
    attachments: list[Attachment] = Field(default_factory=list)
    defects: list[str] = Field(default_factory=list)  # parser defects worth auditing
    size: int = 0

    @property
    def body(self) -> str:
        """Best plain text of the message: the text part, else the rendered HTML."""
        return self.text if self.text.strip() else self.html_text


# --- catalog, customers, drafts --------------------------------------------------------------------
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
    note: str = ""  # how it differs from the chosen product ("same series, 1560 instead of 2030 mm")


class LineRequest(BaseModel):
    """One order line as the extractor (rules or model) proposes it, before pricing."""

    sku: str | None = None
    qty: float | None = None
    unit: str | None = None  # any spelling; draft_order canonicalises
    source_text: str = ""
    reference: str | None = None
    confidence: float = 1.0  # the extractor's own confidence in the SKU match
    candidates: list[Candidate] = Field(default_factory=list)  # alternatives when ambiguous
    stated_price: float | None = None  # a unit price the customer wrote (never used for pricing)
    stated_price_unit: str | None = None  # the unit that price is per ("mtr", "each", None = line unit)
    note: str | None = None  # how the line was read, when not literally ("from order X of ...")
    position: int | None = None  # the item number the email gives the line ("1.", "Pos 3")
    unknown_code: str | None = None  # an article code written in the email that the catalog lacks


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
    PRICE_MISMATCH = "price_mismatch"  # the customer states a price other than the catalog's
    CODE_NOT_IN_CATALOG = "code_not_in_catalog"  # a written article code the catalog lacks
    REPLY_TO_DIFFERS = "reply_to_differs"  # answers would go to another address than the sender
    FOLLOW_UP = "follow_up"  # refers to an earlier draft of ours (adds to it? replaces it?)
    TOO_LONG = "too_long"  # more text or lines than one draft holds: summarised, not postable
    ATTACHMENT_PROBLEM = "attachment_problem"  # an order file not (fully) read: damaged, a scan, too big
    STOCK_SHORT = "stock_short"  # the ERP has less in stock than the line orders (never blocking)
    STOCK_UNKNOWN = "stock_unknown"  # the ERP gave no stock figure (down, or SKU unknown to it)


class Issue(BaseModel):
    code: IssueCode
    message: str
    line: int | None = None  # 1-based line number, None = whole draft
    blocking: bool = True  # blocking issues prevent approval/posting


MAX_ALTERNATIVES = 3  # lettered choices a line offers the rep
PICK_LETTERS = "abc"


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
    candidates: list[Candidate] = Field(default_factory=list)  # next-best products, best first
    stated_price: float | None = None  # the customer's own unit price, when the email gives one
    stated_price_unit: str | None = None
    note: str | None = None  # how the line was read ("same as order X of 2025-09-12")
    available: float | None = None  # stock in base units when the ERP reported it

    def alternatives(self, limit: int = MAX_ALTERNATIVES) -> list[Candidate]:
        """The next-best products a rep can pick by letter (1a, 1b, ...): the candidates other
        than the line's own product, best first."""
        return [c for c in self.candidates if c.sku != self.sku][:limit]


class AutopostNote(BaseModel):
    """Why and when a draft posts by itself unless the rep replies HOLD, edits or rejects it."""

    due_at: datetime  # UTC
    reasons: list[str] = Field(default_factory=list)


class AttachmentNote(BaseModel):
    """One order file of the email (PDF, Excel, CSV, Word, image) as the draft read it."""

    filename: str
    read: bool  # its text was read (with order lines or without)
    lines: int = 0  # draft lines taken from it
    problem: str | None = None  # why it was not (fully) read


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
    attachments: list[AttachmentNote] = Field(default_factory=list)  # the order files read, or not
    autopost: AutopostNote | None = None  # posts by itself when its window passes (earned autonomy)

    @property
    def blocking_issues(self) -> list[Issue]:
        return [i for i in self.issues if i.blocking]

    @property
    def needs_review(self) -> bool:
        return bool(self.issues) or self.confidence < 0.9


class _CustomerDigest(BaseModel):
    company_id: str


class _LineDigest(BaseModel):
    sku: str | None = None
    base_qty: float | None = None


class OrderDigest(BaseModel):
    """What the duplicate-order check reads of an earlier draft: validated from the stored JSON
    of a Draft (other fields ignored), several times cheaper than the whole Draft."""

    customer: _CustomerDigest | None = None
    reference: str | None = None
    lines: list[_LineDigest] = Field(default_factory=list)


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


# --- the rep's review ------------------------------------------------------------------------------

Op = Literal["qty", "unit", "sku", "pick", "remove", "add", "customer", "reference", "delivery", "note"]


class EditOp(BaseModel):
    op: Op
    line: int | None = None  # 1-based line number of the version the rep answered
    qty: float | None = None
    unit: str | None = None
    sku: str | None = None
    value: str | None = None  # customer id, reference, note text; a pick's letter ("b")
    day: date | None = None


DecisionKind = Literal["approve", "reject", "edit"]


class ReviewDecision(BaseModel):
    """A rep's decision as it resumes a draft's thread (the graph's resume payload)."""

    kind: DecisionKind
    rep: str  # the rep's address ("autopost" when the veto window passed)
    reply_email_id: int | None = None  # the stored reply that carried it (None: automatic posting)
    version: int | None = None  # the draft version the rep answered
    reason: str | None = None  # a rejection's reason
    ops: list[EditOp] = Field(default_factory=list)  # edits to apply first (approve or edit)
    proposed_by: str | None = None  # "model" when the ops are the model's reading of free text
