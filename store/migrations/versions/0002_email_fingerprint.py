"""emails.fingerprint: sha256 of a message's content (one message delivered twice has the same).

Nullable, so rows stored before it existed keep NULL. Skipped when the column is there already
(a database whose `create_all` or the old add-missing-columns step created it before migrations).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _has_column(table: str, column: str) -> bool:
    return column in {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}


def upgrade() -> None:
    if not _has_column("emails", "fingerprint"):
        op.add_column("emails", sa.Column("fingerprint", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("emails") as batch:
        batch.drop_column("fingerprint")
