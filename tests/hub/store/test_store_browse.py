"""hub/store/browse.py's counts per hour and per route, on SQLite and (CXHUB_TEST_DATABASE_URL) PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import insert, text

from hub.store import NewDelivery, Store
from hub.store.tables import attempts

HOUR = datetime(2026, 11, 30, 14, 0, tzinfo=timezone.utc)
EVENT_TIME = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)  # every event's (an attempt's partition key)


def event_of(number: int) -> dict:
    return {"id": f"ev-{number}", "source": "/sources/app", "type": "cx.review.created", "subject": f"s-{number}",
            "time": EVENT_TIME.isoformat(),
            "data": {"vendor_event_id": f"v-{number}", "customer": {"email": None, "id": None}}}


def test_events_and_attempts_are_counted_in_their_utc_hour(store):
    moments = [HOUR + timedelta(minutes=5), HOUR + timedelta(minutes=59, seconds=59), HOUR + timedelta(hours=1),
               HOUR - timedelta(seconds=1)]
    store.ingest.record([event_of(n) for n in range(4)],
                        [NewDelivery(id=f"dl-{n}", event_id=f"ev-{n}", route="r", connection="c", action="a",
                                     params={}) for n in range(4)], moments)
    with store.database.engine.begin() as db:
        db.execute(insert(attempts), [
            {"delivery_id": f"dl-{n}", "number": 1, "started_at": moment, "duration_ms": 5.0,
             "status_code": 200, "outcome": outcome, "event_time": EVENT_TIME}
            for n, (moment, outcome) in enumerate(zip(moments, ("succeeded", "retry", "succeeded", "failed")))])
    since = HOUR - timedelta(hours=2)
    assert store.browse.events_per_hour(since) == {HOUR - timedelta(hours=1): 1, HOUR: 2, HOUR + timedelta(hours=1): 1}
    assert store.browse.attempts_per_hour(since) == {
        HOUR - timedelta(hours=1): {"failed": 1}, HOUR: {"succeeded": 1, "retry": 1},
        HOUR + timedelta(hours=1): {"succeeded": 1}}
    assert store.browse.events_per_hour(HOUR) == {HOUR: 2, HOUR + timedelta(hours=1): 1}
    assert store.browse.route_matches(datetime(2000, 1, 1, tzinfo=timezone.utc)) == {"r": 4}
    if store.database.is_postgresql:  # sessions in another time zone count in the same UTC hours
        elsewhere = Store(store.url + "?options=-c%20timezone%3DAmerica/New_York")
        with elsewhere.database.engine.connect() as db:
            assert db.execute(text("SHOW timezone")).scalar() == "America/New_York"
        assert elsewhere.browse.events_per_hour(since) == store.browse.events_per_hour(since)
        assert elsewhere.browse.attempts_per_hour(since) == store.browse.attempts_per_hour(since)
        elsewhere.dispose()


def test_a_routes_matches_are_the_deliveries_of_its_busiest_action(store):
    def delivery(number: int, route: str, connection: str, index: int = 0) -> NewDelivery:
        return NewDelivery(id=f"dl-{number}-{route}-{connection}-{index}", event_id=f"ev-{number}", route=route,
                           connection=connection, action="forward", params={})
    planned = [delivery(n, "both", "a") for n in range(5)] + [delivery(n, "both", "b") for n in range(3, 5)]
    planned += [delivery(n, "twice", "a", index) for n in range(2) for index in (0, 1)]
    store.ingest.record([event_of(n) for n in range(5)], planned)
    since = datetime(2000, 1, 1, tzinfo=timezone.utc)
    # "both" gained its action on b after three events; "twice" runs a.forward twice per event
    assert store.browse.route_matches(since, {("twice", "a", "forward"): 2}) == {"both": 5, "twice": 2}
    assert store.browse.route_matches(datetime.now(timezone.utc) + timedelta(minutes=1)) == {}
