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
    func,
    text,
)

metadata = MetaData()

# On PostgreSQL, events, deliveries and attempts are partitioned by month of the event's time
# (0018_partitions, hub/store/partitions.py): there their primary keys are (id, time) and
# (id, event_time), and no foreign key references them or runs between them (one could not name
# id alone). The ForeignKeys below are SQLite's, and what the columns mean everywhere.
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
    # The customer profile the event is attached to (hub/profiles): the profile that owns the identifier
    # that resolved it, which may since have been merged into another (profiles.root_id says which).
    Column("profile_id", String(64)),
    # pending (to resolve) -> linked | anonymous (no usable identifier) | failed; waiting: a thin event
    # whose details are still being fetched (resolved once the enrichment completes or fails)
    Column("profile_state", String(16), nullable=False, server_default="pending"),
    Column("origin_event_id", String(64)),  # data.origin.event_id: the event this one follows up (no FK: it may be pruned first)
    Column("request_id", String(64)),  # the request it came in (a row of `requests`); None: not kept, or polled
    Index("ix_events_received_at", "received_at"),
    Index("ix_events_origin_event_id", "origin_event_id"),
    Index("ix_events_subject_source", "subject", "source"),  # events about one object; the selective column leads
    Index("ix_events_profile_time", "profile_id", "time", "id"),  # a customer's timeline, newest first, keyset paged
    Index("ix_events_profile_pending", "received_at", postgresql_where=text("profile_state = 'pending'"),
          sqlite_where=text("profile_state = 'pending'")),  # small: rows leave it once resolved
    Index("ix_events_request_id", "request_id"),  # retention: is a request still named by an event?
)

# Events of one customer: every query matches emails whatever their case (Ann@Example.com is ann@example.com).
Index("ix_events_customer_email_lower", func.lower(events.c.customer_email))

# The webhook requests accepted events came in, as `InboundRequest.without_credentials` gives them
# (`hub.keep_requests`). One row per request, however many events it carried (a batch); each of
# its events names it in `events.request_id`. There is no foreign key, so the ingest statement
# may write both in one round trip in any order; retention deletes a request with its last event.
requests = Table(
    "requests",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("source", String(64), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("method", String(8), nullable=False),
    Column("path", Text, nullable=False),
    Column("content_type", String(255), nullable=False),
    Column("headers", Text, nullable=False),  # JSON, credentials removed
    Column("query", Text, nullable=False),  # JSON, credentials removed
    Column("removed", Text, nullable=False),  # JSON {"headers": [names], "query": [names]}: what was taken out
    Column("body", LargeBinary, nullable=False),  # as received, less what SourceInfo.body_to_keep takes out
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
    Column("once", Text),  # the action's once_per and otherwise, as JSON, frozen at routing like params (hub/delivery/once.py)
    # Its event's `time`: on PostgreSQL the partition key (NOT NULL there; see hub/store/partitions.py).
    Column("event_time", DateTime(timezone=True)),
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
    Column("event_time", DateTime(timezone=True)),  # its delivery's event_time: the partition key on PostgreSQL
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

# Customer profiles (hub/profiles, hub/store/profiles.py). A merge sets `merged_into` on the profile
# absorbed and `root_id` on every profile of its tree; an unmerge undoes exactly that, so each
# profile keeps its own identifiers and events and they come back with it.
profiles = Table(
    "profiles",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("root_id", String(64), nullable=False),  # the profile shown for it: itself unless merged
    Column("merged_into", String(64)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("first_seen", DateTime(timezone=True)),  # of its events (kept when retention deletes them)
    Column("last_seen", DateTime(timezone=True)),
    Index("ix_profiles_root_id", "root_id"),
)

# Each identifier value belongs to one profile: the unique key is what makes two resolvers that
# see the same new customer at the same moment end with one profile (the second one retries).
profile_identifiers = Table(
    "profile_identifiers",
    metadata,
    Column("kind", String(64), primary_key=True),  # email, or a namespace: typeform, zendesk, app...
    Column("value", String(512), primary_key=True),
    Column("profile_id", String(64), nullable=False),
    Column("added_at", DateTime(timezone=True), nullable=False),
    Column("event_id", String(64)),  # the event that brought it (retention may have deleted it since)
    Index("ix_profile_identifiers_profile_id", "profile_id"),
)

# Every merge (by an event or an admin), its undoing, and merges the rules refused.
# status: merged -> undone (unmerge); refused (a cap or an earlier unmerge kept the two apart)
profile_merges = Table(
    "profile_merges",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("status", String(16), nullable=False),
    Column("from_profile", String(64), nullable=False),
    Column("into_profile", String(64), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("by", String(128), nullable=False),
    Column("reason", Text, nullable=False),
    Column("event_id", String(64)),
    Column("undone_at", DateTime(timezone=True)),
    Column("undone_by", String(128)),
    Column("undo_reason", Text),
    Index("ix_profile_merges_from", "from_profile"),
    Index("ix_profile_merges_into", "into_profile"),
)

# The latest score per metric (data.score.type) of each profile, kept apart from the events so
# it outlives their retention.
profile_scores = Table(
    "profile_scores",
    metadata,
    Column("profile_id", String(64), primary_key=True),
    Column("metric", String(16), primary_key=True),
    Column("value", Float, nullable=False),
    Column("min", Float, nullable=False),
    Column("max", Float, nullable=False),
    Column("band", String(16)),
    Column("time", DateTime(timezone=True), nullable=False),
    Column("event_id", String(64), nullable=False),
    Column("source", String(64), nullable=False),
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
