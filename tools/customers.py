"""Who sent this order: sender address -> contact -> company; a private domain as fallback.

Names in the body are only hints for the rep, never chosen: signatures mislead.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from pydantic import BaseModel, Field

from mailorder.domain import Customer, CustomerMatch

log = logging.getLogger(__name__)

MAX_CACHED_ANSWERS = 10_000  # distinct senders and domains remembered at once

# mail domains many unrelated senders share: a domain match there says nothing
PUBLIC_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "hotmail.nl",
        "live.com",
        "live.nl",
        "msn.com",
        "yahoo.com",
        "yahoo.nl",
        "icloud.com",
        "me.com",
        "mac.com",
        "aol.com",
        "kpnmail.nl",
        "ziggo.nl",
        "planet.nl",
        "home.nl",
        "xs4all.nl",
        "telfort.nl",
        "zonnet.nl",
        "caiway.nl",
        "upcmail.nl",
        "chello.nl",
        "hetnet.nl",
        "quicknet.nl",
        "proton.me",
        "protonmail.com",
        "gmx.com",
        "gmx.net",
        "gmx.de",
        "web.de",
        "mail.com",
        "example.com",
        "example.org",
        "example.net",
        "test.com",
        "localhost",
    }
)


class CustomerDirectory(Protocol):
    """The part of ErpClient this module needs (a hand-written fake works in tests)."""

    async def customer_by_email(self, email: str) -> Customer | None: ...
    async def customers_by_domain(self, domain: str) -> list[Customer]: ...
    async def list_customers(self) -> list[Customer]: ...


class CachedDirectory:
    """A CustomerDirectory that remembers answers for `ttl` seconds: a backlog from one customer
    asks the ERP once, not twice per email. Concurrent misses share one request; failures are
    not remembered. A contact added in the ERP is seen after at most `ttl` seconds."""

    def __init__(
        self, directory: CustomerDirectory, *, ttl: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.directory, self.ttl, self.clock = directory, ttl, clock
        self._answers: dict[tuple[str, str], tuple[float, Any]] = {}
        self._in_flight: dict[tuple[str, str], asyncio.Future] = {}

    async def customer_by_email(self, email: str) -> Customer | None:
        return await self._cached(("email", email.strip().lower()), self.directory.customer_by_email, email)

    async def customers_by_domain(self, domain: str) -> list[Customer]:
        return await self._cached(
            ("domain", domain.strip().lower()), self.directory.customers_by_domain, domain
        )

    async def list_customers(self) -> list[Customer]:
        return await self._cached(("all", ""), self.directory.list_customers)

    async def _cached(self, key: tuple[str, str], fetch: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        now = self.clock()
        if (hit := self._answers.get(key)) is not None and now - hit[0] < self.ttl:
            return hit[1]
        if (pending := self._in_flight.get(key)) is not None:
            return await asyncio.shield(pending)
        future = asyncio.get_running_loop().create_future()
        self._in_flight[key] = future
        try:
            answer = await fetch(*args)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody else waited
            raise
        else:
            future.set_result(answer)
            if len(self._answers) >= MAX_CACHED_ANSWERS:
                self._answers.clear()
            self._answers[key] = (now, answer)
            return answer
        finally:
            self._in_flight.pop(key, None)


class CustomerLookupInput(BaseModel):
    sender: str = Field(description="The e-mail address the order came from")
    body: str = Field(default="", description="Order text; company names in it become hints only")


def sender_domain(address: str) -> str:
    return address.rsplit("@", 1)[-1].strip().lower() if "@" in address else ""


def is_shared_domain(domain: str) -> bool:
    return (
        not domain or domain in PUBLIC_DOMAINS or domain.endswith(".invalid") or domain.startswith("example.")
    )


async def customer_lookup(erp: CustomerDirectory, sender: str, body: str = "") -> CustomerMatch:
    """Match the sender to a customer; unknown senders get customer=None (the rep decides)."""
    address = sender.strip().lower()
    hints = await _body_hints(erp, body) if body else []
    if address:
        found = await erp.customer_by_email(address)
        if found is not None:
            return CustomerMatch(customer=found, method="contact", confidence=1.0, hints=hints)
    domain = sender_domain(address)
    if not is_shared_domain(domain):
        companies = _by_company(await erp.customers_by_domain(domain))
        if len(companies) == 1:
            return CustomerMatch(customer=companies[0], method="domain", confidence=0.8, hints=hints)
        if companies:
            log.info("domain %s is shared by %d companies: no match", domain, len(companies))
    return CustomerMatch(customer=None, method="none", confidence=0.0, hints=hints)


def _by_company(customers: list[Customer]) -> list[Customer]:
    seen: dict[str, Customer] = {}
    for customer in customers:
        seen.setdefault(customer.company_id, customer)
    return list(seen.values())


async def _body_hints(erp: CustomerDirectory, body: str) -> list[Customer]:
    """Companies whose (non-trivial) name appears in the body, as hints for the rep."""
    try:
        customers = await erp.list_customers()
    except Exception as exc:  # noqa: BLE001 - hints are optional; never fail the lookup over them
        log.warning("customer hints unavailable: %s", exc)
        return []
    text = body.lower()
    hints = []
    for customer in _by_company(customers):
        name = (customer.company_name or "").strip().lower()
        if len(name) >= 4 and re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text):
            hints.append(customer)
    return hints[:5]
