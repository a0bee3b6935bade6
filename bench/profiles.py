"""Micro-benchmark: how fast the resolver attaches stored events to customer profiles.

    python -m bench.profiles [--database postgresql://postgres@127.0.0.1:5432/postgres] [--events 20000]

Creates a scratch database `cxhub_bench_profiles` on that server (dropped at the end; without
--database, a SQLite file in a temporary directory), stores `--events` events of `--customers`
customers (each with an email and a Zendesk-style id, a quarter of them adding a second
email), then attaches them the way the worker's resolver thread does, in batches of 200, and
prints events per second. Ingest is not timed: take-in is unchanged (the state is a column default).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import create_engine, text

from hub.config.model import CustomersConfig
from hub.events.canonical import build_event
from hub.plugin.types import Customer, EventDraft, Link, Score
from hub.profiles.identity import Rules, namespaces_for
from hub.profiles.resolver import BATCH, identity_of
from hub.store import Store

SCRATCH = "cxhub_bench_profiles"


def events(count: int, customers: int) -> list[dict[str, Any]]:
    moment = datetime(2026, 11, 1, tzinfo=timezone.utc)
    made = []
    for n in range(count):
        who = n % customers
        email = f"c{who}@example.com" if n % 4 else f"c{who}.alt@example.com"
        made.append(build_event("support", EventDraft(
            type="cx.survey.response", vendor_event_id=f"e{n}", time=moment + timedelta(seconds=n),
            link=Link(system="bench", id=f"r{n}"), customer=Customer(id=str(1000000 + who), email=email),
            score=Score.nps(n % 11))))
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="a PostgreSQL server URL (default: SQLite in a temporary directory)")
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--customers", type=int, default=5000)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        url, admin = f"sqlite:///{scratch}/bench.db", None
        if arguments.database:
            admin = create_engine(arguments.database, isolation_level="AUTOCOMMIT")
            with admin.connect() as db:
                db.execute(text(f"DROP DATABASE IF EXISTS {SCRATCH}"))
                db.execute(text(f"CREATE DATABASE {SCRATCH}"))
            url = arguments.database.rsplit("/", 1)[0] + f"/{SCRATCH}"
        store = Store(url)
        try:
            made = events(arguments.events, arguments.customers)
            for start in range(0, len(made), 1000):
                store.ingest.record(made[start:start + 1000], [])
            rules = Rules(CustomersConfig(), namespaces_for(CustomersConfig(), {"support": "zendesk"}))
            limit = CustomersConfig().limit
            started = time.perf_counter()
            while rows := store.profiles.pending(BATCH):
                store.profiles.resolve([identity_of(rules, row) for row in rows], limit)
            elapsed = time.perf_counter() - started
            print(f"{arguments.events} events of {arguments.customers} customers attached in {elapsed:.2f} s: "
                  f"{arguments.events / elapsed:,.0f} events/s on {store.database.engine.dialect.name} "
                  f"(batches of {BATCH}, one process)")
            sample = store.profiles.view(store.profiles.owner("email", "c1@example.com") or "")
            assert sample is not None and sample.events == arguments.events // arguments.customers
        finally:
            store.dispose()
            if admin is not None:
                with admin.connect() as db:
                    db.execute(text(f"DROP DATABASE IF EXISTS {SCRATCH} WITH (FORCE)"))
                admin.dispose()


if __name__ == "__main__":
    main()
