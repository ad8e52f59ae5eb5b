"""Earned autonomy in the store: which customers an admin switched automatic posting on or off
for, and the plans to post a draft version by itself when its veto window passes.

A plan is claimed exactly once (`scheduled` -> `posting` in one UPDATE) before its draft's thread
is resumed, so a restart during the window or two workers never post twice; `held`, `superseded`
and `cancelled` plans never post. Times are naive UTC, like the rest of the store."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String, UniqueConstraint, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from mailorder.store.models import Base, DraftRecord, DraftStatus, DraftVersion


class PlanStatus(StrEnum):
    SCHEDULED = "scheduled"  # posts when due unless held, edited or decided before
    POSTING = "posting"  # claimed by a worker; resumed (again after a crash) until posted
    POSTED = "posted"
    HELD = "held"  # the rep said HOLD (or WACHT): a normal review follows
    SUPERSEDED = "superseded"  # the rep edited the draft: the new version waits for a review
    CANCELLED = "cancelled"  # decided otherwise (APPROVE, REJECT) or no longer open
    CORRECTED = "corrected"  # posted, then the rep answered with a rejection or an edit


class AutopostCustomer(Base):
    """An admin's switch for one customer (`mailorder autopost enable|disable COMP-…`)."""

    __tablename__ = "autopost_customers"

    company_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    enabled: Mapped[bool]
    changed_by: Mapped[str] = mapped_column(String(320))
    changed_at: Mapped[datetime] = mapped_column(DateTime)


class AutopostPlan(Base):
    __tablename__ = "autopost_plans"
    __table_args__ = (UniqueConstraint("draft_id", "version", name="uq_autopost_plan"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    draft_id: Mapped[int] = mapped_column(Integer, index=True)
    version: Mapped[int]
    company_id: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    due_at: Mapped[datetime] = mapped_column(DateTime)
    reasons: Mapped[list[Any]] = mapped_column(JSON)
    policy: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


# --- switches ----------------------------------------------------------------------------------


def set_customer(session: Session, now: datetime, company_id: str, *, enabled: bool, by: str) -> None:
    row = session.get(AutopostCustomer, company_id)
    if row is None:
        session.add(AutopostCustomer(company_id=company_id, enabled=enabled, changed_by=by, changed_at=now))
    else:
        row.enabled, row.changed_by, row.changed_at = enabled, by, now


def customer_switches(session: Session) -> dict[str, bool]:
    """company id -> enabled, for the customers an admin switched."""
    return {row.company_id: row.enabled for row in session.scalars(select(AutopostCustomer))}


# --- plans -------------------------------------------------------------------------------------


def add_plan(
    session: Session,
    now: datetime,
    *,
    draft_id: int,
    version: int,
    company_id: str,
    due_at: datetime,
    reasons: list[str],
    policy: dict[str, Any],
) -> AutopostPlan:
    existing = plan_for(session, draft_id, version)
    if existing is not None:
        return existing
    plan = AutopostPlan(
        draft_id=draft_id,
        version=version,
        company_id=company_id,
        status=PlanStatus.SCHEDULED,
        due_at=due_at,
        reasons=reasons,
        policy=policy,
        created_at=now,
        updated_at=now,
    )
    session.add(plan)
    session.flush()
    return plan


def plan_for(session: Session, draft_id: int, version: int | None = None) -> AutopostPlan | None:
    """The plan of a draft version (the newest plan of the draft when no version is given)."""
    query = select(AutopostPlan).where(AutopostPlan.draft_id == draft_id)
    if version is not None:
        query = query.where(AutopostPlan.version == version)
    return session.scalar(query.order_by(AutopostPlan.version.desc()).limit(1))


def due_plans(session: Session, now: datetime) -> list[AutopostPlan]:
    """Plans whose window has passed, and claimed plans a crash left unfinished."""
    return list(
        session.scalars(
            select(AutopostPlan)
            .where(
                ((AutopostPlan.status == PlanStatus.SCHEDULED) & (AutopostPlan.due_at <= now))
                | (AutopostPlan.status == PlanStatus.POSTING)
            )
            .order_by(AutopostPlan.due_at)
        )
    )


def claim_plan(session: Session, plan_id: int, now: datetime) -> bool:
    """scheduled -> posting, once: True for the one caller that wins."""
    result: Any = session.execute(
        update(AutopostPlan)
        .where(AutopostPlan.id == plan_id, AutopostPlan.status == PlanStatus.SCHEDULED)
        .values(status=PlanStatus.POSTING, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount) == 1


def mark_corrected(session: Session, draft_id: int, now: datetime) -> bool:
    """A posted plan the rep tried to reject or edit afterwards; False when the draft did not
    post by itself (or was marked before)."""
    result: Any = session.execute(
        update(AutopostPlan)
        .where(AutopostPlan.draft_id == draft_id, AutopostPlan.status == PlanStatus.POSTED)
        .values(status=PlanStatus.CORRECTED, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount) > 0


def settle_plan(session: Session, draft_id: int, now: datetime, status: PlanStatus) -> bool:
    """Move the draft's open plan (scheduled or posting) to a final status; False when none was open."""
    result: Any = session.execute(
        update(AutopostPlan)
        .where(
            AutopostPlan.draft_id == draft_id,
            AutopostPlan.status.in_([PlanStatus.SCHEDULED, PlanStatus.POSTING]),
        )
        .values(status=status, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount) > 0


# --- a customer's history ----------------------------------------------------------------------


def customer_history(
    session: Session, company_id: str, *, last: int = 20
) -> list[tuple[DraftRecord, dict[str, Any]]]:
    """The customer's decided drafts, newest first, with their current version's payload."""
    rows = session.execute(
        select(DraftRecord, DraftVersion.payload)
        .join(
            DraftVersion,
            (DraftVersion.draft_id == DraftRecord.id) & (DraftVersion.version == DraftRecord.version),
        )
        .where(
            DraftRecord.customer_id == company_id,
            DraftRecord.status.in_([DraftStatus.CONFIRMED, DraftStatus.POSTED, DraftStatus.REJECTED]),
        )
        .order_by(DraftRecord.id.desc())
        .limit(last)
    )
    return [(draft, payload) for draft, payload in rows]


def troubled_plans(session: Session, company_id: str, *, last: int) -> int:
    """Held, superseded or corrected plans among the customer's last plans (autonomy lost until
    earned again)."""
    statuses = list(
        session.scalars(
            select(AutopostPlan.status)
            .where(AutopostPlan.company_id == company_id)
            .order_by(AutopostPlan.id.desc())
            .limit(last)
        )
    )
    troubled = (PlanStatus.HELD, PlanStatus.SUPERSEDED, PlanStatus.CORRECTED)
    return sum(status in troubled for status in statuses)


def plans_by_status(session: Session) -> dict[str, int]:
    rows = session.execute(select(AutopostPlan.status, func.count()).group_by(AutopostPlan.status))
    return {status: count for status, count in rows}


def plans_since(session: Session, since: datetime) -> list[AutopostPlan]:
    return list(
        session.scalars(
            select(AutopostPlan).where(AutopostPlan.updated_at >= since).order_by(AutopostPlan.id)
        )
    )
