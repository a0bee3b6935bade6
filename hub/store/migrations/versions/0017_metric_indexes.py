"""Response attributes carry what their response counts, indexed for one range scan per bucket.

Revision ID: 0017_metric_indexes
Revises: 0011_metrics
Create Date: 2026-12-01

Attribute queries joined the attributes to the responses per bucket; PostgreSQL could take
minutes over twenty thousand responses (a nested loop per bucket of a UNION ALL). Each
attribute row now holds its response's counted metric, quarter, category, score, source and
form, so a filter or a group is a range of one covering index. Existing rows are filled from
the responses' counted_* columns (what the fold wrote them from).

Grouped by source, the counts of every source were read over all of history (the index was
metric, source, quarter); a second index (metric, form, quarter) makes it one range per bucket.
Both carry the counts, so a bucket is read from the index alone (a million responses put a year
of one source's rows on a hundred thousand pages).
Alert evaluation reads a rule's firing states (rule, state), not every customer it ever fired for.
The fold claims pending responses in key order (the lock order); with (pending) alone every
batch sorted all pending rows, a million after a backlog: (pending, key) reads them in order.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_metric_indexes"
down_revision = "0016_cases"
branch_labels = None
depends_on = None

COLUMNS = (("metric", "counted_metric"), ("quarter", "counted_quarter"), ("category", "counted_category"),
           ("score", "counted_value"), ("source", "source"), ("form", "counted_form"))


COUNTS = ("responses", "positive", "neutral", "negative", "value_sum")


def upgrade() -> None:
    with op.batch_alter_table("response_attributes") as batch:
        batch.add_column(sa.Column("metric", sa.String(16)))
        batch.add_column(sa.Column("quarter", sa.Integer))
        batch.add_column(sa.Column("category", sa.String(16)))
        batch.add_column(sa.Column("score", sa.Float))
        batch.add_column(sa.Column("source", sa.String(64)))
        batch.add_column(sa.Column("form", sa.String(512)))
    op.execute("UPDATE response_attributes SET "
               + ", ".join(f"{name} = responses.{counted}" for name, counted in COLUMNS)
               + " FROM responses WHERE responses.key = response_attributes.key")
    op.drop_index("ix_response_attributes_name_value", table_name="response_attributes")
    op.create_index("ix_response_attributes_value_quarter", "response_attributes",
                    ["name", "value", "metric", "quarter", "category", "score", "source", "form"])
    op.create_index("ix_response_attributes_name_quarter", "response_attributes",
                    ["name", "metric", "quarter", "value", "category", "score", "source", "form"])
    op.drop_index("ix_metric_counts_metric_quarter", table_name="metric_counts")
    op.create_index("ix_metric_counts_metric_quarter", "metric_counts",
                    ["metric", "source", "quarter", "form", *COUNTS])
    op.create_index("ix_metric_counts_form_quarter", "metric_counts",
                    ["metric", "form", "quarter", "source", *COUNTS])
    op.create_index("ix_metric_alerts_state", "metric_alerts", ["rule", "state"])
    op.drop_index("ix_responses_pending", table_name="responses")
    op.create_index("ix_responses_pending", "responses", ["pending", "key"])


def downgrade() -> None:
    op.drop_index("ix_responses_pending", table_name="responses")
    op.create_index("ix_responses_pending", "responses", ["pending"])
    op.drop_index("ix_metric_alerts_state", table_name="metric_alerts")
    op.drop_index("ix_metric_counts_form_quarter", table_name="metric_counts")
    op.drop_index("ix_metric_counts_metric_quarter", table_name="metric_counts")
    op.create_index("ix_metric_counts_metric_quarter", "metric_counts", ["metric", "source", "quarter"])
    op.drop_index("ix_response_attributes_name_quarter", table_name="response_attributes")
    op.drop_index("ix_response_attributes_value_quarter", table_name="response_attributes")
    op.create_index("ix_response_attributes_name_value", "response_attributes", ["name", "value", "key"])
    with op.batch_alter_table("response_attributes") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
