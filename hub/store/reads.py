"""Read queries: what the CLI, the admin API and the console ask of events, deliveries and attempts."""

from __future__ import annotations

from sqlalchemy import and_, func, select

from hub.store.database import Database
from hub.store.rows import AttemptRow, DeliveryRow, EventRow, from_row
from hub.store.tables import attempts, deliveries, events


class Reads:
    def __init__(self, database: Database) -> None:
        self.database = database

    def event(self, event_id: str) -> EventRow | None:
        with self.database.connect() as db:
            row = db.execute(select(events).where(events.c.id == event_id)).first()
        return from_row(EventRow, row) if row else None

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
                   connection: str | None = None, limit: int = 50) -> list[DeliveryRow]:
        """Deliveries, most recently updated first, optionally of one status, event or connection."""
        filters = [column == value for column, value in (
            (deliveries.c.status, status), (deliveries.c.event_id, event_id),
            (deliveries.c.connection, connection)) if value is not None]
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
