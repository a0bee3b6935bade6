"""CX metrics: one row per response, counts per quarter-hour, response attributes, alert states.

Revision ID: 0011_metrics
Revises: 0008_console
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_metrics"
down_revision = "0006_lineage"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "responses",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(512), nullable=False),
        sa.Column("metric", sa.String(16)),
        sa.Column("category", sa.String(16)),
        sa.Column("value", sa.Float),
        sa.Column("form", sa.String(512), nullable=False),
        sa.Column("customer", sa.String(512)),
        sa.Column("attributes", sa.Text, nullable=False),
        sa.Column("answered_ms", sa.BigInteger, nullable=False),
        sa.Column("quarter", sa.Integer, nullable=False),
        sa.Column("scored_ms", sa.BigInteger, nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("pending", sa.Integer, nullable=False),
        sa.Column("counted_metric", sa.String(16)),
        sa.Column("counted_category", sa.String(16)),
        sa.Column("counted_value", sa.Float),
        sa.Column("counted_form", sa.String(512)),
        sa.Column("counted_quarter", sa.Integer),
    )
    op.create_index("ix_responses_pending", "responses", ["pending"])
    op.create_index("ix_responses_metric_quarter", "responses", ["metric", "quarter"])
    op.create_table(
        "metric_counts",
        sa.Column("metric", sa.String(16), primary_key=True),
        sa.Column("source", sa.String(64), primary_key=True),
        sa.Column("form", sa.String(512), primary_key=True),
        sa.Column("quarter", sa.Integer, primary_key=True),
        sa.Column("responses", sa.Integer, nullable=False),
        sa.Column("positive", sa.Integer, nullable=False),
        sa.Column("neutral", sa.Integer, nullable=False),
        sa.Column("negative", sa.Integer, nullable=False),
        sa.Column("value_sum", sa.Float, nullable=False),
    )
    op.create_index("ix_metric_counts_metric_quarter", "metric_counts", ["metric", "source", "quarter"])
    op.create_table(
        "response_attributes",
        sa.Column("key", sa.String(64), sa.ForeignKey("responses.key"), primary_key=True),
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("value", sa.String(512), nullable=False),
    )
    op.create_index("ix_response_attributes_name_value", "response_attributes", ["name", "value", "key"])
    op.create_table(
        "metric_alerts",
        sa.Column("rule", sa.String(64), primary_key=True),
        sa.Column("group_key", sa.String(512), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("episode", sa.Integer, nullable=False),
        sa.Column("value", sa.Float),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("metric_alerts")
    op.drop_index("ix_response_attributes_name_value", table_name="response_attributes")
    op.drop_table("response_attributes")
    op.drop_index("ix_metric_counts_metric_quarter", table_name="metric_counts")
    op.drop_table("metric_counts")
    op.drop_index("ix_responses_metric_quarter", table_name="responses")
    op.drop_index("ix_responses_pending", table_name="responses")
    op.drop_table("responses")
