"""Extraction + customer -> a priced, validated Draft with named issues. Pure.

Prices come from the catalog only; quantities convert through the product's own units.
Anything guessed becomes an issue, so the draft needs review.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from pydantic import BaseModel, Field

from mailorder.domain import (
    Candidate,
    CustomerMatch,
    Draft,
    DraftLine,
    Extraction,
    Issue,
    IssueCode,
    LineRequest,
    OrderDigest,
    Product,
)
from mailorder.mail import phrases
from mailorder.tools.catalog import CatalogIndex
from mailorder.tools.units import canonical_unit, resolve_unit

CONFIDENT = 0.9  # a line (or draft) below this needs a human
MAX_PLAUSIBLE_PALLETS = 20  # more than this many pallets of one product is implausible
MAX_PLAUSIBLE_COUNT = 5000  # rolls, plates, pieces, boxes in one line
COUNTED_UNITS = {"stuks", "rol", "plaat", "doos", "riem", "pallet"}
UNIT_GUESS_FACTOR = 0.8
MAX_ALTERNATIVES = 3
PRICE_TOLERANCE = 0.005  # relative; a stated price within half a percent of the catalog's agrees
STOCK_TOLERANCE = 1e-6  # base units; ordering exactly what is available fits
STOCK_UNKNOWN = phrases.STOCK_UNKNOWN


class DraftOrderInput(BaseModel):
    """Input schema of the draft_order tool (what a model passes)."""

    lines: list[LineRequest] = Field(description="Order lines: sku, qty, unit, source_text")
    sender: str = Field(default="", description="Sender address, for the customer lookup")
    reference: str | None = Field(default=None, description="Customer's order reference / PO")
    delivery_date: str | None = Field(default=None, description="Requested date YYYY-MM-DD")
    comment: str | None = None


def draft_order(
    extraction: Extraction,
    customer: CustomerMatch,
    catalog: CatalogIndex,
    *,
    recent_orders: Sequence[Draft | OrderDigest] = (),
) -> Draft:
    """Price and validate the extracted lines; every problem is a named issue."""
    issues: list[Issue] = []
    lines: list[DraftLine] = []
    for number, request in enumerate(extraction.lines, start=1):
        line, line_issues = _draft_line(number, request, catalog)
        lines.append(line)
        issues.extend(line_issues)
    if customer.customer is None:
        issues.append(
            Issue(
                code=IssueCode.CUSTOMER_UNKNOWN, message="sender is not a known contact; choose the customer"
            )
        )
    if not lines:
        issues.append(Issue(code=IssueCode.NO_LINES, message="no order lines found"))
    if customer.customer is not None and customer.method != "contact":
        issues.append(
            Issue(
                code=IssueCode.LOW_CONFIDENCE,
                blocking=False,
                message=f"customer matched by {customer.method} only; sender is not a known contact",
            )
        )
    for note in extraction.notes:
        if note.startswith("review:"):
            issues.append(
                Issue(
                    code=IssueCode.LOW_CONFIDENCE,
                    blocking=False,
                    message=note.removeprefix("review:").strip(),
                )
            )
    if any("fell back" in note or "failed" in note for note in extraction.notes):
        issues.append(
            Issue(code=IssueCode.EXTRACTION_FALLBACK, blocking=False, message="; ".join(extraction.notes))
        )
    draft = Draft(
        customer=customer.customer,
        reference=extraction.reference,
        delivery_date=extraction.delivery_date,
        comment=extraction.comment,
        lines=lines,
        total=round(sum(ln.line_total for ln in lines), 2),
        extraction_method=extraction.method,
        prompt_version=extraction.prompt_version,
    )
    duplicate = _duplicate_of(draft, recent_orders)
    if duplicate is not None:
        issues.append(
            Issue(
                code=IssueCode.DUPLICATE_ORDER,
                blocking=False,
                message=f"same lines as a recent order ({duplicate})",
            )
        )
    draft.issues = issues
    draft.confidence = _overall_confidence(lines, customer)
    return draft


def _draft_line(number: int, request: LineRequest, catalog: CatalogIndex) -> tuple[DraftLine, list[Issue]]:
    issues: list[Issue] = []
    line = DraftLine(
        sku=request.sku,
        qty=request.qty,
        unit=request.unit,
        source_text=request.source_text,
        reference=request.reference,
        confidence=request.confidence,
        stated_price=request.stated_price,
        stated_price_unit=request.stated_price_unit,
        note=request.note,
    )

    def issue(code: IssueCode, message: str, blocking: bool = True) -> None:
        issues.append(Issue(code=code, message=message, line=number, blocking=blocking))

    product = catalog.get(request.sku) if request.sku else None
    line.candidates = alternatives(request, product, catalog)
    if request.unknown_code:
        found = f"matched by the description to {product.sku}" if product else "no product matched"
        issue(
            IssueCode.CODE_NOT_IN_CATALOG,
            f"code {request.unknown_code} is not in the catalog; {found}",
            blocking=product is None,
        )
        line.confidence = min(line.confidence, 0.6)
    elif request.note:
        issue(IssueCode.LOW_CONFIDENCE, request.note, blocking=False)
    if request.sku is None:
        issue(IssueCode.PRODUCT_NOT_IDENTIFIED, f"no catalog product found for {request.source_text!r}")
        line.confidence = 0.0
    elif product is None:
        issue(IssueCode.UNKNOWN_SKU, f"SKU {request.sku} is not in the catalog")
        line.confidence = 0.0
    if request.qty is None:
        issue(IssueCode.QTY_MISSING, "quantity not stated")
        line.confidence = min(line.confidence, 0.3)
    elif request.qty <= 0:
        issue(IssueCode.QTY_IMPLAUSIBLE, f"quantity {request.qty:g} is not positive")
    if product is None:
        return line, issues
    line.sku = product.sku
    line.product_name = product.name
    if not product.active:
        issue(IssueCode.INACTIVE_PRODUCT, f"{product.sku} is not orderable (inactive)")
    unit, guessed = resolve_unit(product, request.unit)
    line.unit = unit
    option = product.unit_option(unit)
    if option is None:
        issue(IssueCode.UNIT_NOT_SOLD, f"{product.sku} is not sold per {unit}")
        line.confidence = min(line.confidence, 0.3)
        return line, issues
    if guessed:
        line.confidence = round(line.confidence * UNIT_GUESS_FACTOR, 3)
        issue(IssueCode.LOW_CONFIDENCE, f"unit not stated; assumed {unit}", blocking=False)
    line.unit_price = round(product.unit_price * option.per_base, 4)
    mismatch = price_mismatch(product, unit, request.stated_price, request.stated_price_unit)
    if mismatch:
        issue(IssueCode.PRICE_MISMATCH, mismatch, blocking=False)
    if request.qty is not None and request.qty > 0:
        line.base_qty = request.qty * option.per_base
        line.line_total = round(request.qty * line.unit_price, 2)
        pallet = product.unit_option("pallet")
        limit = (pallet.per_base * MAX_PLAUSIBLE_PALLETS) if pallet else None
        counted = unit in COUNTED_UNITS and request.qty > MAX_PLAUSIBLE_COUNT
        if (limit is not None and line.base_qty > limit) or counted or request.qty > 1_000_000:
            issue(IssueCode.QTY_IMPLAUSIBLE, f"quantity {request.qty:g} {unit} looks implausible")
    if line.confidence < CONFIDENT and not guessed and not request.note and not request.unknown_code:
        close = len(request.candidates) > 1
        issue(
            IssueCode.AMBIGUOUS_MATCH if close else IssueCode.LOW_CONFIDENCE,
            "several products fit; check the choice" if close else "product match is uncertain",
            blocking=False,
        )
    return line, issues


def alternatives(request: LineRequest, product: Product | None, catalog: CatalogIndex) -> list[Candidate]:
    """The next-best products for a line that is not certain, best first, each with how it differs
    from the chosen product ("same series, 1560 instead of 2030 mm")."""
    if request.confidence >= CONFIDENT and product is not None:
        return []
    chosen = product.sku if product else None
    out: list[Candidate] = []
    for candidate in request.candidates:
        if candidate.sku == chosen or any(c.sku == candidate.sku for c in out):
            continue
        if catalog.get(candidate.sku) is None:
            continue
        note = catalog.difference(chosen, candidate.sku) if chosen else "; ".join(candidate.reasons[:3])
        out.append(candidate.model_copy(update={"note": note}))
        if len(out) == MAX_ALTERNATIVES:
            break
    return out


def price_mismatch(product: Product, unit: str, stated: float | None, stated_unit: str | None) -> str | None:
    """A message when the customer's stated unit price differs from the catalog's (None when it
    agrees or cannot be compared). The ERP always gets the catalog price."""
    if stated is None or stated <= 0:
        return None
    per = unit if stated_unit in (None, "each") else canonical_unit(stated_unit)
    if per is not None and product.unit_option(per) is None:
        per, _ = resolve_unit(product, per)
    option = product.unit_option(per)
    if option is None:
        return None
    catalog_price = round(product.unit_price * option.per_base, 2)
    if abs(stated - catalog_price) <= PRICE_TOLERANCE * max(catalog_price, 0.01):
        return None
    return (
        f"the customer states EUR {stated:.2f} per {option.unit}; the catalog price is "
        f"EUR {catalog_price:.2f} per {option.unit} (the order uses the catalog price)"
    )


def apply_stock(draft: Draft, available: Mapping[str, float | None] | None, catalog: CatalogIndex) -> Draft:
    """The draft with each line's `available` (base units, from `available`: sku -> figure, None =
    the ERP does not know the SKU) and a non-blocking issue on every line stock cannot cover (also
    when lines of one product only together ask for more). `available=None` (the ERP did not
    answer) gives one note that stock is unknown. Approval stays the rep's call. Pure."""
    draft = draft.model_copy(deep=True)
    if available is None:
        draft.issues.append(Issue(code=IssueCode.STOCK_UNKNOWN, message=STOCK_UNKNOWN, blocking=False))
        return draft
    ordered: dict[str, list[tuple[int, DraftLine]]] = {}
    for number, line in enumerate(draft.lines, start=1):
        if not line.sku or catalog.get(line.sku) is None:
            continue  # no product: nothing to ask (the line has its own issue)
        figure = available.get(line.sku)
        if figure is None:
            draft.issues.append(
                Issue(
                    code=IssueCode.STOCK_UNKNOWN,
                    message=phrases.STOCK_UNKNOWN_SKU % {"sku": line.sku},
                    line=number,
                    blocking=False,
                )
            )
            continue
        line.available = figure
        if line.base_qty:
            ordered.setdefault(line.sku, []).append((number, line))
    for sku, lines in ordered.items():
        product, figure = catalog.get(sku), available.get(sku)
        if product is None or figure is None:
            continue
        total = sum(line.base_qty or 0.0 for _, line in lines)
        if total <= figure + STOCK_TOLERANCE:
            continue
        numbers = [number for number, _ in lines]
        for number, line in lines:
            draft.issues.append(
                Issue(
                    code=IssueCode.STOCK_SHORT,
                    message=_short_message(product, line, figure, numbers, total),
                    line=number,
                    blocking=False,
                )
            )
    return draft


def _short_message(product: Product, line: DraftLine, figure: float, numbers: list[int], total: float) -> str:
    """ "only 2.4 rol in stock (120 mtr; ordered 5 rol = 250 mtr)": what is available in the line's
    unit where that reads well, with the base unit beside it when the units differ. `numbers` are
    the lines of this product, `total` what they order together (base units)."""
    base, unit, qty = product.base_unit, line.unit or product.base_unit, line.qty or 0.0
    option = product.unit_option(unit)
    per = option.per_base if option is not None and option.per_base > 0 else None
    if per == 1:  # "stuks" of a product counted in "plaat": the same count
        base = unit
    ordered = f"{_amount(qty)} {unit}" + (f" = {_amount(line.base_qty)} {base}" if unit != base else "")
    if (line.base_qty or 0.0) <= figure + STOCK_TOLERANCE:  # only together with other lines of it
        together = ", ".join(str(n) for n in numbers)
        return phrases.STOCK_SHORT_TOGETHER % {
            "available": f"{_amount(figure, floor=True)} {base}",
            "lines": together,
            "ordered": f"{_amount(total)} {base}",
        }
    if figure <= STOCK_TOLERANCE:
        return phrases.STOCK_OUT % {"ordered": ordered}
    sensible = per is not None and unit != base and (figure >= per or per < 1)  # a whole pack, or finer
    in_unit = _amount(figure / per, floor=True) if sensible and per is not None else None
    available = f"{_amount(figure, floor=True)} {base}"
    if in_unit is None:
        return phrases.STOCK_SHORT % {"available": available, "ordered": ordered}
    return phrases.STOCK_SHORT_BOTH % {
        "in_unit": f"{in_unit} {unit}",
        "available": available,
        "ordered": ordered,
    }


def _amount(value: float | None, *, floor: bool = False) -> str:
    """2.4, 120, 0.33: at most two decimals; rounded down for what is available (never overstated)."""
    value = value or 0.0
    value = math.floor(value * 100 + 1e-6) / 100 if floor else round(value, 2)
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _overall_confidence(lines: list[DraftLine], customer: CustomerMatch) -> float:
    if not lines:
        return 0.0
    return round(
        min(min(ln.confidence for ln in lines), customer.confidence if customer.customer else 0.0), 3
    )


def _signature(draft: Draft | OrderDigest) -> frozenset[tuple[str, float]] | None:
    if draft.customer is None or not draft.lines:
        return None
    return frozenset((ln.sku or "", round(ln.base_qty or 0.0, 6)) for ln in draft.lines)


def _duplicate_of(draft: Draft, recent: Sequence[Draft | OrderDigest]) -> str | None:
    mine = _signature(draft)
    if mine is None:
        return None
    for other in recent:
        if (
            other.customer
            and draft.customer
            and other.customer.company_id == draft.customer.company_id
            and _signature(other) == mine
        ):
            return other.reference or "no reference"
    return None
