"""SQLAlchemy tables of the mock ERP and engine setup (SQLite, file or in-memory)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, sessionmaker
from sqlalchemy.pool import StaticPool


class Base(DeclarativeBase):
    pass


class ProductRow(Base):
    __tablename__ = "products"

    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    base_unit: Mapped[str] = mapped_column(String(32))
    units: Mapped[list] = mapped_column(JSON)  # [{"unit": ..., "per_base": ...}, ...]
    unit_price: Mapped[float] = mapped_column(Float)
    family: Mapped[str] = mapped_column(String(64), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class StockRow(Base):
    """What is available of a product, in its base unit (kept apart from the master data, so a
    dataset reload does not reset it; posted orders take from it)."""

    __tablename__ = "stock"

    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    available: Mapped[float] = mapped_column(Float)


class CompanyRow(Base):
    __tablename__ = "companies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # internal id
    company_id: Mapped[str] = mapped_column(String(32), index=True)  # public COMP-NNN
    company_name: Mapped[str | None] = mapped_column(Text, nullable=True)
    default_contact_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rep_email: Mapped[str | None] = mapped_column(String(320), nullable=True)


class ContactRow(Base):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    company_id: Mapped[int | None] = mapped_column(Integer, index=True, nullable=True)  # internal
    email_address: Mapped[str] = mapped_column(String(320), index=True)


class OrderRow(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    customer_name: Mapped[str] = mapped_column(Text)
    customer_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    reference: Mapped[str | None] = mapped_column(Text, nullable=True)
    delivery_date: Mapped[str | None] = mapped_column(String(10), nullable=True)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    total_amount: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column()
    idempotency_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    lines: Mapped[list[OrderLineRow]] = relationship(
        back_populates="order", order_by="OrderLineRow.position", cascade="all, delete-orphan"
    )


class OrderLineRow(Base):
    __tablename__ = "order_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_pk: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    sku: Mapped[str] = mapped_column(String(64))
    product_name: Mapped[str] = mapped_column(Text, default="")
    quantity: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(32))
    unit_price: Mapped[float] = mapped_column(Float)
    line_total: Mapped[float] = mapped_column(Float)
    order: Mapped[OrderRow] = relationship(back_populates="lines")


class IdempotencyRow(Base):
    """The first answer given for an Idempotency-Key; the primary key makes the key unique."""

    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[dict] = mapped_column(JSON)
    request_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column()


def make_engine(db_url: str) -> Engine:
    """An engine for SQLite; in-memory databases share one connection (StaticPool)."""
    in_memory = db_url in ("sqlite://", "sqlite:///:memory:") or "mode=memory" in db_url
    kwargs: dict = {"connect_args": {"check_same_thread": False}} if db_url.startswith("sqlite") else {}
    if in_memory:
        kwargs["poolclass"] = StaticPool
    engine = create_engine(db_url, **kwargs)
    if db_url.startswith("sqlite") and not in_memory:
        event.listen(engine, "connect", _sqlite_file_pragmas)
        event.listen(engine, "begin", _begin_immediate)
    Base.metadata.create_all(engine)
    return engine


def _sqlite_file_pragmas(dbapi_conn, _record) -> None:
    # SQLAlchemy's recipe for pysqlite: let us emit BEGIN ourselves (see _begin_immediate)
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _begin_immediate(conn) -> None:
    """Take the write lock at BEGIN, so two processes sharing the file queue up (busy_timeout)
    instead of one failing with "database is locked" when it upgrades a read to a write."""
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_sessionmaker(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)
