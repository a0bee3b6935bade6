"""Lineage: the objects deliveries created, and the event each event follows up.

Revision ID: 0006_lineage
Revises: 0008_console (the lead re-chains migrations when merging)
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_lineage"
down_revision = "0008_console"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("events", sa.Column("origin_event_id", sa.String(64)))  # nullable: an ALTER in place on both backends
    op.create_index("ix_events_origin_event_id", "events", ["origin_event_id"])
    op.create_table(
        "created_objects",
        sa.Column("system", sa.String(64), primary_key=True),
        sa.Column("object_id", sa.String(512), primary_key=True),
        sa.Column("delivery_id", sa.String(64), sa.ForeignKey("deliveries.id"), primary_key=True),
        sa.Column("event_id", sa.String(64), sa.ForeignKey("events.id"), nullable=False),
        sa.Column("url", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_created_objects_event_id", "created_objects", ["event_id"])


def downgrade() -> None:
    op.drop_index("ix_created_objects_event_id", table_name="created_objects")
    op.drop_table("created_objects")
    op.drop_index("ix_events_origin_event_id", table_name="events")
    with op.batch_alter_table("events") as batch:  # SQLite drops a column by copying the table
        batch.drop_column("origin_event_id")
