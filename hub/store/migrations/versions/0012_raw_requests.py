"""The raw request of each accepted webhook, kept once per request and named by each of its events;
events by customer through an index on the lowered email, which is what every query compares.

Revision ID: 0012_raw_requests
Revises: 0008_console
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_raw_requests"
down_revision = "0011_metrics"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "requests",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("content_type", sa.String(255), nullable=False),
        sa.Column("headers", sa.Text(), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("removed", sa.Text(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
    )
    op.add_column("events", sa.Column("request_id", sa.String(64), nullable=True))
    op.create_index("ix_events_request_id", "events", ["request_id"])
    op.drop_index("ix_events_customer_email", table_name="events")
    op.create_index("ix_events_customer_email_lower", "events", [sa.text("lower(customer_email)")])


def downgrade() -> None:
    op.drop_index("ix_events_customer_email_lower", table_name="events")
    op.create_index("ix_events_customer_email", "events", ["customer_email"])
    op.drop_index("ix_events_request_id", table_name="events")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("request_id")
    op.drop_table("requests")
