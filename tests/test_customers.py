from tools.customers import customer_lookup, is_shared_domain
from tools.models import Customer


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
