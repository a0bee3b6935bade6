"""Noise control in the store: events collected for digests, and deliveries held (quiet hours, budgets).

A digest is made in one transaction: its delivery is inserted under an id derived from the
oldest event collected, then every event collected until then is marked `digested` with that
id. Two workers flushing the same window derive the same id, so the second insert finds the
first (on PostgreSQL it waits for the first to commit) and does nothing: one digest per window.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Sequence

import orjson
from sqlalchemy import case, func, select, update

from hub.store.database import Database, now
from hub.store.partitions import conflict_key
from hub.store.rows import DeliveryRef
from hub.store.tables import deliveries, events

DIGEST_NAMESPACE = uuid.UUID("5d0b1c8e-3f4a-4b7e-9a61-2c8f0e7d9b13")
REF = (deliveries.c.id, deliveries.c.connection)


class _NothingCollected(Exception):
    """Rolls a digest back: its events went into another digest meanwhile."""


@dataclass(frozen=True)
class Collected:
    """What one digest action has collected: how many events, and since when."""

    route: str
    connection: str
    action: str
    oldest_at: datetime
    count: int


@dataclass(frozen=True)
class Flushed:
    """A digest just made: its delivery's id and how many events it carries."""

    id: str
    route: str
    connection: str
    action: str
    count: int
    status: str  # queued, or held (quiet hours)


@dataclass(frozen=True)
class DigestPlan:
    """How the digest's delivery is stored: queued, or held until `next_attempt_at` (quiet hours) and why."""

    status: str = "queued"
    next_attempt_at: datetime | None = None
    reason: str | None = None


def digest_id_for(oldest_delivery_id: str) -> str:
    """The id of the digest that starts with this collected event's delivery: the same for every worker."""
    return str(uuid.uuid5(DIGEST_NAMESPACE, oldest_delivery_id))


class Noise:
    def __init__(self, database: Database) -> None:
        self.database = database

    # --- digests ---------------------------------------------------------------------------------

    def collected(self) -> list[Collected]:
        """Every route action with events waiting in a digest, with the time of the oldest (ix_deliveries_status)."""
        query = (select(deliveries.c.route, deliveries.c.connection, deliveries.c.action,
                        func.min(deliveries.c.created_at), func.count())
                 .where(deliveries.c.status == "collecting")
                 .group_by(deliveries.c.route, deliveries.c.connection, deliveries.c.action))
        with self.database.connect() as db:
            return [Collected(route, connection, action, _utc(oldest), count)
                    for route, connection, action, oldest, count in db.execute(query)]

    def last_digest_at(self, route: str, connection: str, action: str) -> datetime | None:
        """When the route action's latest digest was made (its events' `updated_at`), or None."""
        query = (select(deliveries.c.updated_at)
                 .where(deliveries.c.status == "digested", deliveries.c.route == route,
                        deliveries.c.connection == connection, deliveries.c.action == action)
                 .order_by(deliveries.c.updated_at.desc()).limit(1))
        with self.database.connect() as db:
            found = db.execute(query).scalar()
        return _utc(found) if found is not None else None

    def flush(self, route: str, connection: str, action: str, *, moment: datetime,
              closes: Callable[[datetime], datetime], params: Any,
              plan: Callable[[], DigestPlan]) -> Flushed | None:
        """Make the digest of one route action if its window has closed by `moment`; None if not due or made already.

        The window opens with the oldest event collected, or when the previous digest was made
        if that is later (an event stamped just before a digest but committed just after it
        waits for the next window, not a message of its own), and closes at `closes(opened)`.
        The digest carries every event collected up to `moment`. Its delivery is filed under the
        oldest event, holds the route's parameter templates (`params`), and is stored as `plan()` says.
        """
        triple = (deliveries.c.route == route, deliveries.c.connection == connection, deliveries.c.action == action)
        oldest_query = (select(deliveries.c.id, deliveries.c.event_id, deliveries.c.event_time, deliveries.c.created_at)
                        .where(deliveries.c.status == "collecting", *triple)
                        .order_by(deliveries.c.created_at, deliveries.c.id).limit(1))
        with self.database.connect() as db:
            oldest = db.execute(oldest_query).first()
        if oldest is None:
            return None
        previous = self.last_digest_at(route, connection, action)
        opened = max(_utc(oldest.created_at), previous) if previous is not None else _utc(oldest.created_at)
        if closes(opened) > moment:
            return None
        digest_id, stamp, stored = digest_id_for(oldest.id), now(), plan()
        row = {"id": digest_id, "event_id": oldest.event_id, "route": route, "connection": connection,
               "action": action, "params": orjson.dumps(params).decode(), "status": stored.status, "attempts": 0,
               "budget_start": 0, "next_attempt_at": stored.next_attempt_at, "last_error": stored.reason,
               "created_at": stamp, "updated_at": stamp, "digest_id": digest_id, "event_time": oldest.event_time}
        insert = (self.database.insert(deliveries).values(row)
                  .on_conflict_do_nothing(index_elements=conflict_key(self.database, "deliveries"))
                  .returning(deliveries.c.id))
        fold = (update(deliveries)
                .where(deliveries.c.status == "collecting", deliveries.c.created_at <= moment, *triple)
                .values(status="digested", digest_id=digest_id, updated_at=stamp))
        try:
            with self.database.connect(write=True) as db:
                if db.execute(insert).first() is None:  # the first statement writes: SQLite locks at once
                    return None  # another worker made this digest
                count = db.execute(fold).rowcount
                if not count:
                    raise _NothingCollected
        except _NothingCollected:
            return None
        return Flushed(digest_id, route, connection, action, count, stored.status)

    def digest_events(self, digest_id: str, limit: int) -> tuple[int, datetime | None, list[str]]:
        """How many events a digest carries, when the first was collected, and the first `limit` bodies, oldest first."""
        members = (deliveries.c.digest_id == digest_id, deliveries.c.id != digest_id)
        query = (select(events.c.body).select_from(deliveries.join(events, events.c.id == deliveries.c.event_id))
                 .where(*members).order_by(deliveries.c.created_at, deliveries.c.id).limit(limit))
        with self.database.connect() as db:
            count, first = db.execute(select(func.count(), func.min(deliveries.c.created_at)).where(*members)).one()
            return int(count), _utc(first) if first is not None else None, list(db.execute(query).scalars())

    # --- holds -----------------------------------------------------------------------------------

    def hold_claimed(self, delivery_ids: Sequence[str], until: datetime, reason: str) -> list[DeliveryRef]:
        """Hold deliveries just claimed (running) until `until`, giving back the attempt the claim counted."""
        if not delivery_ids:
            return []
        statement = (update(deliveries)
                     .where(deliveries.c.id.in_(delivery_ids), deliveries.c.status == "running")
                     .values(status="held", attempts=deliveries.c.attempts - 1, lease_until=None,
                             next_attempt_at=until, last_error=reason, updated_at=now())
                     .returning(*REF))
        with self.database.connect(write=True) as db:
            return [DeliveryRef(*row) for row in db.execute(statement)]

    def release_due(self, moment: datetime) -> list[DeliveryRef]:
        """Deliveries whose hold ended by `moment` go back to waiting (retrying if they were attempted before)."""
        due = (deliveries.c.status == "held", deliveries.c.next_attempt_at.is_not(None),
               deliveries.c.next_attempt_at <= moment)
        with self.database.connect() as db:  # most of the time nothing is due: a read, no write lock
            if db.execute(select(deliveries.c.id).where(*due).limit(1)).first() is None:
                return []
        return self._release(due)

    def release(self, delivery_ids: Sequence[str] | None = None, *, route: str | None = None) -> list[DeliveryRef]:
        """Release deliveries held for review (by id, or all of a route's): they are queued."""
        return self._release((deliveries.c.status == "held", deliveries.c.next_attempt_at.is_(None),
                              *_which(delivery_ids, route)))

    def quiet_held(self, delivery_ids: Sequence[str] | None = None, *,
                   route: str | None = None) -> list[tuple[str, datetime]]:
        """Deliveries held for quiet hours (by id, or all of a route's), each with when its hold ends."""
        query = (select(deliveries.c.id, deliveries.c.next_attempt_at)
                 .where(deliveries.c.status == "held", deliveries.c.next_attempt_at.is_not(None),
                        *_which(delivery_ids, route)))
        with self.database.connect() as db:
            return [(delivery_id, _utc(until)) for delivery_id, until in db.execute(query)]

    def release_quiet(self, delivery_ids: Sequence[str]) -> list[DeliveryRef]:
        """Release these deliveries held for quiet hours now (an operator sends them early): they are queued."""
        return self._release((deliveries.c.status == "held", deliveries.c.next_attempt_at.is_not(None),
                              deliveries.c.id.in_(list(delivery_ids))))

    def waiting_counts(self) -> list[tuple[str, str, str, int]]:
        """(route, connection, kind, count) of deliveries not sent yet by design: kind `review` (over a route's
        max_per_hour), `quiet_hours` (held until a connection's quiet hours end) or `collecting` (for a digest)."""
        kind = case((deliveries.c.status == "collecting", "collecting"),
                    (deliveries.c.next_attempt_at.is_(None), "review"), else_="quiet_hours")
        query = (select(deliveries.c.route, deliveries.c.connection, kind, func.count())
                 .where(deliveries.c.status.in_(("held", "collecting")))
                 .group_by(deliveries.c.route, deliveries.c.connection, kind))
        with self.database.connect() as db:
            return [(route, connection, str(name), int(count)) for route, connection, name, count in db.execute(query)]

    def discard(self, delivery_ids: Sequence[str] | None = None, *, route: str | None = None) -> list[str]:
        """Mark held deliveries discarded (by id, or all of a route's): never sent, and retention deletes them."""
        statement = (update(deliveries).where(deliveries.c.status == "held", *_which(delivery_ids, route))
                     .values(status="discarded", next_attempt_at=None, updated_at=now()).returning(deliveries.c.id))
        with self.database.connect(write=True) as db:
            return list(db.execute(statement).scalars())

    def held_ids(self, *, route: str | None = None, for_review: bool = True) -> list[str]:
        """Held deliveries, optionally of one route; by default only those held for review (not quiet hours)."""
        query = select(deliveries.c.id).where(deliveries.c.status == "held",
                                              *(_which(None, route) if route is not None else ()))
        if for_review:
            query = query.where(deliveries.c.next_attempt_at.is_(None))
        with self.database.connect() as db:
            return list(db.execute(query.order_by(deliveries.c.created_at)).scalars())

    def _release(self, where: Sequence[Any]) -> list[DeliveryRef]:
        stamp = now()
        waiting = case((deliveries.c.attempts > deliveries.c.budget_start, "retrying"), else_="queued")
        statement = (update(deliveries).where(*where)
                     .values(status=waiting, next_attempt_at=stamp, last_error=None, updated_at=stamp)
                     .returning(*REF))
        with self.database.connect(write=True) as db:
            return [DeliveryRef(*row) for row in db.execute(statement)]


def _which(delivery_ids: Sequence[str] | None, route: str | None) -> list[Any]:
    """The filter of a bulk action: ids, a route, or both; never nothing (which would mean every row)."""
    if delivery_ids is None and route is None:
        raise ValueError("name the deliveries: ids, a route, or both")
    where: list[Any] = []
    if delivery_ids is not None:
        where.append(deliveries.c.id.in_(delivery_ids))
    if route is not None:
        where.append(deliveries.c.route == route)
    return where


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment
