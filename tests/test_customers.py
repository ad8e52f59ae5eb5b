import asyncio

import pytest

from mailorder.domain import Customer
from mailorder.tools.customers import CachedDirectory, customer_lookup, is_shared_domain


class FakeDirectory:
    """A hand-written ERP customer directory with a visible call history."""

    def __init__(self, customers: list[Customer]) -> None:
        self.customers = customers
        self.history: list[tuple[str, str]] = []

    async def customer_by_email(self, email: str) -> Customer | None:
        self.history.append(("email", email))
        return next((c for c in self.customers if c.contact_email == email), None)

    async def customers_by_domain(self, domain: str) -> list[Customer]:
        self.history.append(("domain", domain))
        return [c for c in self.customers if (c.contact_email or "").endswith("@" + domain)]

    async def list_customers(self) -> list[Customer]:
        self.history.append(("all", ""))
        return self.customers


DIRECTORY = [
    Customer(company_id="COMP-001", company_name="Signmakers Zuid", contact_email="inkoop@signzuid.nl"),
    Customer(company_id="COMP-001", company_name="Signmakers Zuid", contact_email="jan@signzuid.nl"),
    Customer(company_id="COMP-002", company_name="Drukkerij Noord", contact_email="a@example.com"),
    Customer(company_id="COMP-003", company_name="Reclame West", contact_email="b@example.com"),
    Customer(company_id="COMP-004", company_name="Print & Co", contact_email="p@gedeeld.nl"),
    Customer(company_id="COMP-005", company_name="Andere BV", contact_email="q@gedeeld.nl"),
]


async def test_contact_address_wins():
    match = await customer_lookup(FakeDirectory(DIRECTORY), "A@Example.com")
    assert match.customer.company_id == "COMP-002" and match.method == "contact"
    assert match.confidence == 1.0


async def test_private_domain_with_one_company_matches():
    match = await customer_lookup(FakeDirectory(DIRECTORY), "nieuw@signzuid.nl")
    assert match.customer.company_id == "COMP-001" and match.method == "domain"
    assert match.confidence < 1.0


async def test_shared_or_public_domains_never_match():
    directory = FakeDirectory(DIRECTORY)
    assert (await customer_lookup(directory, "new@example.com")).customer is None
    assert (await customer_lookup(directory, "someone@gmail.com")).customer is None
    assert (await customer_lookup(directory, "x@gedeeld.nl")).customer is None  # two companies
    assert ("domain", "gmail.com") not in directory.history
    assert is_shared_domain("hotmail.com") and not is_shared_domain("signzuid.nl")


async def test_names_in_the_body_are_hints_only():
    body = "Groeten, Reclame West\nDrukkerij Noord"
    match = await customer_lookup(FakeDirectory(DIRECTORY), "unknown@gmail.com", body)
    assert match.customer is None and match.method == "none"
    assert {h.company_id for h in match.hints} == {"COMP-002", "COMP-003"}


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_cached_directory_asks_the_erp_once_per_sender_until_the_ttl_passes():
    erp, ticks = FakeDirectory(DIRECTORY), Ticks()
    cached = CachedDirectory(erp, ttl=60, clock=ticks)
    for _ in range(3):
        assert (
            await customer_lookup(cached, "a@example.com", "Drukkerij Noord")
        ).customer.company_id == "COMP-002"
    assert sorted(erp.history) == [("all", ""), ("email", "a@example.com")]
    assert (await cached.customer_by_email("nobody@example.com")) is None  # unknown senders too
    assert (await cached.customer_by_email("nobody@example.com")) is None
    assert erp.history.count(("email", "nobody@example.com")) == 1
    ticks.now = 61
    await customer_lookup(cached, "a@example.com", "body")
    assert erp.history.count(("email", "a@example.com")) == 2 and erp.history.count(("all", "")) == 2


async def test_cached_directory_shares_one_request_between_concurrent_misses():
    class Slow(FakeDirectory):
        def __init__(self, customers) -> None:
            super().__init__(customers)
            self.release = asyncio.Event()

        async def customer_by_email(self, email: str):
            self.history.append(("email", email))
            await self.release.wait()
            return next((c for c in self.customers if c.contact_email == email), None)

    erp = Slow(DIRECTORY)
    cached = CachedDirectory(erp)
    waiting = [asyncio.create_task(cached.customer_by_email("b@example.com")) for _ in range(5)]
    await asyncio.sleep(0)
    erp.release.set()
    assert {c.company_id for c in await asyncio.gather(*waiting)} == {"COMP-003"}
    assert erp.history == [("email", "b@example.com")]


async def test_cached_directory_does_not_remember_failures():
    class Flaky(FakeDirectory):
        failures = 1

        async def customer_by_email(self, email: str):
            if self.failures:
                self.failures -= 1
                raise ConnectionError("ERP down")
            return await super().customer_by_email(email)

    erp = Flaky(DIRECTORY)
    cached = CachedDirectory(erp)
    with pytest.raises(ConnectionError):
        await cached.customer_by_email("a@example.com")
    assert (await cached.customer_by_email("a@example.com")).company_id == "COMP-002"
    assert erp.history == [("email", "a@example.com")]  # asked again after the failure
