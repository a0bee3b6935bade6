"""The store: every event, delivery, attempt and quarantined request, in one SQL database."""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Collection, Iterator, Mapping, NamedTuple, Sequence

import orjson
from sqlalchemy import Connection, Engine, and_, bindparam, case, delete, func, insert, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from hub.store.engine import make_engine
from hub.store.tables import attempts, deliveries, events, metadata, quarantine

CLAIMABLE = ("queued", "retrying")
STATUSES = ("queued", "running", "retrying", "succeeded", "dead")


class StoreUnavailable(Exception):
    """The database cannot be reached; the caller answers 503 and the client retries."""


def now() -> datetime:
    return datetime.now(timezone.utc)


def _utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything the store returns is UTC-aware."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=timezone.utc)


def _row(row: Any) -> dict[str, Any]:
    return {str(key): _utc(value) if isinstance(value, datetime) else value for key, value in row._mapping.items()}


@dataclass(frozen=True)
class NewDelivery:
    id: str
    event_id: str
    route: str
    connection: str
    action: str
    params: Mapping[str, Any]


class DeliveryRef(NamedTuple):
    """A delivery still owed, with what the queue needs to know about it."""

    id: str
    connection: str


REF = (deliveries.c.id, deliveries.c.connection)


def _refs(rows: Any) -> list[DeliveryRef]:
    return [DeliveryRef(*row) for row in rows]


@dataclass(frozen=True)
class FinishedAttempt:
    """One attempt to store, with the status its delivery moves to."""

    delivery_id: str
    attempt: Mapping[str, Any]  # number, started_at, status_code, duration_ms, error, outcome
    status: str
    next_attempt_at: datetime | None = None
    error: str | None = None
    result: Mapping[str, Any] | None = None


class ObjectEventRow(NamedTuple):
    """A stored event about an object, and one route that delivered for it (None: no delivery)."""

    source: str
    type: str
    subject: str
    event_id: str
    route: str | None


@dataclass(frozen=True)
class Recorded:
    accepted: list[str]
    duplicates: list[str]


class Store:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = make_engine(url)
        self.tables_ready = False

    def create_tables(self) -> None:
        """Create missing tables. On PostgreSQL a lock keeps many workers starting at once from racing."""
        with _database_errors(), self.engine.begin() as db:
            if db.dialect.name == "postgresql":
                db.execute(text("SELECT pg_advisory_xact_lock(727368)"))
            metadata.create_all(db)
        self.tables_ready = True

    @contextmanager
    def _connection(self, *, write: bool = False, autocommit: bool = False) -> Iterator[Connection]:
        """A connection (in a transaction when writing); a lost database raises StoreUnavailable.

        `autocommit` is for a single statement, atomic by itself, that needs no BEGIN and COMMIT
        round trips. A process that started while the database was down creates the tables on first use.
        """
        with _database_errors():
            if not self.tables_ready:
                self.create_tables()
            with self.engine.begin() if write else self.engine.connect() as db:
                if autocommit:
                    db.execution_options(isolation_level="AUTOCOMMIT")  # reset when it goes back to the pool
                yield db

    def dispose(self) -> None:
        self.engine.dispose()

    def _insert(self, table: Any) -> Any:
        dialect = sqlite if self.engine.dialect.name == "sqlite" else postgresql
        return dialect.insert(table)

    # --- ingest -----------------------------------------------------------

    def record(self, new_events: Sequence[Mapping[str, Any]], new_deliveries: Sequence[NewDelivery],
               received_at: Sequence[datetime] | None = None) -> Recorded:
        """Store events and their deliveries atomically; events seen before are left alone.

        Deliveries are written only for events that are new, so a resent webhook routes nothing.
        On PostgreSQL that is one statement in one round trip (against four for BEGIN, two
        INSERTs and COMMIT): this is the hot path of every webhook. `received_at` gives each
        event the moment the hub accepted it, when that was earlier than now (the intake log).
        """
        moment = now()
        rows = [_event_row(event, received) for event, received in
                zip(new_events, received_at or [moment] * len(new_events), strict=True)]
        planned = [_delivery_row(item, moment) for item in new_deliveries]
        if self.engine.dialect.name == "postgresql":
            with self._connection(autocommit=True) as db:
                parameters = {"events": orjson.dumps(rows).decode(), "deliveries": orjson.dumps(planned).decode()}
                accepted = set(db.execute(RECORD_IN_ONE_STATEMENT, parameters).scalars())
        else:
            with self._connection(write=True) as db:
                statement = sqlite.insert(events).on_conflict_do_nothing(index_elements=["id"]).returning(events.c.id)
                accepted = set(db.execute(statement, rows).scalars())
                fresh = [row for row in planned if row["event_id"] in accepted]
                if fresh:
                    db.execute(insert(deliveries), fresh)
        ordered = [row["id"] for row in rows]
        return Recorded([i for i in ordered if i in accepted], [i for i in ordered if i not in accepted])

    def events_about(self, subjects: Mapping[str, Collection[str]]) -> list[ObjectEventRow]:
        """Every stored event about these subjects (source name -> subjects), with each route that delivered for it.

        One indexed query (events by source and subject, deliveries by event): the ingest path
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
        with self._connection(autocommit=True) as db:  # one statement: no BEGIN and ROLLBACK round trips
            return [ObjectEventRow(*row) for row in db.execute(query)]

    def queued_for_events(self, event_ids: Sequence[str]) -> list[DeliveryRef]:
        """Deliveries of these events still waiting for a worker (re-enqueued when a vendor resends)."""
        query = select(*REF).where(deliveries.c.event_id.in_(event_ids), deliveries.c.status == "queued")
        with self._connection() as db:
            return _refs(db.execute(query))

    def add_deliveries(self, new_deliveries: Sequence[NewDelivery]) -> list[str]:
        """Insert deliveries that do not exist yet; return the ids inserted."""
        if not new_deliveries:
            return []
        rows = [_delivery_row(item, now()) for item in new_deliveries]
        statement = self._insert(deliveries).values(rows).on_conflict_do_nothing(index_elements=["id"])
        with self._connection(write=True) as db:
            return list(db.execute(statement.returning(deliveries.c.id)).scalars())

    # --- delivery ---------------------------------------------------------

    def claim(self, delivery_ids: Sequence[str], lease: timedelta) -> list[dict[str, Any]]:
        """Mark queued or retrying deliveries running and count an attempt for each, in one transaction.

        Returns the rows claimed, in the order asked (each once), each with its event's body as `event_body`.
        The conditional update makes a job that runs twice harmless: only one run gets a row, and
        on PostgreSQL rows another worker is claiming right now are skipped, not waited for.
        The lease says until when the claim holds: past it, the sweeper queues the delivery again.
        """
        moment = now()
        claimable = (select(deliveries.c.id)
                     .where(deliveries.c.id.in_(delivery_ids), deliveries.c.status.in_(CLAIMABLE))
                     .with_for_update(skip_locked=True))
        body = select(events.c.body).where(events.c.id == deliveries.c.event_id).scalar_subquery()
        statement = (
            update(deliveries)
            .where(deliveries.c.id.in_(claimable.scalar_subquery()))
            .values(status="running", attempts=deliveries.c.attempts + 1, updated_at=moment,
                    lease_until=moment + lease)
            .returning(*deliveries.c, body.label("event_body"))
        )
        with self._connection(write=True) as db:
            rows = {row.id: _row(row) for row in db.execute(statement)}
        return [rows[i] for i in dict.fromkeys(delivery_ids) if i in rows]

    def finish_attempts(self, finished: Sequence[FinishedAttempt]) -> None:
        """Store attempts with their deliveries' new statuses, all in one transaction (and round trip)."""
        if not finished:
            return
        moment = now()
        attempt_rows = [{"delivery_id": item.delivery_id, **item.attempt} for item in finished]
        status_rows = [{"b_id": item.delivery_id, "b_status": item.status, "b_next": item.next_attempt_at,
                        "b_error": item.error,
                        "b_result": orjson.dumps(item.result).decode() if item.result is not None else None}
                       for item in finished]
        statement = (
            update(deliveries)
            .where(deliveries.c.id == bindparam("b_id"))
            .values(status=bindparam("b_status"), next_attempt_at=bindparam("b_next"),
                    last_error=bindparam("b_error"), updated_at=moment, lease_until=None,
                    result=func.coalesce(bindparam("b_result", type_=deliveries.c.result.type),
                                         deliveries.c.result))
        )
        with self._connection(write=True) as db:
            db.execute(insert(attempts), attempt_rows)
            db.execute(statement, status_rows)

    def release(self, delivery_ids: Sequence[str]) -> list[DeliveryRef]:
        """Give claimed deliveries back unattempted: the attempt is uncounted and they wait again.

        A delivery with earlier attempts in its current budget goes back to retrying, any other to queued.
        """
        moment = now()
        previous = case((deliveries.c.attempts - 1 > deliveries.c.budget_start, "retrying"), else_="queued")
        statement = (
            update(deliveries)
            .where(deliveries.c.id.in_(delivery_ids), deliveries.c.status == "running")
            .values(status=previous, attempts=deliveries.c.attempts - 1, lease_until=None, updated_at=moment,
                    next_attempt_at=moment)
            .returning(*REF)
        )
        with self._connection(write=True) as db:
            return _refs(db.execute(statement))

    def requeue(self, delivery_ids: Sequence[str], *, from_statuses: Sequence[str] = ("dead",),
                fresh_budget: bool = True) -> list[DeliveryRef]:
        """Mark deliveries queued again (by default dead ones, with a fresh retry budget); return those requeued."""
        values: dict[str, Any] = {"status": "queued", "next_attempt_at": None, "updated_at": now()}
        if fresh_budget:
            values["budget_start"] = deliveries.c.attempts
        statement = (
            update(deliveries)
            .where(deliveries.c.id.in_(delivery_ids), deliveries.c.status.in_(from_statuses))
            .values(**values)
            .returning(*REF)
        )
        with self._connection(write=True) as db:
            return _refs(db.execute(statement))

    # --- reading ----------------------------------------------------------

    def get_event(self, event_id: str) -> dict[str, Any] | None:
        with self._connection() as db:
            row = db.execute(select(events).where(events.c.id == event_id)).first()
        return _row(row) if row else None

    def get_delivery(self, delivery_id: str) -> dict[str, Any] | None:
        with self._connection() as db:
            row = db.execute(select(deliveries).where(deliveries.c.id == delivery_id)).first()
        return _row(row) if row else None

    def list_events(self, *, source: str | None = None, type: str | None = None, customer: str | None = None,
                    band: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        filters = [column == value for column, value in (
            (events.c.source, source), (events.c.type, type), (events.c.customer_email, customer),
            (events.c.score_band, band)) if value is not None]
        query = select(events).where(and_(True, *filters)).order_by(events.c.received_at.desc()).limit(limit)
        with self._connection() as db:
            return [_row(row) for row in db.execute(query)]

    def list_deliveries(self, *, status: str | None = None, event_id: str | None = None,
                        connection: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        filters = [column == value for column, value in (
            (deliveries.c.status, status), (deliveries.c.event_id, event_id),
            (deliveries.c.connection, connection)) if value is not None]
        query = select(deliveries).where(and_(True, *filters)).order_by(deliveries.c.updated_at.desc()).limit(limit)
        with self._connection() as db:
            return [_row(row) for row in db.execute(query)]

    def dead_ids(self, *, connection: str | None = None, route: str | None = None) -> list[str]:
        """Every dead-lettered delivery, optionally of one connection or route (for bulk redelivery)."""
        filters = [column == value for column, value in ((deliveries.c.connection, connection),
                                                         (deliveries.c.route, route)) if value is not None]
        query = select(deliveries.c.id).where(deliveries.c.status == "dead", *filters)
        with self._connection() as db:
            return list(db.execute(query).scalars())

    def list_attempts(self, delivery_id: str) -> list[dict[str, Any]]:
        query = select(attempts).where(attempts.c.delivery_id == delivery_id).order_by(attempts.c.number)
        with self._connection() as db:
            return [_row(row) for row in db.execute(query)]

    def overdue(self, grace: timedelta) -> tuple[list[DeliveryRef], list[DeliveryRef]]:
        """Deliveries a job should be running for but may not be: (expired leases, stalled waits).

        Expired: running past their lease (the worker died mid-attempt). Stalled: queued, or due
        to retry, for longer than `grace` (their job was lost, as when Redis restarts empty).
        """
        moment = now()
        expired = select(*REF).where(deliveries.c.status == "running", deliveries.c.lease_until < moment)
        stalled = select(*REF).where(
            ((deliveries.c.status == "queued") & (deliveries.c.updated_at < moment - grace))
            | ((deliveries.c.status == "retrying") & (deliveries.c.next_attempt_at < moment - grace)))
        with self._connection() as db:
            return _refs(db.execute(expired)), _refs(db.execute(stalled))

    def touch(self, delivery_ids: Sequence[str]) -> None:
        """Mark deliveries as just queued again, so the next sweep gives their new jobs time to run."""
        moment = now()
        statement = (update(deliveries).where(deliveries.c.id.in_(delivery_ids), deliveries.c.status.in_(CLAIMABLE))
                     .values(updated_at=moment, next_attempt_at=moment))
        with self._connection(write=True) as db:
            db.execute(statement)

    def deliveries_in(self, statuses: Sequence[str]) -> list[DeliveryRef]:
        query = select(*REF).where(deliveries.c.status.in_(statuses))
        with self._connection() as db:
            return _refs(db.execute(query))

    # --- retention --------------------------------------------------------

    def prune(self, before: datetime, *, batch: int = 1000) -> dict[str, int]:
        """Delete what was received before `before` and is finished with; return the counts deleted.

        An event goes (with its deliveries and their attempts) once every delivery has succeeded
        or is dead; an event with a delivery still under way is kept whatever its age. Quarantined
        requests go once replayed or dismissed; open ones wait for an admin. Deletes run in
        batches so no transaction holds its locks for long.
        """
        counts = {"events": 0, "deliveries": 0, "attempts": 0, "quarantine": 0}
        unfinished = select(deliveries.c.id).where(deliveries.c.event_id == events.c.id,
                                                   deliveries.c.status.notin_(("succeeded", "dead")))
        expired = select(events.c.id).where(events.c.received_at < before, ~unfinished.exists()).limit(batch)
        while True:
            with self._connection(write=True) as db:
                event_ids = list(db.execute(expired).scalars())
                if not event_ids:
                    break
                owned = select(deliveries.c.id).where(deliveries.c.event_id.in_(event_ids))
                for table, statement in (("attempts", delete(attempts).where(attempts.c.delivery_id.in_(owned))),
                                         ("deliveries", delete(deliveries).where(deliveries.c.event_id.in_(event_ids))),
                                         ("events", delete(events).where(events.c.id.in_(event_ids)))):
                    counts[table] += db.execute(statement).rowcount
        with self._connection(write=True) as db:
            counts["quarantine"] = db.execute(delete(quarantine).where(
                quarantine.c.received_at < before, quarantine.c.status != "open")).rowcount
        return counts

    # --- quarantine -------------------------------------------------------

    def quarantine(self, *, source: str, method: str, content_type: str, headers: Mapping[str, str],
                   query: Mapping[str, str], body: bytes, error: str, quarantine_id: str | None = None) -> str:
        """Keep a request for replay; an id given twice is kept once (a retried intake batch)."""
        quarantine_id = quarantine_id or str(uuid.uuid4())
        row = {"id": quarantine_id, "source": source, "received_at": now(), "method": method,
               "content_type": content_type, "headers": orjson.dumps(dict(headers)).decode(),
               "query": orjson.dumps(dict(query)).decode(), "body": body, "error": error, "status": "open"}
        with self._connection(write=True) as db:
            db.execute(self._insert(quarantine).values(**row).on_conflict_do_nothing(index_elements=["id"]))
        return quarantine_id

    def list_quarantine(self, *, status: str | None = "open", limit: int = 50) -> list[dict[str, Any]]:
        query = select(quarantine).order_by(quarantine.c.received_at.desc()).limit(limit)
        if status:
            query = query.where(quarantine.c.status == status)
        with self._connection() as db:
            return [_row(row) for row in db.execute(query)]

    def get_quarantined(self, quarantine_id: str) -> dict[str, Any] | None:
        with self._connection() as db:
            row = db.execute(select(quarantine).where(quarantine.c.id == quarantine_id)).first()
        return _row(row) if row else None

    def set_quarantine_status(self, quarantine_id: str, status: str, error: str | None = None) -> None:
        values: dict[str, Any] = {"status": status}
        if error is not None:
            values["error"] = error
        with self._connection(write=True) as db:
            db.execute(update(quarantine).where(quarantine.c.id == quarantine_id).values(**values))


@contextmanager
def _database_errors() -> Iterator[None]:
    """Turn lost database connections into StoreUnavailable; other SQL errors are bugs and propagate."""
    try:
        yield
    except (OperationalError, InterfaceError) as error:
        raise StoreUnavailable(f"the database is unavailable: {type(error.orig).__name__}") from error
    except DBAPIError as error:
        if error.connection_invalidated:
            raise StoreUnavailable(f"the database connection was lost: {type(error.orig).__name__}") from error
        raise


def _event_row(event: Mapping[str, Any], received: datetime) -> dict[str, Any]:
    data = event["data"]
    score = data.get("score") or {}
    return {
        "id": event["id"], "source": event["source"].rsplit("/", 1)[-1], "type": event["type"],
        "vendor_event_id": data["vendor_event_id"], "subject": event["subject"],
        "customer_email": data["customer"]["email"], "customer_id": data["customer"]["id"],
        "score_band": score.get("band"), "time": datetime.fromisoformat(event["time"].replace("Z", "+00:00")),
        "received_at": received, "body": orjson.dumps(event).decode(),
    }


def _insert_from_json(table: Any, columns: Sequence[str], parameter: str) -> str:
    """INSERT INTO table (columns) SELECT them FROM a JSON array parameter of row objects (PostgreSQL)."""
    names = ", ".join(f'"{name}"' for name in columns)
    types = ", ".join(f'"{name}" {table.c[name].type.compile(dialect=postgresql.dialect())}' for name in columns)
    return (f"INSERT INTO {table.name} ({names}) SELECT {names} "
            f"FROM jsonb_to_recordset(CAST(:{parameter} AS jsonb)) AS r({types})")


EVENT_COLUMNS = ("id", "source", "type", "vendor_event_id", "subject", "customer_email", "customer_id",
                 "score_band", "time", "received_at", "body")
DELIVERY_COLUMNS = ("id", "event_id", "route", "connection", "action", "params", "status", "attempts",
                    "budget_start", "created_at", "updated_at")

# One statement, so one round trip in autocommit, compiled once: the rows travel as two JSON parameters.
RECORD_IN_ONE_STATEMENT = text(f"""
WITH new_events AS ({_insert_from_json(events, EVENT_COLUMNS, "events")} ON CONFLICT (id) DO NOTHING RETURNING id),
     new_deliveries AS ({_insert_from_json(deliveries, DELIVERY_COLUMNS, "deliveries")}
                        WHERE r.event_id IN (SELECT id FROM new_events))
SELECT id FROM new_events""")


def _delivery_row(item: NewDelivery, created: datetime) -> dict[str, Any]:
    return {
        "id": item.id, "event_id": item.event_id, "route": item.route, "connection": item.connection,
        "action": item.action, "params": orjson.dumps(item.params).decode(), "status": "queued",
        "attempts": 0, "budget_start": 0, "created_at": created, "updated_at": created,
    }
