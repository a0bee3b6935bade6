"""One ticket per problem (once_keys, deliveries.once) and closed-loop cases (cases, case_events).

Revision ID: 0016_cases
Revises: 0006_lineage (the lead re-chains migrations when merging)
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_cases"
down_revision = "0013_noise"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("deliveries", sa.Column("once", sa.Text))  # nullable: an ALTER in place on both backends
    op.create_table(
        "once_keys",
        sa.Column("scope", sa.String(200), primary_key=True),
        sa.Column("key_hash", sa.String(64), primary_key=True),
        sa.Column("delivery_id", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_once_keys_expires_at", "once_keys", ["expires_at"])
    op.create_table(
        "cases",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("route", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("customer_email", sa.String(320)),
        sa.Column("customer_id", sa.String(512)),
        sa.Column("owner", sa.String(320)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("open_key", sa.String(64)),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_response_due", sa.DateTime(timezone=True)),
        sa.Column("close_due", sa.DateTime(timezone=True)),
        sa.Column("first_response_at", sa.DateTime(timezone=True)),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        sa.Column("first_response_overdue_at", sa.DateTime(timezone=True)),
        sa.Column("close_overdue_at", sa.DateTime(timezone=True)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ux_cases_open_key", "cases", ["open_key"], unique=True)
    op.create_index("ix_cases_status", "cases", ["status", "opened_at"])
    op.create_index("ix_cases_event_id", "cases", ["event_id"])
    op.create_index("ix_cases_opened_at", "cases", ["opened_at"])
    op.create_table(
        "case_events",
        sa.Column("case_id", sa.String(64), primary_key=True),
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("why", sa.String(32), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_case_events_event_id", "case_events", ["event_id"])


def downgrade() -> None:
    op.drop_index("ix_case_events_event_id", table_name="case_events")
    op.drop_table("case_events")
    for name in ("ix_cases_opened_at", "ix_cases_event_id", "ix_cases_status", "ux_cases_open_key"):
        op.drop_index(name, table_name="cases")
    op.drop_table("cases")
    op.drop_index("ix_once_keys_expires_at", table_name="once_keys")
    op.drop_table("once_keys")
    with op.batch_alter_table("deliveries") as batch:  # SQLite drops a column by copying the table
        batch.drop_column("once")
