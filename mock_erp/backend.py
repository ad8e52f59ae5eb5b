"""The mock ERP's data operations (synchronous, SQLAlchemy); the FastAPI layer calls these.

One lock serialises all DB work: the in-memory database is one shared connection, and it keeps
"check the Idempotency-Key, then create the order" atomic within this process. The key's primary
key constraint still guards against a second process writing the same file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from mailorder.mock_erp.contract import ErpCustomer, ErpProduct, ErpStock
from mailorder.mock_erp.dataset import Dataset, HistoryOrder, sync_dataset
from mailorder.mock_erp.db import (
    CompanyRow,
    ContactRow,
    IdempotencyRow,
    OrderLineRow,
    OrderRow,
    ProductRow,
    StockRow,
    make_sessionmaker,
)
from mailorder.mock_erp.errors import error_body
from mailorder.mock_erp.inventory import base_quantity, initial_stock
from mailorder.mock_erp.orders import OrderRequestIn, validate_order

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class SubmitOutcome:
    status: int
    body: dict
    replayed: bool = False


def request_hash(order_request: object) -> str:
    return hashlib.sha256(json.dumps(order_request, sort_keys=True, default=str).encode()).hexdigest()


def product_from_row(row: ProductRow) -> ErpProduct:
    return ErpProduct(
        sku=row.sku,
        name=row.name,
        base_unit=row.base_unit,
        units=row.units,
        unit_price=row.unit_price,
        family=row.family,
        active=row.active,
    )


def customer_from_rows(company: CompanyRow, contact: ContactRow | None) -> ErpCustomer:
    return ErpCustomer(
        company_id=company.company_id,
        company_name=company.company_name,
        contact_email=contact.email_address if contact else None,
        contact_id=contact.id if contact else None,
        rep_email=company.rep_email,
    )


def order_to_dict(order: OrderRow) -> dict:
    created = order.created_at if order.created_at.tzinfo else order.created_at.replace(tzinfo=UTC)
    return {
        "order_id": order.order_id,
        "customer_name": order.customer_name,
        "customer_id": order.customer_id,
        "reference": order.reference,
        "delivery_date": order.delivery_date,
        "comment": order.comment,
        "total_amount": order.total_amount,
        "created_at": created.isoformat(),
        "idempotency_key": order.idempotency_key,
        "products": [
            {
                "sku": line.sku,
                "product_name": line.product_name,
                "quantity": line.quantity,
                "unit": line.unit,
                "unit_price": line.unit_price,
                "line_total": line.line_total,
            }
            for line in order.lines
        ],
    }


class ErpBackend:
    def __init__(self, engine: Engine, dataset: Dataset, clock: Clock = utc_now) -> None:
        self.engine = engine
        self.clock = clock
        self.catalog_version = dataset.catalog_version
        self._sessions = make_sessionmaker(engine)
        self._lock = threading.Lock()
        with self._lock, self._sessions.begin() as session:
            sync_dataset(session, dataset)
            self._seed_stock(session, dataset)
            added = self._load_history(session, dataset.history)
        log.info(
            "mock ERP loaded %d products, %d companies, %d contacts, %d earlier orders (catalog %s)",
            len(dataset.products),
            len(dataset.companies),
            len(dataset.contacts),
            added,
            self.catalog_version,
        )

    def close(self) -> None:
        self.engine.dispose()

    # --- catalog -------------------------------------------------------------------------------
    def list_products(self, q: str | None, limit: int, offset: int) -> tuple[list[ErpProduct], int]:
        """Products ordered by SKU; q = every whitespace token must occur in sku or name (any case)."""
        stmt = select(ProductRow)
        for token in (q or "").lower().split():
            pattern = f"%{token}%"
            stmt = stmt.where(
                or_(func.lower(ProductRow.sku).like(pattern), func.lower(ProductRow.name).like(pattern))
            )
        with self._lock, self._sessions() as session:
            total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
            rows = session.scalars(stmt.order_by(ProductRow.sku).limit(limit).offset(offset)).all()
            return [product_from_row(r) for r in rows], total

    def get_product(self, sku: str) -> ErpProduct | None:
        with self._lock, self._sessions() as session:
            row = session.get(ProductRow, sku)
            return product_from_row(row) if row else None

    # --- stock ---------------------------------------------------------------------------------
    @staticmethod
    def _seed_stock(session: Session, dataset: Dataset) -> None:
        """A starting figure for every product without one; figures of dropped products go. Stock
        that orders took survives restarts (a file database keeps it)."""
        known = set(session.scalars(select(StockRow.sku)))
        for product in dataset.products:
            if product.sku not in known:
                figure = initial_stock(product, dataset.stock.get(product.sku))
                session.add(StockRow(sku=product.sku, available=figure))
        stale = known - {p.sku for p in dataset.products}
        if stale:
            session.execute(delete(StockRow).where(StockRow.sku.in_(stale)))

    def stock(self, skus: list[str] | None) -> tuple[list[ErpStock], list[str]]:
        """(stock of the known SKUs in the asked order, the SKUs the ERP does not know); None = all."""
        with self._lock, self._sessions() as session:
            stmt = select(StockRow, ProductRow.base_unit).join(ProductRow, ProductRow.sku == StockRow.sku)
            if skus is not None:
                stmt = stmt.where(StockRow.sku.in_(set(skus)))
            found = {
                row.sku: ErpStock(sku=row.sku, available=row.available, unit=unit)
                for row, unit in session.execute(stmt.order_by(StockRow.sku))
            }
        if skus is None:
            return list(found.values()), []
        wanted = list(dict.fromkeys(skus))
        return [found[s] for s in wanted if s in found], [s for s in wanted if s not in found]

    def set_stock(self, sku: str, available: float) -> ErpStock | None:
        """Set what is available of a product (base unit); None for an unknown SKU."""
        with self._lock, self._sessions.begin() as session:
            product = session.get(ProductRow, sku)
            if product is None:
                return None
            row = session.get(StockRow, sku)
            if row is None:
                session.add(StockRow(sku=sku, available=available))
            else:
                row.available = available
            return ErpStock(sku=sku, available=available, unit=product.base_unit)

    # --- customers -----------------------------------------------------------------------------
    def find_customers(
        self, email: str | None = None, domain: str | None = None, company_id: str | None = None
    ) -> list[ErpCustomer]:
        """Contacts matching email/domain (as customers), or companies with their default contact."""
        with self._lock, self._sessions() as session:
            companies = {c.id: c for c in session.scalars(select(CompanyRow).order_by(CompanyRow.id))}
            contacts = list(session.scalars(select(ContactRow).order_by(ContactRow.id)))
        if email or domain:
            wanted_email = (email or "").strip().lower()
            suffix = "@" + (domain or "").strip().lower().lstrip("@")
            found = []
            for contact in contacts:
                address = contact.email_address.lower()
                if email and address != wanted_email:
                    continue
                if domain and not address.endswith(suffix):
                    continue
                company = companies.get(contact.company_id)
                if company and (not company_id or company.company_id == company_id):
                    found.append(customer_from_rows(company, contact))
            return found
        by_id = {c.id: c for c in contacts}
        return [
            customer_from_rows(company, self._main_contact(company, by_id, contacts))
            for company in companies.values()
            if not company_id or company.company_id == company_id
        ]

    @staticmethod
    def _main_contact(
        company: CompanyRow, by_id: dict[int, ContactRow], contacts: list[ContactRow]
    ) -> ContactRow | None:
        default = by_id.get(company.default_contact_id) if company.default_contact_id is not None else None
        if default is not None and default.company_id == company.id:
            return default
        return next((c for c in contacts if c.company_id == company.id), default)

    # --- orders --------------------------------------------------------------------------------
    def submit(
        self,
        order: OrderRequestIn | None,
        parse_errors: list[str],
        idempotency_key: str | None,
        req_hash: str,
    ) -> SubmitOutcome:
        """Validate and create the order; the answer is stored under the key in the same transaction."""
        with self._lock:
            try:
                return self._submit_once(order, parse_errors, idempotency_key, req_hash)
            except IntegrityError:
                # another writer stored this key first (e.g. a second process on the same file)
                log.info("idempotency key %s stored concurrently; replaying", idempotency_key)
                with self._sessions() as session:
                    stored = session.get(IdempotencyRow, idempotency_key)
                    if stored is None:
                        raise
                    return SubmitOutcome(stored.status_code, stored.body, replayed=True)

    def _submit_once(
        self, order: OrderRequestIn | None, parse_errors: list[str], key: str | None, req_hash: str
    ) -> SubmitOutcome:
        with self._sessions.begin() as session:
            if key:
                stored = session.get(IdempotencyRow, key)
                if stored is not None:
                    if stored.request_hash != req_hash:
                        log.warning(
                            "idempotency key %s reused with a different request; replaying the first answer",
                            key,
                        )
                    return SubmitOutcome(stored.status_code, stored.body, replayed=True)
            outcome = self._decide(session, order, parse_errors, key)
            if key:
                session.add(
                    IdempotencyRow(
                        key=key,
                        status_code=outcome.status,
                        body=outcome.body,
                        request_hash=req_hash,
                        created_at=self.clock(),
                    )
                )
                session.flush()
            return outcome

    def _decide(
        self, session: Session, order: OrderRequestIn | None, parse_errors: list[str], key: str | None
    ) -> SubmitOutcome:
        errors = list(parse_errors)
        if order is not None and not errors:
            skus = {line.sku for line in order.products if line.sku}
            catalog = {
                row.sku: product_from_row(row)
                for row in session.scalars(select(ProductRow).where(ProductRow.sku.in_(skus)))
            }
            known_ids = set(session.scalars(select(CompanyRow.company_id)))
            errors = validate_order(order, catalog, known_ids)
        if errors or order is None:
            errors = errors or ["Invalid orderRequest"]
            return SubmitOutcome(422, error_body(errors[0], "VALIDATION_ERROR", errors))
        row = self._create_order(session, order, key)
        log.info(
            "created order %s for %r (%d lines, total %.2f)",
            row.order_id,
            row.customer_name,
            len(row.lines),
            row.total_amount,
        )
        return SubmitOutcome(
            200, {"success": True, "order_id": row.order_id, "message": "Order successfully created"}
        )

    def _create_order(self, session: Session, order: OrderRequestIn, key: str | None) -> OrderRow:
        created = self.clock()
        row = OrderRow(
            customer_name=(order.customer_name or "").strip(),
            customer_id=order.customer_id,
            reference=order.reference,
            delivery_date=order.delivery_date,
            comment=order.comment,
            total_amount=float(order.total_amount or 0),
            created_at=created,
            idempotency_key=key,
        )
        products = {
            r.sku: r
            for r in session.scalars(
                select(ProductRow).where(ProductRow.sku.in_({ln.sku for ln in order.products}))
            )
        }
        for position, line in enumerate(order.products, start=1):
            qty, price = float(line.quantity or 0), float(line.unit_price or 0)
            product = products.get(line.sku or "")
            row.lines.append(
                OrderLineRow(
                    position=position,
                    sku=line.sku,
                    product_name=line.product_name or (product.name if product else ""),
                    quantity=qty,
                    unit=line.unit or (product.base_unit if product else ""),
                    unit_price=price,
                    line_total=round(qty * price, 2),
                )
            )
        session.add(row)
        session.flush()  # assigns row.id
        row.order_id = f"EXT-ORDER-{created:%Y%m%d}-{row.id:06d}"
        self._take_stock(session, order, products)
        session.flush()
        return row

    @staticmethod
    def _take_stock(session: Session, order: OrderRequestIn, products: dict[str, ProductRow]) -> None:
        """What the order's lines take from stock (base units), in the transaction storing the order;
        stock does not go below zero (the rest is a backorder)."""
        taken: dict[str, float] = {}
        for line in order.products:
            product = products.get(line.sku or "")
            if product is not None:
                quantity = base_quantity(product_from_row(product), float(line.quantity or 0), line.unit)
                taken[product.sku] = taken.get(product.sku, 0.0) + quantity
        for sku, quantity in taken.items():
            row = session.get(StockRow, sku)
            if row is not None:
                row.available = max(0.0, round(row.available - quantity, 6))

    def _load_history(self, session: Session, history: list[HistoryOrder]) -> int:
        """Earlier orders from the dataset (history.json), each added once under its own key."""
        if not history:
            return 0
        known = set(
            session.scalars(select(OrderRow.idempotency_key).where(OrderRow.idempotency_key.is_not(None)))
        )
        names = {c.company_id: c.company_name for c in session.scalars(select(CompanyRow))}
        products = {r.sku: r for r in session.scalars(select(ProductRow))}
        added = 0
        for past in history:
            if past.key in known:
                continue
            try:
                created = datetime.fromisoformat(past.order_date).replace(hour=12, tzinfo=UTC)
            except ValueError:
                log.warning("history order of %s has no valid order_date; skipped", past.company_id)
                continue
            row = OrderRow(
                customer_name=names.get(past.company_id) or past.company_id,
                customer_id=past.company_id,
                reference=past.reference,
                total_amount=0.0,
                created_at=created,
                idempotency_key=past.key,
            )
            for position, line in enumerate(past.lines, start=1):
                product = products.get(line.sku)
                if product is None:
                    log.warning(
                        "history order of %s names unknown SKU %s; line skipped", past.company_id, line.sku
                    )
                    continue
                unit = line.unit or product.base_unit
                per_base = next((float(u["per_base"]) for u in product.units if u["unit"] == unit), 1.0)
                price = round(product.unit_price * per_base, 4)
                row.lines.append(
                    OrderLineRow(
                        position=position,
                        sku=line.sku,
                        product_name=product.name,
                        quantity=line.qty,
                        unit=unit,
                        unit_price=price,
                        line_total=round(line.qty * price, 2),
                    )
                )
            row.total_amount = round(sum(ln.line_total for ln in row.lines), 2)
            session.add(row)
            session.flush()
            row.order_id = f"EXT-ORDER-{created:%Y%m%d}-{row.id:06d}"
            known.add(past.key)
            added += 1
        return added

    def customer_orders(self, company_id: str, limit: int) -> list[dict] | None:
        """The customer's orders, newest first, with their lines; None for an unknown company."""
        with self._lock, self._sessions() as session:
            if (
                session.scalar(select(CompanyRow.id).where(CompanyRow.company_id == company_id).limit(1))
                is None
            ):
                return None
            rows = session.scalars(
                select(OrderRow)
                .options(selectinload(OrderRow.lines))
                .where(OrderRow.customer_id == company_id)
                .order_by(OrderRow.created_at.desc(), OrderRow.id.desc())
                .limit(limit)
            ).all()
            return [order_to_dict(r) for r in rows]

    def list_orders(self, limit: int) -> list[dict]:
        with self._lock, self._sessions() as session:
            rows = session.scalars(
                select(OrderRow)
                .options(selectinload(OrderRow.lines))
                .order_by(OrderRow.id.desc())
                .limit(limit)
            ).all()
            return [order_to_dict(r) for r in rows]

    def get_order(self, order_id: str) -> dict | None:
        with self._lock, self._sessions() as session:
            row = session.scalar(
                select(OrderRow).options(selectinload(OrderRow.lines)).where(OrderRow.order_id == order_id)
            )
            return order_to_dict(row) if row else None
