"""Customer profiles: events are attached to a profile resolved across sources (hub/profiles).

Events already stored start as pending, so the resolver attaches them too after the upgrade.

Revision ID: 0010_profiles
Revises: 0011_metrics
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_profiles"
down_revision = "0012_raw_requests"
branch_labels = None
depends_on = None

PENDING = sa.text("profile_state = 'pending'")


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("profile_id", sa.String(64)))
        batch.add_column(sa.Column("profile_state", sa.String(16), nullable=False, server_default="pending"))
    op.create_index("ix_events_profile_time", "events", ["profile_id", "time", "id"])
    op.create_index("ix_events_profile_pending", "events", ["received_at"], postgresql_where=PENDING,
                    sqlite_where=PENDING)
    op.create_table(
        "profiles",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("root_id", sa.String(64), nullable=False),
        sa.Column("merged_into", sa.String(64)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True)),
        sa.Column("last_seen", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_profiles_root_id", "profiles", ["root_id"])
    op.create_table(
        "profile_identifiers",
        sa.Column("kind", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(512), primary_key=True),
        sa.Column("profile_id", sa.String(64), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_id", sa.String(64)),
    )
    op.create_index("ix_profile_identifiers_profile_id", "profile_identifiers", ["profile_id"])
    op.create_table(
        "profile_merges",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("from_profile", sa.String(64), nullable=False),
        sa.Column("into_profile", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(128), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("event_id", sa.String(64)),
        sa.Column("undone_at", sa.DateTime(timezone=True)),
        sa.Column("undone_by", sa.String(128)),
        sa.Column("undo_reason", sa.Text),
    )
    op.create_index("ix_profile_merges_from", "profile_merges", ["from_profile"])
    op.create_index("ix_profile_merges_into", "profile_merges", ["into_profile"])
    op.create_table(
        "profile_scores",
        sa.Column("profile_id", sa.String(64), primary_key=True),
        sa.Column("metric", sa.String(16), primary_key=True),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("min", sa.Float, nullable=False),
        sa.Column("max", sa.Float, nullable=False),
        sa.Column("band", sa.String(16)),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("profile_scores")
    op.drop_index("ix_profile_merges_into", table_name="profile_merges")
    op.drop_index("ix_profile_merges_from", table_name="profile_merges")
    op.drop_table("profile_merges")
    op.drop_index("ix_profile_identifiers_profile_id", table_name="profile_identifiers")
    op.drop_table("profile_identifiers")
    op.drop_index("ix_profiles_root_id", table_name="profiles")
    op.drop_table("profiles")
    op.drop_index("ix_events_profile_pending", table_name="events")
    op.drop_index("ix_events_profile_time", table_name="events")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("profile_state")
        batch.drop_column("profile_id")
