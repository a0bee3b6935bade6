"""Enrichments: events stored thin, waiting for a worker to fetch their details from the vendor's API.

Revision ID: 0005_enrichments
Revises: 0004_poll_cursors
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_enrichments"
down_revision = "0004_poll_cursors"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "enrichments",
        sa.Column("event_id", sa.String(64), sa.ForeignKey("events.id"), primary_key=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("budget_start", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True)),
        sa.Column("lease_until", sa.DateTime(timezone=True)),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_enrichments_status", "enrichments", ["status", "updated_at"])


def downgrade() -> None:
    op.drop_index("ix_enrichments_status", table_name="enrichments")
    op.drop_table("enrichments")
