"""Alembic environment: always run by mailorder.store.db with a connection it opened (and
locked) in `config.attributes["connection"]`, inside that connection's transaction."""

from __future__ import annotations

from alembic import context

import mailorder.store.aliases  # noqa: F401  (the aliases table belongs to the metadata)
from mailorder.store import autopost as _autopost_tables  # noqa: F401  (and earned autonomy's)
from mailorder.store import console as _console_tables  # noqa: F401  (so do the console's)
from mailorder.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only mailorder.store.db runs migrations
    raise RuntimeError("run migrations with `mailorder db upgrade` (mailorder.store.db.upgrade)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
