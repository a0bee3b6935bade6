"""Table definitions. Timestamps are UTC; bodies are JSON text written with orjson.

These are the models; the schema a database actually has comes from the migrations in
hub/store/migrations/versions/. A change here needs a new revision there (a test checks).
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

events = Table(
    "events",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("source", String(64), nullable=False),
    Column("type", String(64), nullable=False),
    Column("vendor_event_id", String(512), nullable=False),
    Column("subject", String(512), nullable=False),
    Column("customer_email", String(320)),
    Column("customer_id", String(512)),
    Column("score_band", String(16)),
    Column("time", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("body", Text, nullable=False),
    Index("ix_events_received_at", "received_at"),
    Index("ix_events_customer_email", "customer_email"),
    Index("ix_events_subject_source", "subject", "source"),  # events about one object; the selective column leads
)

# status: queued -> running -> succeeded | retrying -> ... | dead (see hub/store/deliveries.py for the rest:
# shadow, held, discarded, collecting, digested)
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("event_id", String(64), ForeignKey("events.id"), nullable=False),
    Column("route", String(64), nullable=False),
    Column("connection", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("params", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("budget_start", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("lease_until", DateTime(timezone=True)),
    Column("last_error", Text),
    Column("result", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # A collected event's digest once it is sent in one; on a digest's own delivery, its own id.
    Column("digest_id", String(64)),
    Index("ix_deliveries_event_id", "event_id"),
    Index("ix_deliveries_status", "status", "updated_at"),
    Index("ix_deliveries_created_at", "created_at"),  # the console's list, newest first, with stable cursors
    Index("ix_deliveries_digest_id", "digest_id"),  # the events of a digest
)

attempts = Table(
    "attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("delivery_id", String(64), ForeignKey("deliveries.id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("duration_ms", Float, nullable=False),
    Column("status_code", Integer),
    Column("outcome", String(16), nullable=False),
    Column("error", Text),
    Index("ix_attempts_delivery_id", "delivery_id"),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("source", String(64), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("method", String(8), nullable=False),
    Column("content_type", String(255), nullable=False),
    Column("headers", Text, nullable=False),
    Column("query", Text, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("error", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("digest", String(64)),  # sha256 of source, method, content type, query and body
    Index("ux_quarantine_digest", "digest", unique=True),
)

# How many requests the quarantine dropped, per source, because it was full (hub.quarantine_max_rows).
quarantine_dropped = Table(
    "quarantine_dropped",
    metadata,
    Column("source", String(64), primary_key=True),
    Column("dropped", Integer, nullable=False),
    Column("last_dropped_at", DateTime(timezone=True), nullable=False),
)

# Where each polled source's next poll starts (hub/store/cursors.py). One row per source.
poll_cursors = Table(
    "poll_cursors",
    metadata,
    Column("source", String(64), primary_key=True),
    Column("cursor", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Events stored thin (a vendor that sends only ids), waiting for their details (hub/enrichment).
# status: pending -> running -> done | pending (retry, after next_attempt_at) | failed (an admin retries)
enrichments = Table(
    "enrichments",
    metadata,
    Column("event_id", String(64), ForeignKey("events.id"), primary_key=True),
    Column("source", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("budget_start", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("lease_until", DateTime(timezone=True)),
    Column("last_error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_enrichments_status", "status", "updated_at"),
)
