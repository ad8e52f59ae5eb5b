"""Order history: a customer's earlier ERP orders, for "same as last time" emails.

`order_history` is a plain function with a Pydantic input schema (wrapped as a LangChain tool in
tools/toolbox.py); `refers_to_history` tells whether a text points at an earlier order at all, so
the ERP is only asked when it matters.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

if TYPE_CHECKING:  # the client imports these models; no import cycle at run time
    from mailorder.tools.erp_client import ErpClient

# "as before / zoals vorige keer / same as last order / wie beim letzten Mal", in NL, EN, DE
HISTORY_RX = re.compile(
    r"(?:zelfde|hetzelfde|dezelfde|idem|zoals|net als)\b[^.?!\n]{0,30}?\b(?:de\s+|het\s+|onze\s+)?"
    r"(?:vorige|laatste|vorig)\s*(?:keer|bestelling|order|week|maand)?|"
    r"(?:zoals|net als)\s+(?:eerder besteld|de vorige keer|vorige keer|laatst)|vorige bestelling|"
    r"same\s+(?:again|as\s+(?:last|our last|the last|before|previous)(?:\s+(?:time|order))?)|"
    r"(?:repeat|re-order|reorder)\s+(?:of\s+)?(?:our|the)?\s*(?:last|previous)\s+order|as\s+(?:last\s+time|before)|"
    r"(?:wie|so wie|genauso wie)\s+(?:beim|bei der|letztes|das letzte)\s*(?:letzten|vorigen)?\s*"
    r"(?:mal|bestellung)|"
    r"gleiche\s+(?:bestellung|lieferung)\s+wie|wie\s+zuletzt|letzte\s+bestellung\s+(?:nochmal|wiederholen)",
    re.I,
)


class OrderHistoryInput(BaseModel):
    """Input schema of the order_history tool."""

    company_id: str = Field(description="Company id of the customer, e.g. COMP-004")
    limit: int = Field(default=3, ge=1, le=20, description="How many recent orders, newest first")


class PastOrderLine(BaseModel):
    sku: str
    product_name: str = ""
    qty: float
    unit: str | None = None


class PastOrder(BaseModel):
    order_id: str = ""
    created_at: datetime | None = None
    reference: str | None = None
    lines: list[PastOrderLine] = Field(default_factory=list)

    @classmethod
    def from_erp(cls, raw: dict[str, Any]) -> PastOrder:
        """An order as the ERP answers it (GET /api/customers/{id}/orders)."""
        created = raw.get("created_at")
        return cls(
            order_id=str(raw.get("order_id") or ""),
            created_at=datetime.fromisoformat(created) if created else None,
            reference=raw.get("reference"),
            lines=[
                PastOrderLine(
                    sku=str(p["sku"]),
                    product_name=str(p.get("product_name") or ""),
                    qty=float(p.get("quantity") or 0),
                    unit=p.get("unit"),
                )
                for p in raw.get("products", [])
                if p.get("sku")
            ],
        )

    @property
    def label(self) -> str:
        day = f" of {self.created_at:%Y-%m-%d}" if self.created_at else ""
        return f"order {self.order_id or '?'}{day}"


def refers_to_history(text: str) -> bool:
    """Whether the customer points at an earlier order ("zelfde als vorige keer", "same again")."""
    return bool(HISTORY_RX.search(text))


async def order_history(erp: ErpClient, company_id: str, limit: int = 3) -> list[PastOrder]:
    """The customer's most recent ERP orders, newest first (empty for an unknown customer)."""
    request = OrderHistoryInput(company_id=company_id, limit=limit)
    return await erp.customer_orders(request.company_id, request.limit)
