"""The agent's hands in one object: catalog lookup, customer lookup, order history, stock,
draft_order, as LangChain tools."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, Field

from mailorder.domain import Candidate, CustomerMatch, Draft, Extraction, OrderDigest
from mailorder.tools.catalog import CatalogIndex
from mailorder.tools.customers import CachedDirectory, CustomerLookupInput, customer_lookup
from mailorder.tools.draft_order import DraftOrderInput, draft_order
from mailorder.tools.erp_client import ErpClient
from mailorder.tools.history import OrderHistoryInput, PastOrder, order_history
from mailorder.tools.stock import CachedStock, StockInput, StockLevel, check_stock, stock

log = logging.getLogger(__name__)

# the customer the current extraction is for (the sender's company): the model's catalog lookups
# use that customer's learned aliases without the model having to pass the id along
_serving: ContextVar[str | None] = ContextVar("mailorder_serving_customer", default=None)


@contextmanager
def serving_customer(customer_id: str | None):
    """Catalog lookups made through the LangChain tools inside this block are for customer_id."""
    token = _serving.set(customer_id)
    try:
        yield
    finally:
        _serving.reset(token)


class CatalogLookupInput(BaseModel):
    query: str = Field(
        description="Product text as the customer wrote it: SKU, code, name, "
        "colour, width (e.g. '751-063 lime green 126 cm')"
    )
    limit: int = Field(default=5, ge=1, le=20, description="How many candidates to return")
    customer_id: str | None = Field(default=None, description="Company id, e.g. COMP-004")


class Toolbox:
    """Catalog + customer directory; build with `await Toolbox.create(erp)`."""

    def __init__(
        self, erp: ErpClient, catalog: CatalogIndex, aliases: Mapping[str, str] | None = None
    ) -> None:
        self.erp = erp
        self.directory = CachedDirectory(erp)  # customers change rarely; orders arrive in bursts
        self.stock_cache = CachedStock(erp)  # a minute old at most; one request per draft
        self.catalog = catalog
        self.aliases: dict[str, str] = dict(aliases or {})  # global text -> sku
        # learned per customer: company_id -> normalised text -> (sku, unit, reason)
        self.customer_aliases: dict[str, dict[str, tuple[str, str | None, str]]] = {}

    @classmethod
    async def create(cls, erp: ErpClient, aliases: Mapping[str, str] | None = None) -> Toolbox:
        products, version = await erp.list_products()
        return cls(erp, CatalogIndex.build(products, version), aliases)

    async def refresh(self) -> bool:
        """Reload the catalog when the ERP reports a new version; True when it changed."""
        products, version = await self.erp.list_products()
        if version and version == self.catalog.version:
            return False
        self.catalog = CatalogIndex.build(products, version)
        return True

    def catalog_lookup(self, query: str, limit: int = 5, customer_id: str | None = None) -> list[Candidate]:
        learned = self.customer_aliases.get(customer_id or "", {})
        aliases = {**self.aliases, **learned} if learned else self.aliases
        return self.catalog.lookup(query, limit=limit, customer_id=customer_id, aliases=aliases)

    async def customer_lookup(self, sender: str, body: str = "") -> CustomerMatch:
        return await customer_lookup(self.directory, sender, body)

    async def order_history(self, company_id: str, limit: int = 3) -> list[PastOrder]:
        """The customer's most recent ERP orders, newest first."""
        return await order_history(self.erp, company_id, limit)

    async def stock(self, skus: Sequence[str]) -> dict[str, StockLevel | None]:
        """What the ERP has of these SKUs, in base units (None: a SKU it does not know)."""
        return await stock(self.stock_cache, skus)

    async def check_stock(self, draft: Draft) -> Draft:
        """The draft with each line's availability and non-blocking stock notes (one ERP request
        at most; a failure is a note). Without an ERP the draft as it is."""
        if self.erp is None:
            return draft
        return await check_stock(draft, self.stock_cache, self.catalog)

    def draft_order(
        self,
        extraction: Extraction,
        customer: CustomerMatch,
        *,
        recent_orders: Sequence[Draft | OrderDigest] = (),
    ) -> Draft:
        return draft_order(extraction, customer, self.catalog, recent_orders=recent_orders)

    # ------------------------------------------------------------ LangChain

    def langchain_tools(self) -> list[BaseTool]:
        """catalog_lookup / customer_lookup / order_history / stock / draft_order as StructuredTools
        returning JSON-able data."""

        def catalog_tool(query: str, limit: int = 5, customer_id: str | None = None) -> list[dict]:
            """Find catalog products for a product description, SKU or customer code.

            Returns candidates best first: sku, name, score (0-100), units it is sold in,
            base_unit and the reasons. Scores above ~80 with a clear gap to the next are
            reliable; otherwise report the alternatives."""
            customer = _serving.get() or customer_id  # the sender's company wins over the model's guess
            return [compact_candidate(c) for c in self.catalog_lookup(query, limit, customer)]

        async def customer_tool(sender: str, body: str = "") -> dict:
            """Identify the customer company from the sender's e-mail address.

            Returns company_id (null when unknown), method and confidence; names found in the
            body are only hints and are never chosen automatically."""
            match = await self.customer_lookup(sender, body)
            return compact_customer(match)

        async def history_tool(company_id: str = "", limit: int = 3) -> list[dict]:
            """The customer's most recent orders, newest first, each with its lines (sku, name,
            qty, unit). Use it when the email says "same as last time" / "zoals vorige keer" /
            "wie beim letzten Mal": take the products of the newest order the customer means."""
            customer = _serving.get() or company_id  # only the sender's own history
            if not customer:
                return []
            return [compact_order(o) for o in await self.order_history(customer, limit)]

        async def stock_tool(skus: list[str]) -> list[dict]:
            """What the ERP has in stock of these products: per SKU the quantity available in the
            product's base unit (null when the ERP does not know the SKU). Stock never stops an
            order: a rep decides about a line above what is available."""
            levels = await self.stock(skus)
            return [
                {
                    "sku": sku,
                    "available": level.available if level else None,
                    "unit": level.unit if level else None,
                }
                for sku, level in levels.items()
            ]

        async def draft_tool(
            lines: list[Any],
            sender: str = "",
            reference: str | None = None,
            delivery_date: str | None = None,
            comment: str | None = None,
        ) -> dict:
            """Price and validate the order: one line per product with sku, qty, unit and the
            source_text it came from. Prices come from the catalog; returns lines, total and
            the issues a rep must check."""
            extraction = Extraction.model_validate(
                {
                    "lines": [ln if isinstance(ln, dict) else ln.model_dump() for ln in lines],
                    "reference": reference,
                    "comment": comment,
                    "delivery_date": _parse_date(delivery_date),
                    "method": "model tools",
                }
            )
            match = await self.customer_lookup(sender) if sender else CustomerMatch()
            return compact_draft(self.draft_order(extraction, match))

        return [
            StructuredTool.from_function(
                func=catalog_tool,
                name="catalog_lookup",
                description=catalog_tool.__doc__,
                args_schema=CatalogLookupInput,
            ),
            StructuredTool.from_function(
                coroutine=customer_tool,
                name="customer_lookup",
                description=customer_tool.__doc__,
                args_schema=CustomerLookupInput,
            ),
            StructuredTool.from_function(
                coroutine=history_tool,
                name="order_history",
                description=history_tool.__doc__,
                args_schema=OrderHistoryInput,
            ),
            StructuredTool.from_function(
                coroutine=stock_tool,
                name="stock",
                description=stock_tool.__doc__,
                args_schema=StockInput,
            ),
            StructuredTool.from_function(
                coroutine=draft_tool,
                name="draft_order",
                description=draft_tool.__doc__,
                args_schema=DraftOrderInput,
            ),
        ]


def compact_candidate(c: Candidate) -> dict[str, Any]:
    return {
        "sku": c.sku,
        "name": c.name,
        "score": c.score,
        "units": c.units,
        "base_unit": c.base_unit,
        "reasons": c.reasons,
    }


def compact_customer(match: CustomerMatch) -> dict[str, Any]:
    customer = match.customer
    return {
        "company_id": customer.company_id if customer else None,
        "company_name": customer.company_name if customer else None,
        "method": match.method,
        "confidence": match.confidence,
        "hints": [h.company_id for h in match.hints],
    }


def compact_order(order: PastOrder) -> dict[str, Any]:
    return {
        "order_id": order.order_id,
        "date": order.created_at.date().isoformat() if order.created_at else None,
        "reference": order.reference,
        "lines": [
            {"sku": ln.sku, "name": ln.product_name, "qty": ln.qty, "unit": ln.unit} for ln in order.lines
        ],
    }


def compact_draft(draft: Draft) -> dict[str, Any]:
    return {
        "lines": [
            {
                "sku": ln.sku,
                "name": ln.product_name,
                "qty": ln.qty,
                "unit": ln.unit,
                "unit_price": ln.unit_price,
                "line_total": ln.line_total,
                "confidence": ln.confidence,
            }
            for ln in draft.lines
        ],
        "total": draft.total,
        "issues": [{"code": str(i.code), "line": i.line, "message": i.message} for i in draft.issues],
        "confidence": draft.confidence,
    }


def _parse_date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None
