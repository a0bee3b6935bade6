"""Retention: deleting what is finished with and older than a moment, in batches."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, select

from hub.store.database import Database
from hub.store.deliveries import FINISHED
from hub.store.tables import attempts, created_objects, deliveries, enrichments, events, quarantine, requests


def unnamed_by_events() -> Any:
    """Events that name the request in hand (correlated): a request goes only when there are none (indexed)."""
    return select(events.c.id).where(events.c.request_id == requests.c.id)


class Retention:
    def __init__(self, database: Database) -> None:
        self.database = database

    def prune(self, before: datetime, *, batch: int = 1000) -> dict[str, int]:
        """Delete what was received before `before` and is finished with; return the counts deleted.

        An event goes (with its deliveries and their attempts) once every delivery has succeeded,
        is dead, was discarded, is a shadow route's record, or was collected in a digest that is
        itself finished; an event with a delivery still under way (held, collecting for a digest
        too), whose details are still being fetched (or failed to be), or not yet attached to its
        customer profile, is kept whatever its age. The request an event came in goes with the last
        of its events (a batch's request stays while one of its events is kept). Customer profiles
        are not deleted: their identifiers, first and last seen and latest scores stay, and their
        timelines show the events that remain. Quarantined
        requests go whatever their status: one nobody replayed within the retention period is
        not waiting for anything. Deletes run in batches so no transaction holds its locks for long.
        """
        counts = {"events": 0, "deliveries": 0, "attempts": 0, "created_objects": 0, "enrichments": 0,
                  "requests": 0, "quarantine": 0}
        digest = deliveries.alias("digest")
        digest_unfinished = select(digest.c.id).where(digest.c.id == deliveries.c.digest_id,
                                                      digest.c.status.notin_(FINISHED))
        unfinished = select(deliveries.c.id).where(
            deliveries.c.event_id == events.c.id,
            deliveries.c.status.notin_((*FINISHED, "digested"))
            | and_(deliveries.c.status == "digested", digest_unfinished.exists()))
        enriching = select(enrichments.c.event_id).where(enrichments.c.event_id == events.c.id,
                                                         enrichments.c.status != "done")
        expired = (select(events.c.id).where(events.c.received_at < before, ~unfinished.exists(),
                                             ~enriching.exists(), events.c.profile_state != "pending")
                   .limit(batch))
        while True:
            with self.database.connect(write=True) as db:
                event_ids = list(db.execute(expired).scalars())
                if not event_ids:
                    break
                owned = select(deliveries.c.id).where(deliveries.c.event_id.in_(event_ids))
                came_in = list(db.execute(select(events.c.request_id).distinct()
                                          .where(events.c.id.in_(event_ids), events.c.request_id.is_not(None)))
                               .scalars())
                for table, statement in (("attempts", delete(attempts).where(attempts.c.delivery_id.in_(owned))),
                                         ("created_objects",
                                          delete(created_objects).where(created_objects.c.event_id.in_(event_ids))),
                                         ("deliveries", delete(deliveries).where(deliveries.c.event_id.in_(event_ids))),
                                         ("enrichments",
                                          delete(enrichments).where(enrichments.c.event_id.in_(event_ids))),
                                         ("events", delete(events).where(events.c.id.in_(event_ids)))):
                    counts[table] += db.execute(statement).rowcount
                if came_in:
                    counts["requests"] += db.execute(delete(requests).where(
                        requests.c.id.in_(came_in), ~unnamed_by_events().exists())).rowcount
        with self.database.connect(write=True) as db:
            counts["quarantine"] = db.execute(delete(quarantine).where(quarantine.c.received_at < before)).rowcount
        return counts
