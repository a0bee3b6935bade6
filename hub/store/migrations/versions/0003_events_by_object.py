"""Events: an index on (subject, source), so telling an update from a first event is one indexed lookup.

Revision ID: 0003_events_by_object
Revises: 0002_quarantine_dedupe
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0003_events_by_object"
down_revision = "0002_quarantine_dedupe"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The subject leads: it is the selective column (a source holds many objects).
    op.create_index("ix_events_subject_source", "events", ["subject", "source"])


def downgrade() -> None:
    op.drop_index("ix_events_subject_source", table_name="events")
