"""Lineage: which delivery created an object, and what became of an event.

A delivery that created an object (a Jira issue, a Zendesk ticket, a Slack message) records
it in `created_objects` under the vendor's own name for it (`ActionResult.link`). A later event
about that object (its `data.link` or `data.parent`) is then known to follow up the delivery's
event: ingest stamps it with `data.origin` and keeps `events.origin_event_id`, indexed. The
lookups go both ways: an object to the event that caused it, an event to everything after it.
"""

from __future__ import annotations

from typing import Collection, Iterable

import orjson
from sqlalchemy import ColumnElement, Connection, and_, or_, select

from hub.store.database import Database
from hub.store.rows import CreatedObjectRow, DeliveryRow, EventLineage, EventRow, Origin, from_row
from hub.store.tables import created_objects, deliveries, events

ObjectName = tuple[str, str]  # (system, object id)
MAX_FOLLOW_UPS = 500


class Lineage:
    def __init__(self, database: Database) -> None:
        self.database = database

    def creators(self, objects: Collection[ObjectName]) -> list[CreatedObjectRow]:
        """Who created these objects, oldest first (one indexed query; none for an empty list)."""
        if not objects:
            return []
        wanted = or_(*(and_(created_objects.c.system == system, created_objects.c.object_id == object_id)
                       for system, object_id in sorted(set(objects))))
        query = select(created_objects).where(wanted).order_by(created_objects.c.created_at)
        with self.database.connect(autocommit=True) as db:
            return [from_row(CreatedObjectRow, row) for row in db.execute(query)]

    def origin(self, delivery_id: str, system: str, object_id: str) -> Origin | None:
        """The creating delivery of an object, its event and that event's deliveries (None: pruned, or never)."""
        query = select(created_objects).where(created_objects.c.system == system,
                                              created_objects.c.object_id == object_id,
                                              created_objects.c.delivery_id == delivery_id)
        with self.database.connect() as db:
            row = db.execute(query).first()
            return self._origin(db, from_row(CreatedObjectRow, row)) if row else None

    def cause_of(self, system: str, object_id: str) -> Origin | None:
        """Which event caused this object: the first delivery that created it, and its event."""
        query = (select(created_objects).where(created_objects.c.system == system,
                                               created_objects.c.object_id == object_id)
                 .order_by(created_objects.c.created_at).limit(1))
        with self.database.connect() as db:
            row = db.execute(query).first()
            return self._origin(db, from_row(CreatedObjectRow, row)) if row else None

    def of_event(self, event_id: str) -> EventLineage | None:
        """What happened to an event: its origin, deliveries, created objects and the later events about them.

        A later event counts when ingest linked it (`origin_event_id`), or when it is about a
        created object by its `link` even if it arrived before the object was recorded (a
        vendor's webhook racing the delivery's answer).
        """
        with self.database.connect() as db:
            row = db.execute(select(events).where(events.c.id == event_id)).first()
            if row is None:
                return None
            event = from_row(EventRow, row)
            own = _deliveries(db, [event_id])
            created = [from_row(CreatedObjectRow, item) for item in db.execute(
                select(created_objects).where(created_objects.c.event_id == event_id)
                .order_by(created_objects.c.created_at))]
            later = {item.id: item for item in _event_rows(db, events.c.origin_event_id == event_id)}
            names = {(item.system, item.object_id) for item in created}
            if names:
                about = events.c.subject.in_(sorted({object_id for _, object_id in names}))
                for item in _event_rows(db, and_(about, events.c.id != event_id)):
                    link = orjson.loads(item.body)["data"]["link"]
                    if (link["system"], link["id"]) in names:
                        later.setdefault(item.id, item)
            origin = self._stamped_origin(db, event)
        follow_ups = sorted(later.values(), key=lambda item: (item.received_at, item.id))[:MAX_FOLLOW_UPS]
        return EventLineage(event, origin, own, created, follow_ups)

    def _stamped_origin(self, db: Connection, event: EventRow) -> Origin | None:
        stamp = orjson.loads(event.body)["data"].get("origin")
        if not stamp:
            return None
        query = select(created_objects).where(created_objects.c.delivery_id == stamp["delivery_id"],
                                              created_objects.c.system == stamp["object"]["system"],
                                              created_objects.c.object_id == stamp["object"]["id"])
        row = db.execute(query).first()
        return self._origin(db, from_row(CreatedObjectRow, row)) if row else None

    @staticmethod
    def _origin(db: Connection, created: CreatedObjectRow) -> Origin | None:
        run = db.execute
        delivery = run(select(deliveries).where(deliveries.c.id == created.delivery_id)).first()
        event = run(select(events).where(events.c.id == created.event_id)).first()
        if delivery is None or event is None:
            return None
        return Origin(created, from_row(DeliveryRow, delivery), from_row(EventRow, event),
                      _deliveries(db, [created.event_id]))


def _deliveries(db: Connection, event_ids: Iterable[str]) -> list[DeliveryRow]:
    query = (select(deliveries).where(deliveries.c.event_id.in_(list(event_ids)))
             .order_by(deliveries.c.created_at, deliveries.c.id))
    return [from_row(DeliveryRow, row) for row in db.execute(query)]


def _event_rows(db: Connection, where: ColumnElement[bool]) -> list[EventRow]:
    query = select(events).where(where).order_by(events.c.received_at).limit(MAX_FOLLOW_UPS)
    return [from_row(EventRow, row) for row in db.execute(query)]
