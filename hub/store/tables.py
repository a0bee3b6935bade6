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
    Column("origin_event_id", String(64)),  # data.origin.event_id: the event this one follows up (no FK: it may be pruned first)
    Index("ix_events_received_at", "received_at"),
    Index("ix_events_origin_event_id", "origin_event_id"),
    Index("ix_events_customer_email", "customer_email"),
    Index("ix_events_subject_source", "subject", "source"),  # events about one object; the selective column leads
)

# status: queued -> running -> succeeded | retrying -> ... | dead
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
    Column("once", Text),  # the action's once_per and otherwise, as JSON, frozen at routing like params (hub/delivery/once.py)
    Index("ix_deliveries_event_id", "event_id"),
    Index("ix_deliveries_status", "status", "updated_at"),
    Index("ix_deliveries_created_at", "created_at"),  # the console's list, newest first, with stable cursors
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

# What deliveries created, named as the vendor's events name it (ActionResult.link): the lineage
# from a later event about the object back to the delivery and the event it ran for (hub/store/lineage.py).
created_objects = Table(
    "created_objects",
    metadata,
    Column("system", String(64), primary_key=True),
    Column("object_id", String(512), primary_key=True),
    Column("delivery_id", String(64), ForeignKey("deliveries.id"), primary_key=True),
    Column("event_id", String(64), ForeignKey("events.id"), nullable=False),
    Column("url", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_created_objects_event_id", "event_id"),
)

# Business keys of actions with `once_per` (hub/delivery/once.py): which delivery holds the key of
# one action (scope: "<connection>.<action>") until `expires_at`. Keys are customer data, so only
# their SHA-256 is kept; the primary key is the unique constraint two workers race on.
once_keys = Table(
    "once_keys",
    metadata,
    Column("scope", String(200), primary_key=True),
    Column("key_hash", String(64), primary_key=True),
    Column("delivery_id", String(64), nullable=False),  # no FK: retention may delete the delivery first
    Column("event_id", String(64), nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index("ix_once_keys_expires_at", "expires_at"),
)

# Closed-loop cases (hub/cases): one per event a route with `case:` ran for, or the customer's
# open case of that route when there is one (`open_key`: hash of route and customer, NULL once
# closed, unique, so two workers cannot open two). No FKs: a case outlives its events' retention.
# status: open -> in_progress -> closed
cases = Table(
    "cases",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("route", String(64), nullable=False),
    Column("event_id", String(64), nullable=False),  # the event that opened it
    Column("customer_email", String(320)),
    Column("customer_id", String(512)),
    Column("owner", String(320)),
    Column("status", String(16), nullable=False),
    Column("open_key", String(64)),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("first_response_due", DateTime(timezone=True)),
    Column("close_due", DateTime(timezone=True)),
    Column("first_response_at", DateTime(timezone=True)),
    Column("closed_at", DateTime(timezone=True)),
    Column("first_response_overdue_at", DateTime(timezone=True)),  # when cx.case.overdue was emitted for it
    Column("close_overdue_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ux_cases_open_key", "open_key", unique=True),
    Index("ix_cases_status", "status", "opened_at"),
    Index("ix_cases_event_id", "event_id"),
    Index("ix_cases_opened_at", "opened_at"),
)

# The events a case links besides the one that opened it (a later complaint attached to it, an
# event an `otherwise` delivery ran for); their follow-ups count for the case too.
case_events = Table(
    "case_events",
    metadata,
    Column("case_id", String(64), primary_key=True),
    Column("event_id", String(64), primary_key=True),
    Column("why", String(32), nullable=False),  # "same_customer" or "once_per"
    Column("linked_at", DateTime(timezone=True), nullable=False),
    Index("ix_case_events_event_id", "event_id"),
)
