"""Two resolvers, each with its own database connections, attach events of the same new customer at
the same moment: one profile comes out, whatever the interleaving (SQLite here; PostgreSQL with
CXHUB_TEST_DATABASE_URL). Run through the resolver's own code, past the Redis lock that would
otherwise keep them apart, as two worker processes would be if the lock expired."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import orjson
import pytest

from hub.config.model import CustomersConfig
from hub.events.canonical import build_event
from hub.plugin.types import Customer, EventDraft, Link
from hub.profiles.identity import Rules, namespaces_for
from hub.profiles.resolver import identity_of
from hub.store import Store
from hub.store.rows import PendingEvent

ROUNDS = 12
RESOLVERS = 4
RULES = Rules(CustomersConfig(), namespaces_for(CustomersConfig(), {}))


def draft(number: int, customer: Customer) -> dict:
    moment = datetime(2026, 11, 20, tzinfo=timezone.utc) + timedelta(seconds=number)
    return build_event("app", EventDraft(type="cx.survey.response", vendor_event_id=f"v{number}", time=moment,
                                         link=Link(system="app", id=f"r{number}"), customer=customer))


def default_limit(kind: str) -> int:
    return 5 if kind == "email" else 1


@pytest.fixture
def stores(make_hub):
    hub = make_hub("sources: {}")  # a migrated database; each resolver below gets its own engine
    opened = [Store(hub.store.url) for _ in range(RESOLVERS)]
    yield hub.store, opened
    for store in opened:
        store.dispose()


def race(stores: list[Store], batches: list[list[dict]], limit=default_limit) -> None:
    """Each store resolves its own batch of stored events, all starting at the same moment."""
    start = threading.Barrier(len(batches))
    errors: list[BaseException] = []

    def resolve(store: Store, events: list[dict]) -> None:
        items = [identity_of(RULES, PendingEvent(event["id"], "app", orjson.dumps(event).decode())) for event in events]
        start.wait()
        try:
            store.profiles.resolve(items, limit)
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=resolve, args=pair) for pair in zip(stores, batches)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors


def test_simultaneous_events_of_one_new_customer_make_one_profile(stores):
    main, resolvers = stores
    number = 0
    for round_ in range(ROUNDS):
        batches = []
        for resolver in range(RESOLVERS):
            number += 1
            # every event names the customer's email; every other one adds her app id
            customer = Customer(email=f"c{round_}@example.com", id=f"u{round_}" if resolver % 2 else None)
            batches.append([draft(number, customer)])
        main.ingest.record([event for batch in batches for event in batch], [])
        race(resolvers, batches)
        view = main.profiles.view(main.profiles.owner("email", f"c{round_}@example.com"))
        assert view is not None and view.events == RESOLVERS, f"round {round_}"
        assert len(view.members) == 1, f"round {round_}: {view.members}"
        assert {(row.kind, row.value) for row in view.identifiers} == {
            ("email", f"c{round_}@example.com"), ("app", f"u{round_}")}
    assert main.profiles.count_pending() == {"pending": 0, "failed": 0}


def test_simultaneous_events_cannot_take_a_profile_past_its_cap(stores):
    """Four events bring four new emails to one customer at once; a cap of two holds."""
    main, resolvers = stores
    first = draft(0, Customer(id="u1"))
    main.ingest.record([first], [])
    race(resolvers[:1], [[first]])
    batches = [[draft(n, Customer(id="u1", email=f"e{n}@example.com"))] for n in range(1, RESOLVERS + 1)]
    main.ingest.record([event for batch in batches for event in batch], [])
    race(resolvers, batches, limit=lambda kind: 2 if kind == "email" else 1)
    view = main.profiles.view(main.profiles.owner("app", "u1"))
    assert len([row for row in view.identifiers if row.kind == "email"]) == 2
    assert view.events == RESOLVERS + 1  # every event is still attached to her
