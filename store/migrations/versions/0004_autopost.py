"""Earned autonomy (store/autopost.py): the customers an admin switched automatic posting on or
off for, and the plans to post a draft version by itself when its veto window passes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _missing(table: str) -> bool:
    return not sa.inspect(op.get_bind()).has_table(table)


def upgrade() -> None:
    if _missing("autopost_customers"):
        op.create_table(
            "autopost_customers",
            sa.Column("company_id", sa.String(length=64), nullable=False),
            sa.Column("enabled", sa.Boolean(), nullable=False),
            sa.Column("changed_by", sa.String(length=320), nullable=False),
            sa.Column("changed_at", sa.DateTime(), nullable=False),
            sa.PrimaryKeyConstraint("company_id"),
        )
    if _missing("autopost_plans"):
        op.create_table(
            "autopost_plans",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("draft_id", sa.Integer(), nullable=False),
            sa.Column("version", sa.Integer(), nullable=False),
            sa.Column("company_id", sa.String(length=64), nullable=False),
            sa.Column("status", sa.String(length=16), nullable=False),
            sa.Column("due_at", sa.DateTime(), nullable=False),
            sa.Column("reasons", sa.JSON(), nullable=False),
            sa.Column("policy", sa.JSON(), nullable=False),
            sa.Column("created_at", sa.DateTime(), nullable=False),
            sa.Column("updated_at", sa.DateTime(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("draft_id", "version", name="uq_autopost_plan"),
        )
        op.create_index(op.f("ix_autopost_plans_draft_id"), "autopost_plans", ["draft_id"], unique=False)
        op.create_index(op.f("ix_autopost_plans_company_id"), "autopost_plans", ["company_id"], unique=False)
        op.create_index(op.f("ix_autopost_plans_status"), "autopost_plans", ["status"], unique=False)


def downgrade() -> None:
    for index in ("ix_autopost_plans_status", "ix_autopost_plans_company_id", "ix_autopost_plans_draft_id"):
        op.drop_index(index, table_name="autopost_plans")
    op.drop_table("autopost_plans")
    op.drop_table("autopost_customers")
