"""Poll cursors: one row per polled source, where its next poll starts.

Revision ID: 0004_poll_cursors
Revises: 0003_events_by_object
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_poll_cursors"
down_revision = "0003_events_by_object"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "poll_cursors",
        sa.Column("source", sa.String(64), primary_key=True),
        sa.Column("cursor", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("poll_cursors")
