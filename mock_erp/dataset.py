"""Load a dataset folder (interchange format: products.json, contacts.json, companies.json, and
optionally history.json: earlier ERP orders per customer; a product may carry a `stock` figure).

Parsing is pure (files -> typed records); `sync_dataset` mirrors the master data into the DB.
Orders are never touched, so they survive restarts and dataset reloads; earlier orders from
history.json are added once (keyed by an idempotency key of their own).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from mailorder.mock_erp.contract import ErpProduct
from mailorder.mock_erp.db import CompanyRow, ContactRow, ProductRow

log = logging.getLogger(__name__)


@dataclass
class HistoryLine:
    sku: str
    qty: float
    unit: str | None = None


@dataclass
class HistoryOrder:
    """An order the ERP already had before the dataset's emails (history.json)."""

    company_id: str
    order_date: str  # YYYY-MM-DD
    lines: list[HistoryLine]
    reference: str | None = None

    @property
    def key(self) -> str:
        """Stable identity, so loading the same history twice adds nothing."""
        lines = ",".join(f"{ln.sku}:{ln.qty:g}:{ln.unit or ''}" for ln in self.lines)
        digest = hashlib.sha256(f"{self.company_id}|{self.order_date}|{lines}".encode()).hexdigest()[:16]
        return f"history-{digest}"


@dataclass
class Dataset:
    products: list[ErpProduct]
    companies: list[dict] = field(default_factory=list)  # raw rows: id, company_id, company_name, ...
    contacts: list[dict] = field(default_factory=list)  # raw rows: id, company_id, email_address
    history: list[HistoryOrder] = field(default_factory=list)  # earlier orders (history.json)
    stock: dict[str, float] = field(default_factory=dict)  # sku -> starting stock (products.json `stock`)

    @property
    def catalog_version(self) -> str:
        return catalog_version(self.products)


def default_dataset_dir() -> Path:
    """The project's `data/` package folder."""
    return Path(str(files("mailorder.data")))


def catalog_version(products: list[ErpProduct]) -> str:
    """A short content hash of the catalog; changes whenever any product changes."""
    canonical = json.dumps([p.model_dump() for p in sorted(products, key=lambda p: p.sku)], sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _read_json_array(path: Path, required: bool, quiet: bool = False) -> list[dict]:
    if not path.exists():
        if required:
            raise FileNotFoundError(f"dataset file missing: {path}")
        if not quiet:
            log.warning("dataset file %s missing; treating it as empty", path)
        return []
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise ValueError(f"{path} must hold a JSON array")
    return data


def read_dataset(dataset_dir: Path) -> Dataset:
    """Parse the three master-data files; products.json is required, customers are optional."""
    dataset_dir = Path(dataset_dir)
    raw_products = _read_json_array(dataset_dir / "products.json", True)
    products = [ErpProduct.model_validate(p) for p in raw_products]
    stock = {
        str(p["sku"]): float(p["stock"])
        for p in raw_products
        if isinstance(p.get("stock"), int | float) and not isinstance(p.get("stock"), bool)
    }
    companies = [
        {
            "id": int(c["id"]),
            "company_id": str(c["company_id"]),
            "company_name": c.get("company_name"),
            "default_contact_id": c.get("default_contact_id"),
            "rep_email": (c.get("rep_email") or None),
        }
        for c in _read_json_array(dataset_dir / "companies.json", False)
    ]
    contacts = [
        {
            "id": int(c["id"]),
            "company_id": c.get("company_id"),
            "email_address": str(c.get("email_address") or "").strip(),
        }
        for c in _read_json_array(dataset_dir / "contacts.json", False)
        if c.get("email_address")
    ]
    history = [
        HistoryOrder(
            company_id=str(h["company_id"]),
            order_date=str(h.get("order_date") or "")[:10],
            reference=h.get("reference"),
            lines=[
                HistoryLine(sku=str(ln["sku"]), qty=float(ln["qty"]), unit=ln.get("unit") or None)
                for ln in h.get("lines", [])
                if ln.get("sku") and ln.get("qty") is not None
            ],
        )
        for h in _read_json_array(dataset_dir / "history.json", False, quiet=True)
        if h.get("company_id")
    ]
    return Dataset(products=products, companies=companies, contacts=contacts, history=history, stock=stock)


def sync_dataset(session: Session, dataset: Dataset) -> None:
    """Upsert the master data and drop rows the dataset no longer has (orders stay)."""
    _mirror(session, ProductRow, "sku", [p.model_dump(mode="json") for p in dataset.products])
    _mirror(session, CompanyRow, "id", dataset.companies)
    _mirror(session, ContactRow, "id", dataset.contacts)


def _mirror(session: Session, table, key: str, rows: list[dict]) -> None:
    """Make `table` hold exactly `rows`: update existing keys, insert new ones, delete the rest."""
    key_column = getattr(table, key)
    existing = {getattr(row, key): row for row in session.scalars(select(table))}
    wanted = {row[key]: row for row in rows}  # the last duplicate wins
    for k, values in wanted.items():
        row = existing.get(k)
        if row is None:
            session.add(table(**values))
        else:
            for name, value in values.items():
                setattr(row, name, value)
    stale = set(existing) - set(wanted)
    if stale:
        session.execute(delete(table).where(key_column.in_(stale)))
