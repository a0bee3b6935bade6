"""The console lists deliveries newest first by created_at, which never changes (stable page cursors).

Revision ID: 0008_console
Revises: 0005_enrichments
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0008_console"
down_revision = "0005_enrichments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_deliveries_created_at", "deliveries", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_created_at", table_name="deliveries")
