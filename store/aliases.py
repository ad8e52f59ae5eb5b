"""Aliases learned from rep corrections: (customer, normalised source text) -> (sku, unit)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from mailorder.store.models import Base


class Alias(Base):
    __tablename__ = "aliases"
    __table_args__ = (UniqueConstraint("customer_id", "source_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64))
    source_key: Mapped[str] = mapped_column(String(500))  # normalise_alias(source text)
    source_text: Mapped[str] = mapped_column(String(1000))
    sku: Mapped[str] = mapped_column(String(64))
    unit: Mapped[str | None] = mapped_column(String(32), nullable=True)
    taught_by: Mapped[str] = mapped_column(String(320))
    taught_at: Mapped[datetime] = mapped_column(DateTime)
    uses: Mapped[int] = mapped_column(Integer, default=1)


def upsert_alias(
    session: Session,
    now: datetime,
    *,
    customer_id: str,
    source_key: str,
    source_text: str,
    sku: str,
    unit: str | None,
    taught_by: str,
) -> Alias:
    """Insert, or update the same key (latest teacher wins, `uses` counts the teachings)."""
    alias = session.scalar(
        select(Alias).where(Alias.customer_id == customer_id, Alias.source_key == source_key)
    )
    if alias is None:
        alias = Alias(
            customer_id=customer_id,
            source_key=source_key,
            source_text=source_text,
            sku=sku,
            unit=unit,
            taught_by=taught_by,
            taught_at=now,
            uses=1,
        )
        session.add(alias)
    else:
        alias.sku, alias.unit, alias.source_text = sku, unit, source_text
        alias.taught_by, alias.taught_at, alias.uses = taught_by, now, alias.uses + 1
    session.flush()
    return alias


def list_aliases(session: Session, customer_id: str | None = None) -> list[Alias]:
    query = select(Alias).order_by(Alias.customer_id, Alias.source_key)
    if customer_id:
        query = query.where(Alias.customer_id == customer_id)
    return list(session.scalars(query))


def remove_alias(session: Session, alias_id: int) -> Alias | None:
    alias = session.get(Alias, alias_id)
    if alias is not None:
        session.delete(alias)
    return alias
