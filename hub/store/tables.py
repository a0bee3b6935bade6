"""Table definitions. Timestamps are UTC; bodies are JSON text written with orjson.

These are the models; the schema a database actually has comes from the migrations in
hub/store/migrations/versions/. A change here needs a new revision there (a test checks).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
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

# CX metrics (hub/store/metrics.py, docs/metrics.md). One row per survey response or review: the
# object an event is about (source, kind, subject), keyed by a digest of the three. Its latest
# score counts (the newest event time; the event id breaks ties), in the bucket of its first
# event's time. Times are epoch milliseconds; `quarter` is the epoch quarter-hour of `answered_ms`.
# The take-in writes it in the same transaction as the event, `pending` = 1; the fold adds it to
# metric_counts, remembering in `counted_*` what it added, so a changed score moves its counts.
# Rows stay when retention deletes the events: the aggregates and the attribute queries keep working.
responses = Table(
    "responses",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("source", String(64), nullable=False),
    Column("subject", String(512), nullable=False),
    Column("metric", String(16)),  # nps, csat, ces, rating; NULL once the object was deleted
    Column("category", String(16)),  # positive, neutral, negative (promoter, passive, detractor for NPS)
    Column("value", Float),  # the answer; for ratings on the 1-5 scale
    Column("form", String(512), nullable=False),
    Column("customer", String(512)),
    Column("attributes", Text, nullable=False),  # the latest event's data.attributes, as JSON
    Column("answered_ms", BigInteger, nullable=False),
    Column("quarter", Integer, nullable=False),
    Column("scored_ms", BigInteger, nullable=False),
    Column("event_id", String(64), nullable=False),
    Column("pending", Integer, nullable=False),
    Column("counted_metric", String(16)),
    Column("counted_category", String(16)),
    Column("counted_value", Float),
    Column("counted_form", String(512)),
    Column("counted_quarter", Integer),
    Index("ix_responses_pending", "pending", "key"),  # the fold claims pending rows in key order: no sort
    Index("ix_responses_metric_quarter", "metric", "quarter"),
)

# Counts per metric, source, form and UTC quarter-hour, with roll-ups under source '*' (every
# source), form '*' (every form) and both. Every UTC offset in use is a whole number of quarter-hours, so any timezone's days, weeks
# and months are sums of these rows.
metric_counts = Table(
    "metric_counts",
    metadata,
    Column("metric", String(16), primary_key=True),
    Column("source", String(64), primary_key=True),
    Column("form", String(512), primary_key=True),
    Column("quarter", Integer, primary_key=True),
    Column("responses", Integer, nullable=False),
    Column("positive", Integer, nullable=False),
    Column("neutral", Integer, nullable=False),
    Column("negative", Integer, nullable=False),
    Column("value_sum", Float, nullable=False),
    # By form: one source's range; by source: one form's range. Both cover what a bucket sums (a
    # year of one source's rows lies on many thousand pages of the table).
    Index("ix_metric_counts_metric_quarter", "metric", "source", "quarter", "form", "responses", "positive",
          "neutral", "negative", "value_sum"),
    Index("ix_metric_counts_form_quarter", "metric", "form", "quarter", "source", "responses", "positive", "neutral",
          "negative", "value_sum"),
)

# The attributes of each response, for `--attr name=value` and `group=attr:NAME` (written by the
# fold), each with what its response counts (the same as its counted_* columns), so an attribute
# query reads one index range per bucket and never joins the responses: by name and value for a
# filter, by name for a group, both covering what a bucket sums.
response_attributes = Table(
    "response_attributes",
    metadata,
    Column("key", String(64), ForeignKey("responses.key"), primary_key=True),
    Column("name", String(128), primary_key=True),
    Column("value", String(512), nullable=False),
    Column("metric", String(16)),  # NULL for a deleted response
    Column("quarter", Integer),
    Column("category", String(16)),
    Column("score", Float),
    Column("source", String(64)),
    Column("form", String(512)),
    Index("ix_response_attributes_value_quarter", "name", "value", "metric", "quarter", "category", "score",
          "source", "form"),
    Index("ix_response_attributes_name_quarter", "name", "metric", "quarter", "value", "category", "score",
          "source", "form"),
)

# Alert rules' states (hub/alerting): one row per rule and group ('' for a rule without `per`).
metric_alerts = Table(
    "metric_alerts",
    metadata,
    Column("rule", String(64), primary_key=True),
    Column("group_key", String(512), primary_key=True),
    Column("state", String(16), nullable=False),  # firing or cleared
    Column("episode", Integer, nullable=False),  # how many times it fired: the alert events' ids
    Column("value", Float),
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Index("ix_metric_alerts_state", "rule", "state"),  # the firing ones, among every customer's
)
