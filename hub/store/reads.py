"""Read queries: what the CLI, the admin API and the console ask of events, deliveries and attempts."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Collection, Iterator, Mapping

from sqlalchemy import and_, func, or_, select

from hub.store.database import Database
from hub.store.rows import AttemptRow, DeliveryRow, EventRow, RequestRow, from_row
from hub.store.tables import attempts, deliveries, events, requests


class Reads:
    def __init__(self, database: Database) -> None:
        self.database = database

    def event(self, event_id: str) -> EventRow | None:
        with self.database.connect() as db:
            row = db.execute(select(events).where(events.c.id == event_id)).first()
        return from_row(EventRow, row) if row else None

    def request(self, request_id: str) -> RequestRow | None:
        """A kept request (credentials removed), by the id its events name (`EventRow.request_id`)."""
        with self.database.connect() as db:
            row = db.execute(select(requests).where(requests.c.id == request_id)).first()
        return from_row(RequestRow, row) if row else None

    def events_of_request(self, request_id: str, *, limit: int = 100) -> list[str]:
        """The ids of the events a request carried (a batch's), oldest first (indexed)."""
        query = (select(events.c.id).where(events.c.request_id == request_id)
                 .order_by(events.c.received_at, events.c.id).limit(limit))
        with self.database.connect() as db:
            return list(db.execute(query).scalars())

    def delivery(self, delivery_id: str) -> DeliveryRow | None:
        with self.database.connect() as db:
            row = db.execute(select(deliveries).where(deliveries.c.id == delivery_id)).first()
        return from_row(DeliveryRow, row) if row else None

    def events(self, *, source: str | None = None, type: str | None = None, customer: str | None = None,
               band: str | None = None, limit: int = 50) -> list[EventRow]:
        """Events, newest first, optionally of one source, type, customer (email) or score band."""
        filters = [column == value for column, value in (
            (events.c.source, source), (events.c.type, type), (events.c.score_band, band)) if value is not None]
        if customer is not None:  # emails match whatever their case: Ann@Example.com is ann@example.com
            filters.append(func.lower(events.c.customer_email) == customer.lower())
        query = select(events).where(and_(True, *filters)).order_by(events.c.received_at.desc()).limit(limit)
        with self.database.connect() as db:
            return [from_row(EventRow, row) for row in db.execute(query)]

    def deliveries(self, *, status: str | None = None, event_id: str | None = None,
                   connection: str | None = None, route: str | None = None, limit: int = 50) -> list[DeliveryRow]:
        """Deliveries, most recently updated first, optionally of one status, event, connection or route."""
        filters = [column == value for column, value in (
            (deliveries.c.status, status), (deliveries.c.event_id, event_id),
            (deliveries.c.connection, connection), (deliveries.c.route, route)) if value is not None]
        query = select(deliveries).where(and_(True, *filters)).order_by(deliveries.c.updated_at.desc()).limit(limit)
        with self.database.connect() as db:
            return [from_row(DeliveryRow, row) for row in db.execute(query)]

    def dead_ids(self, *, connection: str | None = None, route: str | None = None) -> list[str]:
        """Every dead-lettered delivery, optionally of one connection or route (for bulk redelivery)."""
        filters = [column == value for column, value in ((deliveries.c.connection, connection),
                                                         (deliveries.c.route, route)) if value is not None]
        query = select(deliveries.c.id).where(deliveries.c.status == "dead", *filters)
        with self.database.connect() as db:
            return list(db.execute(query).scalars())

    def dead_by_connection(self) -> dict[str, int]:
        """How many dead-lettered deliveries each connection has (for the metrics; ix_deliveries_status)."""
        query = select(deliveries.c.connection, func.count()).where(deliveries.c.status == "dead") \
            .group_by(deliveries.c.connection)
        with self.database.connect() as db:
            return {connection: count for connection, count in db.execute(query)}

    def attempts(self, delivery_id: str) -> list[AttemptRow]:
        """A delivery's attempts, in order."""
        query = select(attempts).where(attempts.c.delivery_id == delivery_id).order_by(attempts.c.number)
        with self.database.connect() as db:
            return [from_row(AttemptRow, row) for row in db.execute(query)]

    def count_received_since(self, since: datetime) -> int:
        """How many events were received at or after `since` (an indexed count)."""
        with self.database.connect() as db:
            return int(db.execute(select(func.count()).select_from(events).where(events.c.received_at >= since))
                       .scalar_one())

    def newest_received_at(self, since: datetime, position: int) -> datetime | None:
        """When the `position`-th newest event since `since` was received (1: the newest), or None."""
        query = (select(events.c.received_at).where(events.c.received_at >= since)
                 .order_by(events.c.received_at.desc(), events.c.id.desc()).offset(position - 1).limit(1))
        with self.database.connect() as db:
            found = db.execute(query).scalar()
        if found is None:
            return None
        return found.replace(tzinfo=timezone.utc) if found.tzinfo is None else found  # SQLite's are naive

    def stream_received_since(self, since: datetime, *, limit: int, batch: int = 500) -> Iterator[EventRow]:
        """Up to `limit` events received at or after `since`, oldest first, read `batch` rows at a time.

        Keyset pages on (received_at, id) over the received_at index: memory holds one page,
        whatever the window, and no page is read twice or skipped while new events arrive.
        """
        after: tuple[datetime, str] | None = None
        left = limit
        while left > 0:
            query = select(events).where(events.c.received_at >= since)
            if after is not None:
                moment, last = after
                query = query.where(or_(events.c.received_at > moment,
                                        and_(events.c.received_at == moment, events.c.id > last)))
            query = query.order_by(events.c.received_at, events.c.id).limit(min(batch, left))
            with self.database.connect() as db:
                page = [from_row(EventRow, row) for row in db.execute(query)]
            if not page:
                return
            yield from page
            left -= len(page)
            after = (page[-1].received_at, page[-1].id)

    def events_about_before(self, subjects: Mapping[str, Collection[str]], before: datetime,
                            *, limit: int = 1000) -> list[EventRow]:
        """Events about these subjects (source name -> subjects) received before `before`, oldest first."""
        if not subjects:
            return []
        about = or_(*(and_(events.c.source == source, events.c.subject.in_(sorted(names)))
                      for source, names in subjects.items()))
        query = (select(events).where(about, events.c.received_at < before)
                 .order_by(events.c.received_at, events.c.id).limit(limit))
        with self.database.connect() as db:
            return [from_row(EventRow, row) for row in db.execute(query)]
