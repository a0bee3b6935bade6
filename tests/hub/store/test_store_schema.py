"""hub/store/schema.py: migrations upgrade a store made by the previous release, with its data intact.

The previous release made its tables with create_all and kept no revision (tests/hub/store/legacy.py).
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic import command
from sqlalchemy import Column, func, insert, inspect, select, text

from hub.store import Store, StoreUnavailable
from hub.store.engine import make_engine
from hub.store.partitions import Month, not_a_partition
from hub.store.quarantine import request_digest
from hub.store.schema import BASELINE, alembic_config, current, head, upgrade
from hub.store.tables import attempts, created_objects, deliveries, enrichments, events, metadata
from tests.hub.store.legacy import ATTEMPTS, DELIVERIES, EVENT, QUARANTINE, legacy_store


def rows(engine, table: str, *, as_stored: bool = False) -> list[dict]:
    """A table's rows by id: every column of the models', or (`as_stored`) of the table as the database has it."""
    with engine.connect() as db:
        found = (db.execute(text(f"SELECT * FROM {table} ORDER BY id")) if as_stored else
                 db.execute(select(metadata.tables[table]).order_by(metadata.tables[table].c.id))).mappings()
        return [{key: value.replace(tzinfo=timezone.utc) if isinstance(value, datetime) and not value.tzinfo
                 else value for key, value in row.items()} for row in found]


def test_a_store_from_the_previous_release_is_upgraded_with_its_data_intact(empty_database_url):
    legacy_store(empty_database_url)
    engine = make_engine(empty_database_url)
    assert current(engine) is None
    upgrade(engine)
    assert current(engine) == head() != BASELINE
    # 0006: no event follows another up yet; 0010: events kept from before profiles existed wait
    # for the resolver to attach them (hub/profiles); 0012: no request was kept before
    assert rows(engine, "events") == [{**EVENT, "origin_event_id": None, "profile_id": None,
                                       "profile_state": "pending", "request_id": None}]
    # 0013 added digest_id, 0016 once (no once_per yet), 0018 event_time (the event's)
    assert rows(engine, "deliveries") == [{**row, "digest_id": None, "once": None, "event_time": EVENT["time"]}
                                          for row in DELIVERIES]
    assert rows(engine, "attempts") == [{**row, "event_time": EVENT["time"]} for row in ATTEMPTS]
    assert inspect(engine).has_table("created_objects")
    assert inspect(engine).has_table("once_keys") and inspect(engine).has_table("cases")
    kept = rows(engine, "quarantine")
    assert [{key: value for key, value in row.items() if key != "digest"} for row in kept] == QUARANTINE
    same, other = (request_digest("app", "POST", "application/json", {"a": "1", "b": "2"}, body)
                   for body in (b'{"same": 1}', b'{"other": 2}'))
    assert [row["digest"] for row in kept] == [same, None, other]  # the first of two identical ones has it
    assert inspect(engine).has_table("quarantine_dropped")
    engine.dispose()


SPREAD = (datetime(2024, 11, 3, 8, 0, tzinfo=timezone.utc), datetime(2025, 6, 30, 23, 59, 59, tzinfo=timezone.utc),
          datetime(2025, 7, 1, tzinfo=timezone.utc))  # months apart, and either side of a month's end


def test_upgrading_to_0018_keeps_every_row_each_in_its_events_month(empty_database_url):
    engine = make_engine(empty_database_url)
    with engine.begin() as db:
        command.upgrade(alembic_config(db), "0017_metric_indexes")
        at = datetime(2026, 11, 1, tzinfo=timezone.utc)
        db.execute(insert(events), [{"id": f"ev-{n}", "source": "app", "type": "cx.review.created",
                                     "vendor_event_id": f"v-{n}", "subject": f"s-{n}", "time": time,
                                     "received_at": at, "body": "{}"} for n, time in enumerate(SPREAD)])
        db.execute(insert(deliveries), [{"id": f"dl-{n}-{k}", "event_id": f"ev-{n}", "route": "r", "connection": "c",
                                         "action": "a", "params": "{}", "status": "succeeded", "attempts": 1,
                                         "budget_start": 0, "created_at": at, "updated_at": at}
                                        for n in range(len(SPREAD)) for k in range(2)])
        db.execute(insert(attempts), [{"delivery_id": f"dl-{n}-{k}", "number": 1, "started_at": at, "duration_ms": 1.0,
                                       "outcome": "succeeded"} for n in range(len(SPREAD)) for k in range(2)])
        db.execute(insert(created_objects), {"system": "crm", "object_id": "o-1", "delivery_id": "dl-0-0",
                                             "event_id": "ev-0", "created_at": at})
        db.execute(insert(enrichments), {"event_id": "ev-1", "source": "app", "status": "done", "attempts": 1,
                                         "budget_start": 0, "created_at": at, "updated_at": at})
    before = {table: rows(engine, table, as_stored=True) for table in ("events", "deliveries", "attempts")}
    upgrade(engine)
    time_of = {row["id"]: row["time"] for row in before["events"]}
    event_of = {row["id"]: row["event_id"] for row in before["deliveries"]}
    assert rows(engine, "events", as_stored=True) == before["events"]
    assert rows(engine, "deliveries", as_stored=True) == [{**row, "event_time": time_of[row["event_id"]]}
                                                          for row in before["deliveries"]]
    assert rows(engine, "attempts", as_stored=True) == [
        {**row, "event_time": time_of[event_of[row["delivery_id"]]]} for row in before["attempts"]]
    with engine.begin() as db:
        assert [db.execute(select(func.count()).select_from(table)).scalar_one()
                for table in (created_objects, enrichments)] == [1, 1]
        if engine.dialect.name == "postgresql":  # each row in its month's partitions, none in DEFAULT
            def held(name: str) -> int:
                return db.execute(text(f"SELECT count(*) FROM {name}")).scalar_one()

            for month in map(Month.of, SPREAD):  # an event, its two deliveries and their attempts
                assert [held(month.name(table)) for table in ("events", "deliveries", "attempts")] == [1, 2, 2]
            assert [held(f"{table}_default") for table in ("events", "deliveries", "attempts")] == [0, 0, 0]
            assert db.execute(text("SELECT to_regclass('events_p2025_01') IS NULL")).scalar_one()  # no events in it
            number = db.execute(insert(attempts).values(delivery_id="dl-2-0", number=2, started_at=at, duration_ms=1.0,
                                                        outcome="succeeded", event_time=SPREAD[2])
                                .returning(attempts.c.id)).scalar_one()
            assert number == max(row["id"] for row in before["attempts"]) + 1  # the ids' sequence continues
    engine.dispose()


def test_an_upgraded_legacy_store_dedupes_against_what_it_kept(empty_database_url):
    legacy_store(empty_database_url)
    store = Store(empty_database_url)
    again = store.quarantine.keep(source="app", method="POST", content_type="application/json", headers={},
                                  query={"a": "1", "b": "2"}, body=b'{"same": 1}', error="again", max_rows=10)
    assert again == "q-1"
    assert store.reads.event("ev-1").customer_email == "ann@example.com"
    store.dispose()


def made_by_partitioning(difference) -> bool:
    """What 0018 makes differ on PostgreSQL: event_time NOT NULL, and foreign keys into the partitioned tables.

    A partitioned table's unique keys hold its partition key, so deliveries and attempts
    reference (id, time) and (id, event_time), and nothing references events or deliveries by id alone.
    """
    first = difference[0] if isinstance(difference, list) else difference
    if first[0] == "modify_nullable":
        return first[2] in ("deliveries", "attempts") and first[3] == "event_time"
    if first[0] in ("add_fk", "remove_fk"):
        referred = {element.target_fullname.split(".")[0] for element in first[1].elements}
        return all(name.startswith(("events", "deliveries")) for name in referred)
    return False


@pytest.mark.filterwarnings("ignore:.*expression-based index:UserWarning",
                            "ignore:.*expression-based index:sqlalchemy.exc.SAWarning")
def test_the_models_and_the_head_migration_agree(empty_database_url):
    """A change to hub/store/tables.py without a migration fails here (expression indexes: by name)."""
    engine = make_engine(empty_database_url)
    upgrade(engine)
    with engine.connect() as db:
        differences = compare_metadata(MigrationContext.configure(
            db, opts={"compare_type": True, "include_name": not_a_partition}), metadata)
        listed = ("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
                  if engine.dialect.name == "postgresql" else "SELECT name FROM sqlite_master WHERE type = 'index'")
        names = set(db.execute(text(listed)).scalars())
    engine.dispose()
    if engine.dialect.name == "postgresql":
        differences = [item for item in differences if not made_by_partitioning(item)]
    assert differences == []
    expressions = {index.name for table in metadata.tables.values() for index in table.indexes
                   if any(not isinstance(part, Column) for part in index.expressions)}
    assert expressions == {"ix_events_customer_email_lower"} and expressions <= names


def test_upgrading_a_database_at_the_head_changes_nothing(empty_database_url):
    engine = make_engine(empty_database_url)
    upgrade(engine)
    upgrade(engine)
    assert current(engine) == head()
    engine.dispose()


def test_processes_starting_together_upgrade_once(empty_database_url):
    """Without the lock, the second one creates tables that already exist and fails."""
    errors: list[BaseException] = []

    def start() -> None:
        store = Store(empty_database_url)
        try:
            store.upgrade()
        except BaseException as error:  # collected: a thread's exception would be lost
            errors.append(error)
        finally:
            store.dispose()

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)  # a guard against a deadlock, not a measurement
    assert errors == [] and not any(thread.is_alive() for thread in threads)
    engine = make_engine(empty_database_url)
    assert current(engine) == head()
    engine.dispose()


def test_a_store_whose_database_is_down_at_first_upgrades_once_it_is_back(tmp_path):
    folder = tmp_path / "not-yet"  # SQLite cannot open a file in a folder that does not exist: the database is down
    store = Store(f"sqlite:///{folder / 'cxhub.db'}")
    with pytest.raises(StoreUnavailable):
        store.upgrade()
    with pytest.raises(StoreUnavailable):
        store.reads.events()
    folder.mkdir()
    assert store.reads.events() == []  # the first use after it is back upgrades
    assert current(store.database.engine) == head()
    store.dispose()
