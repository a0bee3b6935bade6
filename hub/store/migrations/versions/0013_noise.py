"""Digests: each delivery can name the digest it belongs to (an event collected in it, or the digest itself).

Revision ID: 0013_noise
Revises: 0011_metrics
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_noise"
down_revision = "0010_profiles"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("digest_id", sa.String(64), nullable=True))
    op.create_index("ix_deliveries_digest_id", "deliveries", ["digest_id"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_digest_id", table_name="deliveries")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("digest_id")
