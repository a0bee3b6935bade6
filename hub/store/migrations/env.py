"""Alembic's environment: migrations run on the connection hub.store.schema hands over, in its transaction."""

from __future__ import annotations

from alembic import context

from hub.store.partitions import not_a_partition
from hub.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through hub.store.schema (cxhub db upgrade), not the alembic command")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                  compare_type=True, include_name=not_a_partition)
with context.begin_transaction():
    context.run_migrations()
