"""hub/store/partitions.py and retention over it: months of events, deliveries and attempts on PostgreSQL.

Retention must come to the same on SQLite (row by row) and PostgreSQL (a month's partitions
dropped whole when nothing in them is kept); the PostgreSQL-only parts check the partitions.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select, text, update

from hub.store import NewDelivery, Store, now
from hub.store.partitions import Month, ahead, create_month
from hub.store.rows import CreatedObject, FinishedAttempt, KeptRequest
from hub.store.tables import attempts, created_objects, deliveries, events, requests

OLD = datetime(2025, 1, 15, 9, 30, tzinfo=timezone.utc)  # a month that holds only finished events
KEPT = datetime(2025, 2, 15, 9, 30, tzinfo=timezone.utc)  # a month that holds one unfinished event


def event_of(name: str, time: datetime) -> dict:
    return {"id": name, "source": "/sources/app", "type": "cx.review.created", "subject": f"s-{name}",
            "time": time.isoformat().replace("+00:00", "Z"),
            "data": {"vendor_event_id": f"v-{name}", "customer": {"email": None, "id": None}}}


def delivery_of(event_id: str) -> NewDelivery:
    return NewDelivery(id=f"dl-{event_id}", event_id=event_id, route="r", connection="c", action="a", params={})


def request(name: str) -> KeptRequest:
    return KeptRequest(id=name, source="app", method="POST", path="/hooks/app", content_type="application/json",
                       headers={}, query={}, body=b"{}")


def succeed(store: Store, event_ids: list[str], *, created: str | None = None) -> None:
    claimed = store.deliveries.claim([f"dl-{name}" for name in event_ids], timedelta(minutes=1))
    attempt = {"number": 1, "started_at": now(), "duration_ms": 5.0, "status_code": 201, "outcome": "succeeded"}
    store.deliveries.finish_attempts([
        FinishedAttempt(delivery.id, attempt, "succeeded", event_id=delivery.event_id, event_time=delivery.event_time,
                        created=CreatedObject("crm", f"obj-{delivery.event_id}") if delivery.event_id == created
                        else None)
        for delivery in claimed])


def exists(store: Store, table: str) -> bool:
    with store.database.connect() as db:
        return db.execute(text("SELECT to_regclass(:name) IS NOT NULL"), {"name": table}).scalar_one()


def count(store: Store, table) -> int:
    with store.database.connect() as db:
        return db.execute(select(func.count()).select_from(table)).scalar_one()


def test_a_finished_month_goes_whole_and_a_month_holding_an_unfinished_event_stays(store):
    if store.database.is_postgresql:
        with store.database.connect(write=True) as db:
            for moment in (OLD, KEPT):
                create_month(db, Month.of(moment))
    batch = [event_of("old-1", OLD), event_of("old-2", OLD + timedelta(days=3)), event_of("kept-done", KEPT),
             event_of("kept-queued", KEPT + timedelta(hours=1)),
             event_of("long-ago", datetime(1999, 12, 31, tzinfo=timezone.utc))]  # PostgreSQL: in DEFAULT
    store.ingest.record(batch, [delivery_of(event["id"]) for event in batch],
                        kept={"old-1": request("req-old"), "old-2": request("req-old"),
                              "kept-done": request("req-shared"), "kept-queued": request("req-shared")})
    succeed(store, ["old-1", "old-2", "kept-done", "long-ago"], created="old-1")
    with store.database.connect(write=True) as db:  # received long ago, resolved to no profile
        db.execute(update(events).values(received_at=now() - timedelta(days=400), profile_state="anonymous"))

    counts = store.retention.prune(now() - timedelta(days=30))

    assert {name: counts[name] for name in ("events", "deliveries", "attempts", "created_objects", "requests")} == {
        "events": 4, "deliveries": 4, "attempts": 4, "created_objects": 1, "requests": 1}
    assert [store.reads.event(name) is None for name in ("old-1", "old-2", "kept-done", "long-ago", "kept-queued")] == [
        True, True, True, True, False]
    assert [delivery.id for delivery in store.reads.deliveries()] == ["dl-kept-queued"]
    assert count(store, attempts) == 0 and count(store, created_objects) == 0
    with store.database.connect() as db:  # the request of the batch stays while one of its events does
        assert list(db.execute(select(requests.c.id)).scalars()) == ["req-shared"]
    if store.database.is_postgresql:
        old, kept = Month.of(OLD), Month.of(KEPT)
        assert [exists(store, old.name(table)) for table in ("events", "deliveries", "attempts")] == [False] * 3
        assert [exists(store, kept.name(table)) for table in ("events", "deliveries", "attempts")] == [True] * 3
        with store.database.connect() as db:
            assert db.execute(text("SELECT count(*) FROM pg_inherits WHERE inhrelid = to_regclass(:name)"),
                              {"name": kept.name("events")}).scalar_one() == 1
            assert db.execute(text(f"SELECT id FROM {kept.name('events')}")).scalars().all() == ["kept-queued"]
    assert store.retention.prune(now() - timedelta(days=30))["events"] == 0  # the unfinished one is kept


def test_a_month_whose_events_came_in_recently_is_not_dropped(store):
    """An event's time is the vendor's: a month long past can hold an event received yesterday."""
    moment = datetime(2025, 3, 10, tzinfo=timezone.utc)
    if store.database.is_postgresql:
        with store.database.connect(write=True) as db:
            create_month(db, Month.of(moment))
    batch = [event_of("long-ago", moment), event_of("polled-late", moment + timedelta(days=1))]
    store.ingest.record(batch, [delivery_of(event["id"]) for event in batch])
    succeed(store, ["long-ago", "polled-late"])
    with store.database.connect(write=True) as db:
        db.execute(update(events).values(profile_state="anonymous"))
        db.execute(update(events).where(events.c.id == "long-ago").values(received_at=now() - timedelta(days=90)))
    assert store.retention.prune(now() - timedelta(days=30))["events"] == 1
    assert store.reads.event("polled-late") is not None and store.reads.event("long-ago") is None
    if store.database.is_postgresql:
        assert exists(store, Month.of(moment).name("events"))


def test_a_batch_tried_again_is_stored_once_even_stamped_with_another_time(store):
    """The key of partitioned events is (id, time): a resend whose time changed is still found by its id."""
    batch = [event_of("ev-1", KEPT), event_of("ev-2", KEPT)]
    first = store.ingest.record(batch, [delivery_of(event["id"]) for event in batch])
    again = store.ingest.record(batch, [delivery_of(event["id"]) for event in batch])
    restamped = [event_of("ev-1", now())]  # as a scheme that stamps each send with its own time
    later = store.ingest.record(restamped, [delivery_of("ev-1")])
    assert (first.accepted, again.duplicates, later.duplicates) == (["ev-1", "ev-2"], ["ev-1", "ev-2"], ["ev-1"])
    assert count(store, events) == 2 and count(store, deliveries) == 2
    assert store.ingest.add_deliveries([delivery_of("ev-2")]) == []  # replay: the delivery exists
    assert count(store, deliveries) == 2


def test_the_months_ahead_are_made_and_rows_waiting_in_default_move_into_theirs(store):
    if not store.database.is_postgresql:
        assert store.partitions.ensure() == []  # SQLite: nothing to make
        return
    later = datetime(2031, 5, 20, tzinfo=timezone.utc)  # no partition yet: it lands in DEFAULT
    store.ingest.record([event_of("future", later)], [delivery_of("future")])
    succeed(store, ["future"])
    with store.database.connect() as db:
        assert db.execute(text("SELECT count(*) FROM events_default")).scalar_one() == 1
    made = store.partitions.ensure(later)
    assert made == [month.name(table) for month in ahead(later) for table in ("events", "deliveries", "attempts")]
    with store.database.connect() as db:
        held = {table: db.execute(text(f"SELECT count(*) FROM {Month.of(later).name(table)}")).scalar_one()
                for table in ("events", "deliveries", "attempts")}
        left = db.execute(text("SELECT count(*) FROM events_default")).scalar_one()
    assert held == {"events": 1, "deliveries": 1, "attempts": 1} and left == 0
    assert store.reads.delivery("dl-future").status == "succeeded"
    assert store.partitions.ensure(later) == []  # made once


def test_a_thin_event_sent_again_after_its_details_moved_its_time_is_stored_once(store):
    """Enrichment may give an event another time (another partition on PostgreSQL): a resend is still the same event."""
    thin = event_of("thin-1", KEPT)
    assert store.enrichments.record([thin]).accepted == ["thin-1"]
    assert store.enrichments.claim("thin-1", timedelta(minutes=1)) is not None
    assert store.enrichments.complete(event_of("thin-1", OLD), [delivery_of("thin-1")])
    assert store.enrichments.record([thin]).duplicates == ["thin-1"]
    assert count(store, events) == 1 and store.reads.event("thin-1").time == OLD
    assert store.reads.delivery("dl-thin-1").event_time == OLD  # its delivery's partition is the event's
