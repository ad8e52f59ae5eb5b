"""Stock: what the ERP says is available of the draft's products, asked once per draft.

`stock` is a plain function with a Pydantic input schema (wrapped as a LangChain tool in
tools/toolbox.py); `CachedStock` remembers answers for a minute, so a backlog of orders for the
same products asks the ERP once; `check_stock` puts the figures on a draft (through
tools.draft_order.apply_stock) and turns any failure into a note: stock never blocks a draft.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Protocol

from pydantic import BaseModel, Field

from mailorder.domain import Draft
from mailorder.tools.catalog import CatalogIndex
from mailorder.tools.draft_order import apply_stock

log = logging.getLogger(__name__)

MAX_CACHED_SKUS = 50_000  # SKUs remembered at once


class StockLevel(BaseModel):
    """What the ERP has of one product (GET /api/inventory)."""

    sku: str
    available: float  # in the product's base unit
    unit: str  # the product's base unit


class StockInput(BaseModel):
    """Input schema of the stock tool."""

    skus: list[str] = Field(min_length=1, max_length=200, description="Catalog SKUs, e.g. 10-0001-0001")


class StockSource(Protocol):
    """The part of ErpClient this module needs (a hand-written fake works in tests)."""

    async def stock_levels(self, skus: Sequence[str]) -> Mapping[str, StockLevel]: ...


class CachedStock:
    """A StockSource that remembers each SKU's answer (also "the ERP does not know it") for `ttl`
    seconds. The SKUs a call misses are asked in one request; concurrent misses of the same SKU
    share that request; failures are not remembered."""

    def __init__(
        self, source: StockSource, *, ttl: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.source, self.ttl, self.clock = source, ttl, clock
        self._answers: dict[str, tuple[float, StockLevel | None]] = {}
        self._in_flight: dict[str, asyncio.Future[StockLevel | None]] = {}

    async def levels(self, skus: Iterable[str]) -> dict[str, StockLevel | None]:
        """Each SKU's stock; None for a SKU the ERP does not know. Raises what the source raises."""
        now = self.clock()
        found: dict[str, StockLevel | None] = {}
        pending: dict[str, asyncio.Future[StockLevel | None]] = {}
        missing: list[str] = []
        for sku in dict.fromkeys(s for s in skus if s):
            if (hit := self._answers.get(sku)) is not None and now - hit[0] < self.ttl:
                found[sku] = hit[1]
            elif (future := self._in_flight.get(sku)) is not None:
                pending[sku] = future
            else:
                missing.append(sku)
        if missing:
            found.update(await self._fetch(missing, now))
        for sku, future in pending.items():
            found[sku] = await asyncio.shield(future)
        return found

    async def _fetch(self, skus: list[str], now: float) -> dict[str, StockLevel | None]:
        loop = asyncio.get_running_loop()
        futures = {sku: loop.create_future() for sku in skus}
        self._in_flight.update(futures)
        try:
            answer = await self.source.stock_levels(skus)
        except BaseException as exc:
            for future in futures.values():
                future.set_exception(exc)
                future.exception()  # retrieved: no "never retrieved" warning when nobody else waited
            raise
        else:
            if len(self._answers) + len(skus) > MAX_CACHED_SKUS:
                self._answers.clear()
            levels = {sku: answer.get(sku) for sku in skus}
            for sku, level in levels.items():
                futures[sku].set_result(level)
                self._answers[sku] = (now, level)
            return levels
        finally:
            for sku, future in futures.items():
                if self._in_flight.get(sku) is future:
                    del self._in_flight[sku]


async def stock(source: CachedStock, skus: Sequence[str]) -> dict[str, StockLevel | None]:
    """The stock of these SKUs in their base units (None: the ERP does not know the SKU)."""
    request = StockInput(skus=list(skus))
    return await source.levels(request.skus)


async def check_stock(draft: Draft, source: CachedStock, catalog: CatalogIndex) -> Draft:
    """The draft with each line's availability and a note on every line stock cannot cover; when
    the ERP does not answer, a note that stock is unknown. Never raises over stock; never blocks."""
    skus = [line.sku for line in draft.lines if line.sku and catalog.get(line.sku) is not None]
    if not skus:
        return draft
    try:
        levels = await source.levels(skus)
    except Exception as exc:  # noqa: BLE001 - stock is advice for the rep; the draft goes on without it
        log.warning("stock unknown for %d SKU(s): %s", len(set(skus)), exc)
        return apply_stock(draft, None, catalog)
    figures = {sku: level.available if level else None for sku, level in levels.items()}
    return apply_stock(draft, figures, catalog)
