"""Retention: deleting what is finished with and older than a moment, in batches.

On PostgreSQL a month of events, deliveries and attempts (hub/store/partitions.py) that is
wholly before the moment and holds nothing kept is dropped whole first; the batches delete
what remains (rows kept until now, a month with one kept event, the DEFAULT partitions).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, or_, select, text, tuple_

from hub.store.database import Database, StoreUnavailable
from hub.store.deliveries import FINISHED, STATUSES
from hub.store.partitions import PARTITIONED, Month, drop_month, months
from hub.store.tables import (attempts, case_events, cases, created_objects, deliveries, enrichments, events,
                              once_keys, quarantine, requests)

log = logging.getLogger("cxhub.retention")
UNFINISHED = tuple(status for status in STATUSES if status not in FINISHED)  # a digest's own delivery
UNDER_WAY = tuple(status for status in UNFINISHED if status != "digested")  # digested: as its digest is
ENRICHING = ("pending", "running", "failed")  # every enrichment status but done


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
        not waiting for anything. A once_per key goes once its window ended before `before` (a
        delivery routed since then holds the key anew anyway). A case goes, with its links, once it
        was closed before `before`; an open or in-progress case stays whatever its age. Deletes run
        in batches so no transaction holds its locks for long.
        """
        counts = {"events": 0, "deliveries": 0, "attempts": 0, "created_objects": 0, "enrichments": 0,
                  "requests": 0, "quarantine": 0,
                  "once_keys": 0, "cases": 0, "case_events": 0}
        if self.database.is_postgresql:
            self._drop_months(before, counts)
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
        counts["once_keys"] = self._prune_once_keys(before, batch)
        counts["cases"], counts["case_events"] = self._prune_cases(before, batch)
        return counts

    def _drop_months(self, before: datetime, counts: dict[str, int]) -> None:
        """Drop the partitions of every month wholly before `before` that holds nothing `prune` keeps.

        Each month is decided and dropped in one transaction that locks the three tables
        (briefly: the checks read indexes), so no row can be written into it meanwhile; one
        that cannot lock them within two seconds is left to the batches, as is a month with
        anything kept. The month's rows of other tables go first, set-wise, as in the batches.
        """
        with self.database.connect() as db:
            due = [month for month in months(db) if month.end <= before]
        for month in due:
            try:
                with self.database.connect(write=True) as db:
                    db.execute(text("SET LOCAL lock_timeout = '2s'"))
                    db.execute(text("LOCK TABLE events, deliveries, attempts IN ACCESS EXCLUSIVE MODE"))
                    if not db.execute(select(_kept_in(month, before))).scalar():
                        for table, statement in _deleted_with(month).items():
                            counts[table] += db.execute(statement).rowcount
                        for table in PARTITIONED:
                            counts[table] += db.execute(text(f"SELECT count(*) FROM {month.name(table)}")).scalar_one()
                        drop_month(db, month)
            except StoreUnavailable as error:  # a lock not had in time (or the database gone: the batches say)
                log.warning("retention: the partitions of %s stay for now (%s)", month.name("events"), error)
                return

    def _prune_once_keys(self, before: datetime, batch: int) -> int:
        expired = (select(once_keys.c.scope, once_keys.c.key_hash).where(once_keys.c.expires_at < before)
                   .limit(batch))
        deleted = 0
        while True:
            with self.database.connect(write=True) as db:
                keys = [tuple(row) for row in db.execute(expired)]
                if not keys:
                    return deleted
                deleted += db.execute(delete(once_keys).where(
                    tuple_(once_keys.c.scope, once_keys.c.key_hash).in_(keys))).rowcount

    def _prune_cases(self, before: datetime, batch: int) -> tuple[int, int]:
        closed = (select(cases.c.id).where(cases.c.status == "closed", cases.c.closed_at < before)
                  .order_by(cases.c.opened_at).limit(batch))
        deleted = linked = 0
        while True:
            with self.database.connect(write=True) as db:
                ids = list(db.execute(closed).scalars())
                if not ids:
                    return deleted, linked
                linked += db.execute(delete(case_events).where(case_events.c.case_id.in_(ids))).rowcount
                deleted += db.execute(delete(cases).where(cases.c.id.in_(ids))).rowcount


def _in(month: Month, column: Any) -> Any:
    return and_(column >= month.start, column < month.end)


def _kept_in(month: Month, before: datetime) -> Any:
    """Whether a month's partitions hold anything `prune` keeps (each part reads an index)."""
    late_or_unattached = select(events.c.id).where(
        _in(month, events.c.time), or_(events.c.received_at >= before, events.c.profile_state == "pending"))
    digest = deliveries.alias("digest")
    unfinished_digests = select(digest.c.id).where(digest.c.digest_id == digest.c.id, digest.c.status.in_(UNFINISHED))
    under_way = select(deliveries.c.id).where(
        _in(month, deliveries.c.event_time),
        deliveries.c.status.in_(UNDER_WAY)
        | and_(deliveries.c.status == "digested", deliveries.c.digest_id.in_(unfinished_digests)))
    of_month = select(events.c.id).where(events.c.id == enrichments.c.event_id, _in(month, events.c.time))
    enriching = select(enrichments.c.event_id).where(enrichments.c.status.in_(ENRICHING), of_month.exists())
    return or_(late_or_unattached.exists(), under_way.exists(), enriching.exists())


def _deleted_with(month: Month) -> dict[str, Any]:
    """The rows of other tables that go with a month's events (by the batches' rules), as DELETEs."""
    of_month = select(events.c.id).where(_in(month, events.c.time))
    named_elsewhere = select(events.c.id).where(events.c.request_id == requests.c.id, ~_in(month, events.c.time))
    return {
        "created_objects": delete(created_objects).where(created_objects.c.event_id.in_(of_month)),
        "enrichments": delete(enrichments).where(enrichments.c.event_id.in_(of_month)),
        "requests": delete(requests).where(
            requests.c.id.in_(select(events.c.request_id).where(_in(month, events.c.time))),
            ~named_elsewhere.exists()),
    }
