"""Micro-benchmark: what telling updates from first events costs the ingest path (`Store.events_about`).

    python -m bench.updates [--database postgresql://postgres@127.0.0.1:5432/postgres] [--events 20000]

Creates a scratch database `cxhub_bench_updates` on that server (dropped at the end; without
--database, a SQLite file in a temporary directory), stores `--events` events, then times, per
batch of 1 and of 100 events about new objects (the hot path: first events), the one lookup
`take_in` adds and the `Store.record` it precedes. Prints medians in milliseconds.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Callable

from sqlalchemy import create_engine, text

from hub.events.canonical import build_event
from hub.plugin.types import EventDraft, Link
from hub.routing.objects import subjects_by_source
from hub.store import Store

SCRATCH = "cxhub_bench_updates"


def events(count: int, prefix: str) -> list[dict[str, Any]]:
    moment = datetime.now(timezone.utc)
    return [build_event("survey", EventDraft(type="cx.survey.response", vendor_event_id=f"{prefix}-{n}", time=moment,
                                             link=Link(system="bench", id=f"{prefix}-{n}"))) for n in range(count)]


def median_ms(work: Callable[[int], None], rounds: int) -> float:
    timings = []
    for number in range(rounds):
        started = time.perf_counter()
        work(number)
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="a PostgreSQL server URL (default: SQLite in a temporary directory)")
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=200)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{scratch}/bench.db"
        admin = None
        if arguments.database:
            admin = create_engine(arguments.database, isolation_level="AUTOCOMMIT")
            with admin.connect() as db:
                db.execute(text(f"DROP DATABASE IF EXISTS {SCRATCH}"))
                db.execute(text(f"CREATE DATABASE {SCRATCH}"))
            url = arguments.database.rsplit("/", 1)[0] + f"/{SCRATCH}"
        store = Store(url)
        try:
            for start in range(0, arguments.events, 1000):
                store.record(events(min(1000, arguments.events - start), f"old{start}"), [])
            for size in (1, 100):
                batches = [events(size, f"new{size}-{n}-{uuid.uuid4().hex[:6]}") for n in range(arguments.rounds)]
                lookup = median_ms(lambda n: store.ingest.events_about(subjects_by_source(batches[n])), arguments.rounds)
                record = median_ms(lambda n: store.record(batches[n], []), arguments.rounds)
                print(f"batch of {size:>3}: lookup {lookup:.3f} ms, record {record:.3f} ms "
                      f"(lookup = {lookup / record:.0%} of record) on {store.engine.dialect.name}, "
                      f"{arguments.events} events stored")
        finally:
            store.dispose()
            if admin is not None:
                with admin.connect() as db:
                    db.execute(text(f"DROP DATABASE IF EXISTS {SCRATCH}"))
                admin.dispose()


if __name__ == "__main__":
    main()
