"""The previous release's store: its table definitions as create_all made them (no revision), and rows in each."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import orjson
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

from hub.store.engine import make_engine

LEGACY = MetaData()
Table("events", LEGACY,
      Column("id", String(64), primary_key=True), Column("source", String(64), nullable=False),
      Column("type", String(64), nullable=False), Column("vendor_event_id", String(512), nullable=False),
      Column("subject", String(512), nullable=False), Column("customer_email", String(320)),
      Column("customer_id", String(512)), Column("score_band", String(16)),
      Column("time", DateTime(timezone=True), nullable=False),
      Column("received_at", DateTime(timezone=True), nullable=False), Column("body", Text, nullable=False),
      Index("ix_events_received_at", "received_at"), Index("ix_events_customer_email", "customer_email"))
Table("deliveries", LEGACY,
      Column("id", String(64), primary_key=True),
      Column("event_id", String(64), ForeignKey("events.id"), nullable=False),
      Column("route", String(64), nullable=False), Column("connection", String(64), nullable=False),
      Column("action", String(64), nullable=False), Column("params", Text, nullable=False),
      Column("status", String(16), nullable=False), Column("attempts", Integer, nullable=False, default=0),
      Column("budget_start", Integer, nullable=False, default=0),
      Column("next_attempt_at", DateTime(timezone=True)), Column("lease_until", DateTime(timezone=True)),
      Column("last_error", Text), Column("result", Text),
      Column("created_at", DateTime(timezone=True), nullable=False),
      Column("updated_at", DateTime(timezone=True), nullable=False),
      Index("ix_deliveries_event_id", "event_id"), Index("ix_deliveries_status", "status", "updated_at"))
Table("attempts", LEGACY,
      Column("id", Integer, primary_key=True, autoincrement=True),
      Column("delivery_id", String(64), ForeignKey("deliveries.id"), nullable=False),
      Column("number", Integer, nullable=False), Column("started_at", DateTime(timezone=True), nullable=False),
      Column("duration_ms", Float, nullable=False), Column("status_code", Integer),
      Column("outcome", String(16), nullable=False), Column("error", Text),
      Index("ix_attempts_delivery_id", "delivery_id"))
Table("quarantine", LEGACY,
      Column("id", String(64), primary_key=True), Column("source", String(64), nullable=False),
      Column("received_at", DateTime(timezone=True), nullable=False), Column("method", String(8), nullable=False),
      Column("content_type", String(255), nullable=False), Column("headers", Text, nullable=False),
      Column("query", Text, nullable=False), Column("body", LargeBinary, nullable=False),
      Column("error", Text, nullable=False), Column("status", String(16), nullable=False))

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)
EVENT = {"id": "ev-1", "source": "typeform", "type": "cx.survey.response", "vendor_event_id": "v-1",
         "subject": "s-1", "customer_email": "ann@example.com", "customer_id": "c-1", "score_band": "negative",
         "time": T0, "received_at": T0, "body": orjson.dumps({"id": "ev-1"}).decode()}
DELIVERIES = [
    {"id": "dl-1", "event_id": "ev-1", "route": "r", "connection": "jira", "action": "create_issue", "params": "{}",
     "status": "succeeded", "attempts": 2, "budget_start": 0, "next_attempt_at": None, "lease_until": None,
     "last_error": "503", "result": '{"external_id": "CX-1"}', "created_at": T0, "updated_at": T0},
    {"id": "dl-2", "event_id": "ev-1", "route": "r", "connection": "slack", "action": "post_message",
     "params": "{}", "status": "retrying", "attempts": 1, "budget_start": 0,
     "next_attempt_at": T0 + timedelta(minutes=5), "lease_until": None, "last_error": "timeout", "result": None,
     "created_at": T0, "updated_at": T0},
]
ATTEMPTS = [{"id": 1, "delivery_id": "dl-1", "number": 1, "started_at": T0, "duration_ms": 12.5, "status_code": 503,
             "outcome": "retry", "error": "503"},
            {"id": 2, "delivery_id": "dl-1", "number": 2, "started_at": T0, "duration_ms": 8.0, "status_code": 201,
             "outcome": "succeeded", "error": None}]


def kept_request(quarantine_id: str, minutes: int, body: bytes, status: str = "open") -> dict:
    return {"id": quarantine_id, "source": "app", "received_at": T0 + timedelta(minutes=minutes), "method": "POST",
            "content_type": "application/json", "headers": '{"webhook-id": "%s"}' % quarantine_id,
            "query": '{"b": "2", "a": "1"}', "body": body, "error": "unrecognized", "status": status}


QUARANTINE = [kept_request("q-1", 1, b'{"same": 1}'), kept_request("q-2", 2, b'{"same": 1}'),  # one request, twice
              kept_request("q-3", 3, b'{"other": 2}', status="replayed")]


def legacy_store(url: str) -> None:
    """What the previous release left: create_all's tables, no alembic_version, and rows in every table."""
    engine = make_engine(url)
    with engine.begin() as db:
        LEGACY.create_all(db)
        for table, rows in (("events", [EVENT]), ("deliveries", DELIVERIES), ("attempts", ATTEMPTS),
                            ("quarantine", QUARANTINE)):
            db.execute(LEGACY.tables[table].insert(), rows)
    engine.dispose()
