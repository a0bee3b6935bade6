"""Lists with filters and keyset cursors, counts per hour and recent health, for the console.

A cursor names the last row shown (its time and id), so the next page starts strictly after
it: events arriving meanwhile never shift a page. Events are listed by `received_at`,
deliveries by `created_at` (which, unlike `updated_at`, never changes), newest first.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Generic, Mapping, Sequence, TypeVar

from sqlalchemy import ColumnElement, and_, case, func, literal_column, or_, select

from hub.store.database import Database
from hub.store.rows import DeliveryRow, EventRow, from_row
from hub.store.tables import attempts, deliveries, events

Row = TypeVar("Row")


class BadCursor(ValueError):
    """A cursor that this store did not hand out (edited, truncated)."""


@dataclass(frozen=True)
class Cursor:
    """The position after the last row of a page: its timestamp and id."""

    moment: datetime
    id: str

    def encode(self) -> str:
        return base64.urlsafe_b64encode(f"{self.moment.isoformat()}|{self.id}".encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            moment, _, row_id = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode().partition("|")
            parsed = datetime.fromisoformat(moment)
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise BadCursor("this page link is not valid (its cursor was changed or cut)") from None
        if not row_id or len(text) > 400:
            raise BadCursor("this page link is not valid (its cursor was changed or cut)")
        return cls(parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc), row_id)


@dataclass(frozen=True)
class Page(Generic[Row]):
    rows: list[Row]
    next: Cursor | None  # None: this is the last page


@dataclass(frozen=True)
class EventFilter:
    source: str | None = None
    type: str | None = None
    band: str | None = None
    customer: str | None = None  # an email, matched whatever its case
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None  # a substring of the canonical event, case-insensitive


@dataclass(frozen=True)
class DeliveryFilter:
    connection: str | None = None
    route: str | None = None
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    min_attempts: int | None = None
    event_id: str | None = None


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def event_conditions(where: EventFilter) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = [column == value for column, value in (
        (events.c.source, where.source), (events.c.type, where.type), (events.c.score_band, where.band))
        if value is not None]
    if where.customer is not None:
        found.append(func.lower(events.c.customer_email) == where.customer.lower())
    if where.since is not None:
        found.append(events.c.received_at >= where.since)
    if where.until is not None:
        found.append(events.c.received_at < where.until)
    if where.text:
        found.append(events.c.body.ilike(_like(where.text), escape="\\"))
    return found


def delivery_conditions(where: DeliveryFilter) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = [column == value for column, value in (
        (deliveries.c.connection, where.connection), (deliveries.c.route, where.route),
        (deliveries.c.status, where.status), (deliveries.c.event_id, where.event_id)) if value is not None]
    if where.since is not None:
        found.append(deliveries.c.created_at >= where.since)
    if where.until is not None:
        found.append(deliveries.c.created_at < where.until)
    if where.min_attempts is not None:
        found.append(deliveries.c.attempts >= where.min_attempts)
    return found


def _after(moment: Any, row_id: Any, cursor: Cursor | None) -> list[ColumnElement[bool]]:
    if cursor is None:
        return []
    return [or_(moment < cursor.moment, and_(moment == cursor.moment, row_id < cursor.id))]


class Browse:
    def __init__(self, database: Database) -> None:
        self.database = database

    def events(self, where: EventFilter, *, after: Cursor | None = None, limit: int = 50) -> Page[EventRow]:
        """A page of events, newest first, starting after `after`."""
        query = (select(events).where(and_(True, *event_conditions(where),
                                           *_after(events.c.received_at, events.c.id, after)))
                 .order_by(events.c.received_at.desc(), events.c.id.desc()).limit(limit + 1))
        with self.database.connect() as db:
            rows = [from_row(EventRow, row) for row in db.execute(query)]
        return _page(rows, limit, lambda row: Cursor(row.received_at, row.id))

    def deliveries(self, where: DeliveryFilter, *, after: Cursor | None = None,
                   limit: int = 50) -> Page[DeliveryRow]:
        """A page of deliveries, most recently created first, starting after `after`."""
        query = (select(deliveries).where(and_(True, *delivery_conditions(where),
                                               *_after(deliveries.c.created_at, deliveries.c.id, after)))
                 .order_by(deliveries.c.created_at.desc(), deliveries.c.id.desc()).limit(limit + 1))
        with self.database.connect() as db:
            rows = [from_row(DeliveryRow, row) for row in db.execute(query)]
        return _page(rows, limit, lambda row: Cursor(row.created_at, row.id))

    def dead_ids(self, where: DeliveryFilter) -> list[str]:
        """Every dead delivery the filter matches (not only one page's): what "retry all" queues."""
        if where.status not in (None, "dead"):
            return []
        query = select(deliveries.c.id).where(deliveries.c.status == "dead", *delivery_conditions(where))
        with self.database.connect() as db:
            return list(db.execute(query).scalars())

    def count_dead(self, where: DeliveryFilter) -> int:
        """How many dead deliveries the filter matches (shown before "retry all")."""
        if where.status not in (None, "dead"):
            return 0
        query = (select(func.count()).select_from(deliveries)
                 .where(deliveries.c.status == "dead", *delivery_conditions(where)))
        with self.database.connect() as db:
            return int(db.execute(query).scalar_one())

    def count_deliveries(self, statuses: Sequence[str]) -> dict[str, int]:
        """How many deliveries are in each of these statuses now."""
        query = (select(deliveries.c.status, func.count()).where(deliveries.c.status.in_(statuses))
                 .group_by(deliveries.c.status))
        with self.database.connect() as db:
            counted = {status: int(count) for status, count in db.execute(query)}
        return {status: counted.get(status, 0) for status in statuses}

    def events_per_hour(self, since: datetime) -> dict[datetime, int]:
        """Events received per hour (UTC) since `since`; hours without events are left out."""
        hour = self._hour(events.c.received_at)
        query = (select(hour, func.count()).where(events.c.received_at >= since).group_by(hour))
        with self.database.connect() as db:
            return {_as_hour(bucket): int(count) for bucket, count in db.execute(query)}

    def attempts_per_hour(self, since: datetime) -> dict[datetime, dict[str, int]]:
        """Delivery attempts per hour (UTC) since `since`, by outcome (succeeded, retry, failed, paused)."""
        hour = self._hour(attempts.c.started_at)
        query = (select(hour, attempts.c.outcome, func.count()).where(attempts.c.started_at >= since)
                 .group_by(hour, attempts.c.outcome))
        counted: dict[datetime, dict[str, int]] = {}
        with self.database.connect() as db:
            for bucket, outcome, count in db.execute(query):
                counted.setdefault(_as_hour(bucket), {})[outcome] = int(count)
        return counted

    def connection_health(self, since: datetime) -> dict[str, dict[str, Any]]:
        """Per connection since `since`: attempts, successes, failures, mean and longest duration (ms)."""
        query = (select(deliveries.c.connection, func.count(),
                        func.sum(case((attempts.c.outcome == "succeeded", 1), else_=0)),
                        func.sum(case((attempts.c.outcome.in_(("retry", "failed")), 1), else_=0)),
                        func.avg(attempts.c.duration_ms), func.max(attempts.c.duration_ms))
                 .select_from(attempts.join(deliveries, deliveries.c.id == attempts.c.delivery_id))
                 .where(attempts.c.started_at >= since).group_by(deliveries.c.connection))
        with self.database.connect() as db:
            return {name: {"attempts": int(total), "succeeded": int(ok or 0), "failed": int(failed or 0),
                           "mean_ms": float(mean or 0), "max_ms": float(longest or 0)}
                    for name, total, ok, failed, mean, longest in db.execute(query)}

    def route_matches(self, since: datetime, repeats: Mapping[tuple[str, str, str], int] | None = None
                      ) -> dict[str, int]:
        """Per route, how many events it matched since `since`: the deliveries of its busiest action.

        A route makes one delivery per action for each event it matches, so any one action's
        count is the route's matches; the busiest is right even when an action was added
        within the period. Counting rows per (route, connection, action) is one hash
        aggregate, several times cheaper than counting distinct event ids over the same rows.
        `repeats` says how often a route names the same (connection, action), when more than once.
        """
        query = (select(deliveries.c.route, deliveries.c.connection, deliveries.c.action, func.count())
                 .where(deliveries.c.created_at >= since)
                 .group_by(deliveries.c.route, deliveries.c.connection, deliveries.c.action))
        matches: dict[str, int] = {}
        with self.database.connect() as db:
            for route, connection, action, count in db.execute(query):
                events_matched = int(count) // max(1, (repeats or {}).get((route, connection, action), 1))
                matches[route] = max(matches.get(route, 0), events_matched)
        return matches

    def _hour(self, column: Any) -> Any:
        if self.database.is_postgresql:
            return func.to_char(func.timezone("UTC", column), literal_column("'YYYY-MM-DD HH24'"))
        return func.strftime("%Y-%m-%d %H", column)


def _as_hour(bucket: str) -> datetime:
    return datetime.strptime(bucket, "%Y-%m-%d %H").replace(tzinfo=timezone.utc)


def _page(rows: list[Row], limit: int, cursor_of: Any) -> Page[Row]:
    if len(rows) > limit:
        return Page(rows[:limit], cursor_of(rows[limit - 1]))
    return Page(rows, None)
