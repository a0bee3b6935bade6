"""Thin events and the state of fetching their details: the enrichment state machine.

    pending -> running -> done
                       -> (removed: `supersede`, the thin event announced an event found under its own id)
                       -> pending  (retry: 429, 5xx, after next_attempt_at)
                       -> failed   (401, 404, retries spent: an admin retries it after a fix)

A thin event is stored with its enrichment row in one transaction and without deliveries;
`complete` stores the enriched body, its deliveries and `done` in one transaction, only if the
row is still running, so a job that runs twice routes the event once. A thin event waits to be
attached to a customer profile (`profile_state` waiting) until `complete` or `fail`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Mapping, Sequence

from sqlalchemy import delete, insert, select, update

from hub.store.database import Database, now
from hub.store.ingest import _delivery_row, _event_row, request_row
from hub.store.metrics import UPSERT_RESPONSES
from hub.store.partitions import conflict_key
from hub.store.retention import unnamed_by_events
from hub.store.rows import ClaimedEnrichment, EnrichmentRow, KeptRequest, NewDelivery, Recorded, from_row
from hub.store.tables import deliveries, enrichments, events, requests

STATUSES = ("pending", "running", "done", "failed")
REF = (enrichments.c.event_id, enrichments.c.source)


class Enrichments:
    def __init__(self, database: Database) -> None:
        self.database = database

    def record(self, thin_events: Sequence[Mapping[str, Any]], received_at: Sequence[datetime] | None = None,
               kept: Mapping[str, KeptRequest] | None = None) -> Recorded:
        """Store thin events, each with a pending enrichment, atomically; events seen before are left alone.

        `kept` maps event ids to the request each came in, written once if any of its events is new.
        """
        moment = now()
        kept = kept or {}
        # Attached to a customer profile only once its details are in (or fetching them failed).
        rows = [{**_event_row(event, received, kept.get(event["id"])), "profile_state": "waiting"}
                for event, received in
                zip(thin_events, received_at or [moment] * len(thin_events), strict=True)]
        statement = (self.database.insert(events)
                     .on_conflict_do_nothing(index_elements=conflict_key(self.database, "events"))
                     .returning(events.c.id))
        with self.database.connect(write=True) as db:
            # Found by id first: on PostgreSQL the key is (id, time), and a completed event's time may have changed.
            seen = set(db.execute(select(events.c.id).where(events.c.id.in_([row["id"] for row in rows]))).scalars())
            accepted = {event_id for row in rows if row["id"] not in seen
                        for event_id in db.execute(statement.values(row)).scalars()}
            fresh = [{"event_id": row["id"], "source": row["source"], "status": "pending", "attempts": 0,
                      "budget_start": 0, "created_at": moment, "updated_at": moment}
                     for row in rows if row["id"] in accepted]
            if fresh:
                db.execute(insert(enrichments), fresh)
            named = {kept[row["id"]].id: (kept[row["id"]], row["received_at"]) for row in rows
                     if row["id"] in accepted and row["id"] in kept}
            if named:
                db.execute(self.database.insert(requests).on_conflict_do_nothing(index_elements=["id"]),
                           [request_row(item, received) for item, received in named.values()])
        ordered = [row["id"] for row in rows]
        return Recorded([i for i in ordered if i in accepted], [i for i in ordered if i not in accepted])

    def pending(self, event_ids: Sequence[str]) -> list[tuple[str, str]]:
        """(event id, source) of these events' enrichments still waiting for a worker (queued again on a resend)."""
        query = select(*REF).where(enrichments.c.event_id.in_(event_ids), enrichments.c.status == "pending")
        with self.database.connect() as db:
            return [(row[0], row[1]) for row in db.execute(query)]

    def claim(self, event_id: str, lease: timedelta) -> ClaimedEnrichment | None:
        """Mark a pending enrichment running and count an attempt; None if it is not pending (a duplicate job)."""
        moment = now()
        body = select(events.c.body).where(events.c.id == enrichments.c.event_id).scalar_subquery()
        statement = (update(enrichments)
                     .where(enrichments.c.event_id == event_id, enrichments.c.status == "pending")
                     .values(status="running", attempts=enrichments.c.attempts + 1, lease_until=moment + lease,
                             updated_at=moment)
                     .returning(*enrichments.c, body.label("event_body")))
        with self.database.connect(write=True, flush=False) as db:  # a lost claim expires: see Database.connect
            row = db.execute(statement).first()
        return from_row(ClaimedEnrichment, row) if row is not None else None

    def renew(self, event_ids: Sequence[str], lease: timedelta) -> None:
        """Extend the lease of enrichments still running (their worker lives: `hub.delivery.leases`)."""
        statement = (update(enrichments)
                     .where(enrichments.c.event_id.in_(event_ids), enrichments.c.status == "running")
                     .values(lease_until=now() + lease))
        with self.database.connect(write=True, flush=False) as db:
            db.execute(statement)

    def release(self, event_id: str, error: str | None, next_attempt_at: datetime, *, counted: bool = True) -> bool:
        """Put a running enrichment back to pending until `next_attempt_at` (uncounted: the attempt did not happen)."""
        values: dict[str, Any] = {"status": "pending", "lease_until": None, "next_attempt_at": next_attempt_at,
                                  "updated_at": now()}
        if error is not None:
            values["last_error"] = error
        if not counted:
            values["attempts"] = enrichments.c.attempts - 1
        return self._move(event_id, ("running",), values)

    def fail(self, event_id: str, error: str) -> bool:
        """Give up on a running enrichment: it stays listed as failed until an admin retries it.

        The thin event is attached to a customer profile by what it has (a vendor's customer id,
        say), so it is on the timeline; a retry that completes attaches it again with its details.
        """
        statement = (update(enrichments).where(enrichments.c.event_id == event_id, enrichments.c.status == "running")
                     .values(status="failed", lease_until=None, last_error=error, next_attempt_at=None,
                             updated_at=now()))
        with self.database.connect(write=True) as db:
            if db.execute(statement).rowcount != 1:
                return False
            db.execute(update(events).where(events.c.id == event_id, events.c.profile_state == "waiting")
                       .values(profile_state="pending"))
        return True

    def complete(self, event: Mapping[str, Any], new_deliveries: Sequence[NewDelivery],
                 response_rows: Sequence[Mapping[str, Any]] = ()) -> bool:
        """Store the enriched event and its deliveries, and mark the enrichment done, in one transaction.

        Only a running enrichment is completed: False (and nothing written) if another run did it.
        """
        moment = now()
        row = _event_row(event, moment)
        del row["received_at"], row["id"], row["request_id"]  # the request it came in stays named
        row["profile_state"] = "pending"  # (re)attached with its details: the email a requester id led to
        done = (update(enrichments)
                .where(enrichments.c.event_id == event["id"], enrichments.c.status == "running")
                .values(status="done", lease_until=None, last_error=None, next_attempt_at=None, updated_at=moment))
        with self.database.connect(write=True) as db:
            if db.execute(done).rowcount != 1:
                return False
            db.execute(update(events).where(events.c.id == event["id"]).values(**row))
            if new_deliveries:
                db.execute(insert(deliveries), [_delivery_row(item, moment, row["time"]) for item in new_deliveries])
            if response_rows:  # the enriched event's score counts in the metrics (hub/store/metrics.py)
                db.execute(UPSERT_RESPONSES, list(response_rows))
        return True

    def supersede(self, event_id: str) -> bool:
        """Remove a running enrichment and its thin event (which has no deliveries), in one transaction.

        For a thin event that only announced an event the enrichment found and took in under
        its own id. False (and nothing removed) if the enrichment is not running.
        """
        with self.database.connect(write=True) as db:
            removed = db.execute(delete(enrichments).where(enrichments.c.event_id == event_id,
                                                           enrichments.c.status == "running"))
            if removed.rowcount != 1:
                return False
            came_in = db.execute(delete(events).where(events.c.id == event_id).returning(events.c.request_id)).scalar()
            if came_in is not None:  # the announcement's request, unless another event of its batch names it
                db.execute(delete(requests).where(requests.c.id == came_in, ~unnamed_by_events().exists()))
        return True

    def retry(self, event_ids: Sequence[str] | None = None) -> list[tuple[str, str]]:
        """Mark failed enrichments (these, or every one) pending with a fresh retry budget; return those marked."""
        statement = update(enrichments).where(enrichments.c.status == "failed")
        if event_ids is not None:
            statement = statement.where(enrichments.c.event_id.in_(event_ids))
        statement = statement.values(status="pending", budget_start=enrichments.c.attempts, next_attempt_at=None,
                                     updated_at=now()).returning(*REF)
        with self.database.connect(write=True) as db:
            return [(row[0], row[1]) for row in db.execute(statement)]

    def overdue(self, grace: timedelta) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """Enrichments a job should be running for but may not be: (expired leases, stalled waits)."""
        moment = now()
        expired = select(*REF).where(enrichments.c.status == "running", enrichments.c.lease_until < moment)
        due = enrichments.c.next_attempt_at.is_(None) | (enrichments.c.next_attempt_at < moment - grace)
        stalled = select(*REF).where(enrichments.c.status == "pending", enrichments.c.updated_at < moment - grace,
                                     due)
        with self.database.connect() as db:
            return ([(row[0], row[1]) for row in db.execute(expired)],
                    [(row[0], row[1]) for row in db.execute(stalled)])

    def revive(self, event_ids: Sequence[str]) -> list[tuple[str, str]]:
        """Put enrichments whose worker died (running past their lease) back to pending; return those moved."""
        moment = now()
        statement = (update(enrichments)
                     .where(enrichments.c.event_id.in_(event_ids), enrichments.c.status == "running",
                            enrichments.c.lease_until < moment)
                     .values(status="pending", lease_until=None, next_attempt_at=None, updated_at=moment)
                     .returning(*REF))
        with self.database.connect(write=True) as db:
            return [(row[0], row[1]) for row in db.execute(statement)]

    def touch(self, event_ids: Sequence[str]) -> None:
        """Mark pending enrichments as just queued again, so the next sweep gives their jobs time to run."""
        moment = now()
        statement = (update(enrichments)
                     .where(enrichments.c.event_id.in_(event_ids), enrichments.c.status == "pending")
                     .values(updated_at=moment, next_attempt_at=None))
        with self.database.connect(write=True) as db:
            db.execute(statement)

    def get(self, event_id: str) -> EnrichmentRow | None:
        with self.database.connect() as db:
            row = db.execute(select(enrichments).where(enrichments.c.event_id == event_id)).first()
        return from_row(EnrichmentRow, row) if row is not None else None

    def with_status(self, statuses: Sequence[str] = ("failed",), *, limit: int = 100) -> list[EnrichmentRow]:
        """Enrichments in these statuses, the most recently changed first."""
        query = (select(enrichments).where(enrichments.c.status.in_(statuses))
                 .order_by(enrichments.c.updated_at.desc()).limit(limit))
        with self.database.connect() as db:
            return [from_row(EnrichmentRow, row) for row in db.execute(query)]

    def _move(self, event_id: str, from_statuses: Sequence[str], values: Mapping[str, Any]) -> bool:
        statement = (update(enrichments)
                     .where(enrichments.c.event_id == event_id, enrichments.c.status.in_(from_statuses))
                     .values(**values))
        with self.database.connect(write=True) as db:
            return bool(db.execute(statement).rowcount == 1)
