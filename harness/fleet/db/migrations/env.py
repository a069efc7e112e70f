"""Alembic environment: run by :func:`harness.fleet.db.store.migrate` on the connection it hands
over in ``config.attributes["connection"]`` (no alembic.ini, no URL in a file)."""

from __future__ import annotations

from alembic import context

from harness.fleet.db.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("the results database migrations run through harness.fleet.db.store.migrate")
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters a table by copying it
)
with context.begin_transaction():
    context.run_migrations()
