"""Ingest writes: events with their deliveries (the hot path of every webhook), and deliveries added on replay."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Collection, Mapping, Sequence

import orjson
from sqlalchemy import and_, insert, or_, select, text
from sqlalchemy.dialects import postgresql, sqlite

from hub.store.database import Database, now
from hub.store.metrics import RESPONSE_COLUMNS, UPSERT_RESPONSES, upsert_in_postgresql
from hub.store.partitions import conflict_key
from hub.store.rows import DeliveryRef, KeptRequest, NewDelivery, ObjectEventRow, Recorded
from hub.store.tables import deliveries, events, requests, responses

REF = (deliveries.c.id, deliveries.c.connection)


class Ingest:
    def __init__(self, database: Database) -> None:
        self.database = database

    def record(self, new_events: Sequence[Mapping[str, Any]], new_deliveries: Sequence[NewDelivery],
               received_at: Sequence[datetime] | None = None,
               kept: Mapping[str, KeptRequest] | None = None, *,
               response_rows: Sequence[Mapping[str, Any]] = ()) -> Recorded:
        """Store events and their deliveries atomically; events seen before are left alone.

        Deliveries are written only for events that are new, so a resent webhook routes nothing.
        On PostgreSQL that is one statement in one round trip (against four for BEGIN, two
        INSERTs and COMMIT): this is the hot path of every webhook. `received_at` gives each
        event the moment the hub accepted it, when that was earlier than now (the intake log).
        `kept` maps event ids to the request each came in: a request is written once, with its
        first new event (in the same statement), and not at all when all its events were seen before.
        `response_rows` are the metrics' rows of the responses the events are about
        (hub/insights/answers.py), upserted in the same statement or transaction: a stored event
        is always counted, and a resend or replay changes nothing (the upsert is idempotent).
        """
        moment = now()
        kept = kept or {}
        rows = [_event_row(event, received, kept.get(event["id"])) for event, received in
                zip(new_events, received_at or [moment] * len(new_events), strict=True)]
        event_times = {row["id"]: row["time"] for row in rows}
        planned = [_delivery_row(item, moment, event_times.get(item.event_id)) for item in new_deliveries]
        received_of = {row["request_id"]: row["received_at"] for row in rows if row["request_id"]}
        kept_rows = {item.id: item for item in kept.values() if item.id in received_of}
        if self.database.is_postgresql:
            with self.database.connect(autocommit=True) as db:
                parameters = {"events": orjson.dumps(rows).decode(), "deliveries": orjson.dumps(planned).decode(),
                              "requests": orjson.dumps([request_row(item, received_of[item.id], hex_body=True)
                                                        for item in kept_rows.values()]).decode()}
                recording = RECORD_IN_ONE_STATEMENT
                if response_rows:
                    parameters["responses"] = orjson.dumps(list(response_rows)).decode()
                    recording = RECORD_WITH_RESPONSES
                accepted = set(db.execute(recording, parameters).scalars())
        else:
            with self.database.connect(write=True) as db:
                statement = sqlite.insert(events).on_conflict_do_nothing(index_elements=["id"]).returning(events.c.id)
                accepted = set(db.execute(statement, rows).scalars())
                fresh = [row for row in planned if row["event_id"] in accepted]
                if fresh:
                    db.execute(insert(deliveries), fresh)
                named = {row["request_id"] for row in rows if row["id"] in accepted and row["request_id"]}
                if named:
                    db.execute(sqlite.insert(requests).on_conflict_do_nothing(index_elements=["id"]),
                               [request_row(kept_rows[name], received_of[name]) for name in named])
                if response_rows:
                    db.execute(UPSERT_RESPONSES, list(response_rows))
        ordered = [row["id"] for row in rows]
        return Recorded([i for i in ordered if i in accepted], [i for i in ordered if i not in accepted])

    def events_about(self, subjects: Mapping[str, Collection[str]]) -> list[ObjectEventRow]:
        """Every stored event about these subjects (source name -> subjects), with each route that delivered for it.

        One indexed query (events by subject and source, deliveries by event): the ingest path
        asks it once per batch to tell updates from first events. An event without deliveries
        comes back once, with `route` None.
        """
        if not subjects:
            return []
        about = or_(*(and_(events.c.source == source, events.c.subject.in_(sorted(names)))
                      for source, names in subjects.items()))
        query = (select(events.c.source, events.c.type, events.c.subject, events.c.id, deliveries.c.route)
                 .select_from(events.outerjoin(deliveries, deliveries.c.event_id == events.c.id))
                 .where(about).distinct())
        with self.database.connect(autocommit=True) as db:  # one statement: no BEGIN and ROLLBACK round trips
            return [ObjectEventRow(*row) for row in db.execute(query)]

    def queued_for_events(self, event_ids: Sequence[str]) -> list[DeliveryRef]:
        """Deliveries of these events still waiting for a worker (re-enqueued when a vendor resends)."""
        query = select(*REF).where(deliveries.c.event_id.in_(event_ids), deliveries.c.status == "queued")
        with self.database.connect() as db:
            return [DeliveryRef(*row) for row in db.execute(query)]

    def add_deliveries(self, new_deliveries: Sequence[NewDelivery]) -> list[str]:
        """Insert deliveries that do not exist yet; return the ids inserted."""
        if not new_deliveries:
            return []
        moment = now()
        rows = [_delivery_row(item, moment, select(events.c.time).where(events.c.id == item.event_id).scalar_subquery())
                for item in new_deliveries]
        statement = (self.database.insert(deliveries).values(rows)
                     .on_conflict_do_nothing(index_elements=conflict_key(self.database, "deliveries")))
        with self.database.connect(write=True) as db:
            return list(db.execute(statement.returning(deliveries.c.id)).scalars())


def _event_row(event: Mapping[str, Any], received: datetime, kept: KeptRequest | None = None) -> dict[str, Any]:
    data = event["data"]
    score = data.get("score") or {}
    return {
        "id": event["id"], "source": event["source"].rsplit("/", 1)[-1], "type": event["type"],
        "vendor_event_id": data["vendor_event_id"], "subject": event["subject"],
        "customer_email": data["customer"]["email"], "customer_id": data["customer"]["id"],
        "score_band": score.get("band"), "time": datetime.fromisoformat(event["time"].replace("Z", "+00:00")),
        "received_at": received, "body": orjson.dumps(event).decode(), "request_id": kept.id if kept else None,
        "origin_event_id": (data.get("origin") or {}).get("event_id"),
    }


def request_row(item: KeptRequest, received: datetime, *, hex_body: bool = False) -> dict[str, Any]:
    """A `requests` row; `hex_body` for the PostgreSQL statement, whose rows travel as JSON (bytea from hex)."""
    return {
        "id": item.id, "source": item.source, "received_at": received, "method": item.method, "path": item.path,
        "content_type": item.content_type, "headers": orjson.dumps(dict(item.headers)).decode(),
        "query": orjson.dumps(dict(item.query)).decode(),
        "removed": orjson.dumps({"headers": list(item.removed_headers), "query": list(item.removed_query)}).decode(),
        "body": item.body.hex() if hex_body else item.body,
    }


def _delivery_row(item: NewDelivery, created: datetime, event_time: Any) -> dict[str, Any]:
    """A `deliveries` row; `event_time` is its event's time (or an expression reading it)."""
    return {
        "id": item.id, "event_id": item.event_id, "route": item.route, "connection": item.connection,
        "action": item.action, "params": orjson.dumps(item.params).decode(), "status": item.status,
        "attempts": 0, "budget_start": 0, "created_at": created, "updated_at": created,
        "last_error": item.last_error, "result": None if item.result is None else orjson.dumps(item.result).decode(),
        "next_attempt_at": item.next_attempt_at,
        "once": None if item.once is None else orjson.dumps(item.once).decode(), "event_time": event_time,
    }


def _insert_from_json(table: Any, columns: Sequence[str], parameter: str) -> str:
    """INSERT INTO table (columns) SELECT them FROM a JSON array parameter of row objects (PostgreSQL)."""
    names = ", ".join(f'"{name}"' for name in columns)
    types = ", ".join(f'"{name}" {table.c[name].type.compile(dialect=postgresql.dialect())}' for name in columns)
    return (f"INSERT INTO {table.name} ({names}) SELECT {names} "
            f"FROM jsonb_to_recordset(CAST(:{parameter} AS jsonb)) AS r({types})")


EVENT_COLUMNS = ("id", "source", "type", "vendor_event_id", "subject", "customer_email", "customer_id",
                 "score_band", "time", "received_at", "body", "request_id", "origin_event_id")
DELIVERY_COLUMNS = ("id", "event_id", "route", "connection", "action", "params", "status", "attempts",
                    "budget_start", "created_at", "updated_at", "last_error", "result", "next_attempt_at", "once")

REQUEST_COLUMNS = ("id", "source", "received_at", "method", "path", "content_type", "headers", "query", "removed")
_REQUEST_TYPES = ", ".join(f'"{name}" {requests.c[name].type.compile(dialect=postgresql.dialect())}'
                           for name in REQUEST_COLUMNS)
_NEW_REQUESTS = (f"INSERT INTO requests ({', '.join(REQUEST_COLUMNS)}, body) "
                 f"SELECT {', '.join('r.' + name for name in REQUEST_COLUMNS)}, decode(r.body, 'hex') "
                 f"FROM jsonb_to_recordset(CAST(:requests AS jsonb)) AS r({_REQUEST_TYPES}, body text) "
                 "WHERE r.id IN (SELECT request_id FROM new_events) ON CONFLICT (id) DO NOTHING")

# The deliveries of the events just inserted, with each event's time (their partition key on PostgreSQL).
_DELIVERY_TYPES = ", ".join(f'"{name}" {deliveries.c[name].type.compile(dialect=postgresql.dialect())}'
                            for name in DELIVERY_COLUMNS)
_NEW_DELIVERIES = (f"INSERT INTO deliveries ({', '.join(DELIVERY_COLUMNS)}, event_time) "
                   f"SELECT {', '.join('r.' + name for name in DELIVERY_COLUMNS)}, e.time "
                   f"FROM jsonb_to_recordset(CAST(:deliveries AS jsonb)) AS r({_DELIVERY_TYPES}) "
                   "JOIN new_events AS e ON e.id = r.event_id")

# The events' key is (id, time) (partitioned by time): an event stored before under another time
# (a vendor's resend stamped anew) is found by its id first. Written with the batch's ids as an
# array, so each partition's primary key index is probed for them (NOT EXISTS was planned as a
# hash anti join reading every event, each batch).
_SEEN = ("SELECT seen.id FROM events AS seen WHERE seen.id = ANY (ARRAY("
         "SELECT value ->> 'id' FROM jsonb_array_elements(CAST(:events AS jsonb))))")

# One statement, so one round trip in autocommit, compiled once: the rows travel as JSON parameters.
_RECORD = f"""
WITH new_events AS ({_insert_from_json(events, EVENT_COLUMNS, "events")}
                    WHERE r.id NOT IN ({_SEEN})
                    ON CONFLICT (id, time) DO NOTHING RETURNING id, request_id, time),
     new_deliveries AS ({_NEW_DELIVERIES}),
     new_requests AS ({_NEW_REQUESTS})"""
RECORD_IN_ONE_STATEMENT = text(f"{_RECORD}\nSELECT id FROM new_events")
# With scored events, one more JSON parameter: the rows of the responses they are about.
_RESPONSE_TYPES = ", ".join(f'"{name}" {responses.c[name].type.compile(dialect=postgresql.dialect())}'
                            for name in RESPONSE_COLUMNS)
RECORD_WITH_RESPONSES = text(f"""{_RECORD},
     new_responses AS ({upsert_in_postgresql(", ".join(f'"{name}"' for name in RESPONSE_COLUMNS), _RESPONSE_TYPES)})
SELECT id FROM new_events""")
