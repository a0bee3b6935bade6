"""`python -m bench [--quick] [--only SCENARIO ...] [--out FILE]`: run, print the table, write JSON."""

from __future__ import annotations

import argparse
import atexit
import os
import platform
import signal
import sys
import tempfile
import time
from pathlib import Path

import orjson

from bench.load import have_wrk
from bench.processes import Processes
from bench.report import table
from bench.scenarios import ALL, Scenarios, Settings
from bench.stack import Stack


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short runs (about 2 minutes in all)")
    parser.add_argument("--only", nargs="+", choices=list(ALL), help="run only these scenarios")
    parser.add_argument("--out", default="bench-results.json", help="where to write the JSON results")
    parser.add_argument("--redis-url", help="use this Redis instead of starting one")
    parser.add_argument("--database-url", help="use this database instead of a fresh one")
    parser.add_argument("--rate", type=float, help="hold end_to_end at this many events/s (default: the highest it sustains)")
    parser.add_argument("--costs-rate", type=float, help="events/s of the costs scenario's run (default 60)")
    parser.add_argument("--accept-into", choices=["database", "redis"], default="redis",
                        help="the hub's accept_into in end_to_end and recovery")
    options = parser.parse_args()
    settings = Settings(seconds=5, deliveries=2000, memory_events=5000, sustain_seconds=20, recovery_seconds=30,
                        feature_events=300, costs_events=1000) if options.quick else \
        Settings(seconds=15, deliveries=6000, memory_events=100_000)
    settings.end_to_end_rate, settings.accept_into = options.rate, options.accept_into
    settings.costs_rate = options.costs_rate or settings.costs_rate

    workdir = Path(tempfile.mkdtemp(prefix="cxhub-bench-"))
    processes = Processes(workdir)
    atexit.register(processes.stop_all)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    stack = Stack(processes, workdir)
    scenarios = Scenarios(stack, settings)
    began = time.monotonic()
    try:
        stack.start_backends(options.redis_url, options.database_url)
        print(f"backends: {stack.redis_url} and {stack.database_url.split('@')[-1]}; load: "
              f"{'wrk' if have_wrk() else 'python threads (install wrk for reference figures)'}; logs in {workdir}",
              flush=True)
        for name in options.only or list(ALL):
            print(f"... {name}", flush=True)
            ALL[name](scenarios)
            Path(options.out).write_bytes(orjson.dumps(scenarios.results, option=orjson.OPT_INDENT_2))  # so far
    finally:
        processes.stop_all()
        stack.close()
    results = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                           "database": stack.database_url.split("://")[0], "quick": options.quick},
               "seconds": round(time.monotonic() - began), **scenarios.results}
    Path(options.out).write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    print(table(scenarios.results))
    print(f"results written to {options.out} ({results['seconds']} s)")


if __name__ == "__main__":
    main()
