"""The metrics' query and fold cost: a year of a million responses, on SQLite and PostgreSQL.

    python -m bench.metrics [--responses 1000000] [--database postgresql://postgres@127.0.0.1:5432/postgres]

Writes the response rows as the take-in does (batches of the upsert), folds them into the
counts, then times the queries: weekly NPS over a year (UTC and Europe/Berlin), daily NPS over
90 days for one source, monthly by form, and an attribute filter through the per-response rows.
Against PostgreSQL it works in a fresh database `cxhub_bench_metrics`, dropped at the end.
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
                     "value": float(score), "form": FORMS[number % len(FORMS)], "customer": f"c{number % 50000}@x.io",
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


def run(url: str, count: int) -> dict[str, float]:
    store = Store(url)
    store.upgrade()
    until = datetime(2026, 12, 1, tzinfo=timezone.utc)
    made = rows(count, until)
    started = time.perf_counter()
    for offset in range(0, len(made), 5000):
        store.metrics.record(made[offset:offset + 5000])
    write_s = time.perf_counter() - started
    started = time.perf_counter()
    folded = store.metrics.fold(batch=5000)
    fold_s = time.perf_counter() - started
    assert folded == count, (folded, count)
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
    }
    figures = {"write rows/s": count / write_s, "fold rows/s": count / fold_s}
    for name, query in queries.items():
        figures[name + " (ms)"], result = timed(lambda query=query: run_query(store.metrics, query))
    total = sum(row.totals.responses for row in run_query(store.metrics, queries["nps weekly, 1 year, UTC"]))
    figures["responses counted in the weekly query"] = total
    store.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--database", help="a PostgreSQL URL (a scratch database is created beside it)")
    options = parser.parse_args()
    if options.database:
        from sqlalchemy import create_engine, text

        from hub.store.engine import normalize_url

        admin = create_engine(normalize_url(options.database), isolation_level="AUTOCOMMIT")
        with admin.connect() as db:
            db.execute(text("DROP DATABASE IF EXISTS cxhub_bench_metrics WITH (FORCE)"))
            db.execute(text("CREATE DATABASE cxhub_bench_metrics"))
        url = options.database.rsplit("/", 1)[0] + "/cxhub_bench_metrics"
        try:
            figures = run(url, options.responses)
        finally:
            with admin.connect() as db:
                db.execute(text("DROP DATABASE IF EXISTS cxhub_bench_metrics WITH (FORCE)"))
            admin.dispose()
    else:
        with tempfile.TemporaryDirectory() as scratch:
            figures = run(f"sqlite:///{Path(scratch) / 'metrics.db'}", options.responses)
    for name, value in figures.items():
        print(f"{name:55s} {value:12,.1f}")


if __name__ == "__main__":
    main()
