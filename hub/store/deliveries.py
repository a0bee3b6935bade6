"""The delivery state machine: claim (with a lease), finish, release, requeue, and what is overdue.

    queued -> running -> succeeded
                      -> retrying -> running -> ...
                      -> dead      (requeue gives it a fresh retry budget)
    shadow     (a shadow route's: recorded with its rendered parameters, never sent, never claimed)

Noise control (hub/store/noise.py) adds, none of them claimable:

    held       -> queued | retrying   (quiet hours over: `next_attempt_at`; or released by an admin)
               -> discarded           (an admin decided it is not to be sent)
    collecting -> digested            (collected for a digest; sent as part of the digest `digest_id`)
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Collection, Sequence

import orjson
from sqlalchemy import DateTime, String, bindparam, case, func, insert, literal, or_, select, update

from hub.store.database import Database, now
from hub.store.rows import ClaimedDelivery, DeliveryRef, FinishedAttempt, from_row
from hub.store.tables import attempts, case_events, cases, created_objects, deliveries, events

CLAIMABLE = ("queued", "retrying")
STATUSES = ("queued", "running", "retrying", "succeeded", "dead", "shadow", "held", "discarded", "collecting",
            "digested")
FINISHED = ("succeeded", "dead", "shadow", "discarded")  # and digested, once its digest is finished
REF = (deliveries.c.id, deliveries.c.connection)
# An attempt row, with its delivery's event_time (the partition key on PostgreSQL): the one the
# caller knows (ClaimedDelivery.event_time), else read from the delivery.
ATTEMPT = insert(attempts).values(event_time=func.coalesce(
    bindparam("known_event_time", type_=attempts.c.event_time.type),
    select(deliveries.c.event_time).where(deliveries.c.id == bindparam("of_delivery")).scalar_subquery()))


# The two statements every delivery runs, built once: building one costs about as much CPU as
# running it (SQLAlchemy's constructs and their cache keys), and a delivery is short.
_CLAIMABLE_ROWS = (select(deliveries.c.id)
                   .where(deliveries.c.id.in_(bindparam("ids", expanding=True)), deliveries.c.status.in_(CLAIMABLE))
                   .with_for_update(skip_locked=True))
CLAIM = (
    update(deliveries)
    .where(deliveries.c.id.in_(_CLAIMABLE_ROWS.scalar_subquery()))
    .values(status="running", attempts=deliveries.c.attempts + 1,
            updated_at=bindparam("moment", type_=DateTime(timezone=True)),
            lease_until=bindparam("lease_until", type_=DateTime(timezone=True)))
    .returning(*deliveries.c, select(events.c.body).where(events.c.id == deliveries.c.event_id)
               .scalar_subquery().label("event_body"))
)
FINISH = (
    update(deliveries)
    .where(deliveries.c.id == bindparam("b_id"))
    .values(status=bindparam("b_status"), next_attempt_at=bindparam("b_next"),
            last_error=bindparam("b_error"), updated_at=bindparam("b_moment"), lease_until=None,
            result=func.coalesce(bindparam("b_result", type_=deliveries.c.result.type), deliveries.c.result))
)


def _refs(rows: Any) -> list[DeliveryRef]:
    return [DeliveryRef(*row) for row in rows]


class Deliveries:
    def __init__(self, database: Database) -> None:
        self.database = database

    def claim(self, delivery_ids: Sequence[str], lease: timedelta) -> list[ClaimedDelivery]:
        """Mark queued or retrying deliveries running and count an attempt for each, in one transaction.

        Returns the rows claimed, in the order asked (each once), each with its event's body.
        The conditional update makes a job that runs twice harmless: only one run gets a row, and
        on PostgreSQL rows another worker is claiming right now are skipped, not waited for.
        The lease says until when the claim holds: past it, the sweeper queues the delivery again.
        """
        moment = now()
        # Unflushed: a claim a crash of the database took back is a lease expired (the sweeper's).
        with self.database.connect(write=True, flush=False) as db:
            found = db.execute(CLAIM, {"ids": list(delivery_ids), "moment": moment, "lease_until": moment + lease})
            rows = {row.id: from_row(ClaimedDelivery, row) for row in found}
        return [rows[i] for i in dict.fromkeys(delivery_ids) if i in rows]

    def finish_attempts(self, finished: Sequence[FinishedAttempt]) -> None:
        """Store attempts with their deliveries' new statuses, all in one transaction (and round trip).

        What a succeeded delivery created (`FinishedAttempt.created`) is recorded in the same
        transaction, for the lineage; a retry that found the object it made before records it once.
        A succeeded `otherwise` (`FinishedAttempt.case_of`: the first event) links its event to the
        first event's case in the same transaction too, so no crash can store the result without the link.
        """
        if not finished:
            return
        moment = now()
        attempt_rows = [{"delivery_id": item.delivery_id, **item.attempt, "known_event_time": item.event_time,
                         "of_delivery": item.delivery_id}
                        for item in finished]
        status_rows = [{"b_id": item.delivery_id, "b_status": item.status, "b_next": item.next_attempt_at,
                        "b_error": item.error, "b_moment": moment,
                        "b_result": orjson.dumps(item.result).decode() if item.result is not None else None}
                       for item in finished]
        created = [{"system": item.created.system, "object_id": item.created.object_id,
                    "delivery_id": item.delivery_id, "event_id": item.event_id, "url": item.created.url,
                    "created_at": moment} for item in finished if item.created is not None and item.event_id]
        with self.database.connect(write=True) as db:
            db.execute(ATTEMPT, attempt_rows)
            db.execute(FINISH, status_rows)
            if created:
                db.execute(self.database.insert(created_objects).on_conflict_do_nothing(), created)
            for item in finished:
                if item.case_of and item.event_id and item.status == "succeeded":
                    db.execute(self.link_to_case(item.event_id, item.case_of, moment))

    def link_to_case(self, event_id: str, first_event_id: str, moment: datetime) -> Any:
        """INSERT linking `event_id` to the case `first_event_id` opened or is linked to (the oldest); once."""
        linked = select(case_events.c.case_id).where(case_events.c.event_id == first_event_id)
        case_of_first = (select(cases.c.id, literal(event_id, String), literal("once_per", String),
                                literal(moment, DateTime(timezone=True)))
                         .where(or_(cases.c.event_id == first_event_id, cases.c.id.in_(linked)))
                         .order_by(cases.c.opened_at).limit(1))
        return (self.database.insert(case_events)
                .from_select(["case_id", "event_id", "why", "linked_at"], case_of_first)
                .on_conflict_do_nothing())

    def renew(self, delivery_ids: Sequence[str], lease: timedelta) -> None:
        """Extend the lease of deliveries still running (their worker lives: `hub.delivery.leases`)."""
        statement = (update(deliveries).where(deliveries.c.id.in_(delivery_ids), deliveries.c.status == "running")
                     .values(lease_until=now() + lease))
        with self.database.connect(write=True, flush=False) as db:
            db.execute(statement)

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
        with self.database.connect(write=True) as db:
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
        with self.database.connect(write=True) as db:
            return _refs(db.execute(statement))

    def overdue(self, grace: timedelta, *, idle: Collection[str] = (),
                idle_grace: timedelta | None = None) -> tuple[list[DeliveryRef], list[DeliveryRef]]:
        """Deliveries a job should be running for but may not be: (expired leases, stalled waits).

        Expired: running past their lease (the worker died mid-attempt). Stalled: queued, or due
        to retry, for longer than `grace` (their job was lost, as when Redis restarts empty), or
        for longer than `idle_grace` on a connection in `idle` (nothing waits in its queue, so
        their jobs cannot be waiting either).
        """
        moment = now()

        def waited(longer_than: timedelta) -> Any:
            return (((deliveries.c.status == "queued") & (deliveries.c.updated_at < moment - longer_than))
                    | ((deliveries.c.status == "retrying") & (deliveries.c.next_attempt_at < moment - longer_than)))

        stalled_when = waited(grace)
        if idle and idle_grace is not None:
            stalled_when = stalled_when | (deliveries.c.connection.in_(list(idle)) & waited(idle_grace))
        expired = select(*REF).where(deliveries.c.status == "running", deliveries.c.lease_until < moment)
        stalled = select(*REF).where(stalled_when)
        with self.database.connect() as db:
            return _refs(db.execute(expired)), _refs(db.execute(stalled))

    def touch(self, delivery_ids: Sequence[str]) -> None:
        """Mark deliveries as just queued again, so the next sweep gives their new jobs time to run."""
        moment = now()
        statement = (update(deliveries).where(deliveries.c.id.in_(delivery_ids), deliveries.c.status.in_(CLAIMABLE))
                     .values(updated_at=moment, next_attempt_at=moment))
        with self.database.connect(write=True) as db:
            db.execute(statement)

    def with_status(self, statuses: Sequence[str]) -> list[DeliveryRef]:
        """Every delivery in one of these statuses (what a worker starting alone takes over)."""
        query = select(*REF).where(deliveries.c.status.in_(statuses))
        with self.database.connect() as db:
            return _refs(db.execute(query))
