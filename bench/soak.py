"""The soak: `python -m bench.soak [--events 3000] [--workers 2] [--accept-into redis]`.

Pushes thousands of distinct signed Typeform events (and some resends) through the hub under
gunicorn, with `cxhub worker` processes, into flaky destinations (random 500s, slow answers,
and stalls past the timeout after having acted). When every delivery has finished it makes the
destinations healthy, redelivers what was dead-lettered, and prints the reconciliation: nothing
accepted may be lost, and no ticket may exist twice. Exits 1 if either happens.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable

import orjson
import requests
from sqlalchemy import func, select

from bench.payloads import signed
from bench.processes import Processes, free_port
from bench.stack import PROJECT, Stack
from hub.store.tables import attempts, deliveries, events
from hub.testing import wait_for

TIMEOUT = 1.0
DETRACTOR_SCORES = range(0, 7)  # payload numbers n have score n % 11


def soak_config(flaky: str, accept_into: str) -> dict:
    retry = {"max_attempts": 8, "initial_delay": 0.2, "max_delay": 2}
    breaker = {"failure_threshold": 8, "pause_seconds": 2}
    return {
        "hub": {"sweep_grace_seconds": 30, "sweep_interval_seconds": 5, "accept_into": accept_into},
        "sources": {"typeform": {"plugin": "typeform", "settings": {"secret": {"$env": "BENCH_TYPEFORM_SECRET"}}}},
        "connections": {
            "jira": {"plugin": "jira", "timeout": TIMEOUT, "retry": retry, "circuit_breaker": breaker,
                     "settings": {"base_url": flaky, "email": "soak@example.com", "api_token": {"$env": "SOAK_JIRA_TOKEN"}}},
            "forward": {"plugin": "webhook", "timeout": TIMEOUT, "retry": retry, "circuit_breaker": breaker,
                        "settings": {"url": flaky + "/hook", "secret": {"$env": "BENCH_FORWARD_SECRET"}}},
        },
        "routes": [
            {"name": "detractors", "when": {"field": "data.score.band", "equals": "negative"},
             "actions": [{"connection": "jira", "action": "create_issue",
                          "params": {"project": "CX", "summary": "{{ data.customer.email }} scored {{ data.score.value }}",
                                     "description": "{{ data.text }}"}}]},
            {"name": "everything", "actions": [{"connection": "forward", "action": "forward"}]},
        ],
    }


def send_all(url: str, count: int, resend_every: int, halfway: Callable[[], None]) -> Counter[str]:
    """POST every event once (and every `resend_every`-th twice, as vendors do); count the answers.

    `halfway` runs once half the events are sent (it starts the destinations' outage).
    """
    answers: Counter[str] = Counter()
    lock = threading.Lock()

    def post(offset: int) -> None:
        session = requests.Session()
        for number in range(offset, count, 8):
            sig, body = next(signed(number, 1))
            if number == count // 2:
                halfway()
            for _ in range(2 if number % resend_every == 0 else 1):
                status = session.post(url + "/hooks/typeform", data=body, timeout=30, headers={
                    "Content-Type": "application/json", "Typeform-Signature": sig}).status_code
                with lock:
                    answers[str(status)] += 1

    threads = [threading.Thread(target=post, args=(offset,)) for offset in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def tally(stack: Stack, column: Any) -> Counter[str]:
    """Rows of the hub's store counted by one column's values (delivery statuses, attempt outcomes)."""
    with stack.engine.connect() as db:
        return Counter(dict(db.execute(select(column, func.count()).group_by(column)).all()))


def settled(stack: Stack) -> bool:
    """Every delivery finished, and nothing left in the intake log (`accept_into: redis`) to store."""
    statuses = tally(stack, deliveries.c.status)
    return (sum(statuses.values()) > 0 and set(statuses) <= {"succeeded", "dead"}
            and stack.redis.xlen(stack.intake_key) == 0)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--outage", type=float, default=20, help="seconds both destinations are down, from halfway")
    parser.add_argument("--accept-into", choices=["database", "redis"], default="database",
                        help="where a webhook is durable before its 202 (hub.accept_into)")
    parser.add_argument("--redis-url")
    parser.add_argument("--database-url")
    options = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="cxhub-soak-"))
    processes = Processes(workdir)
    stack = Stack(processes, workdir)
    began = time.monotonic()
    try:
        stack.start_backends(options.redis_url, options.database_url)
        port = free_port()
        processes.start("flaky", [sys.executable, "-m", "bench.flaky", str(port), str(TIMEOUT)], port=port,
                        cwd=str(PROJECT))
        flaky = f"http://127.0.0.1:{port}"
        stack.configure([])
        Path(stack.env["CXHUB_CONFIG"]).write_bytes(orjson.dumps(soak_config(flaky, options.accept_into)))
        stack.env["SOAK_JIRA_TOKEN"] = "soak-jira-token"
        url, _ = stack.start_web()
        stack.start_workers(options.workers)
        resend_every = 50
        answers = send_all(url, options.events, resend_every, lambda: requests.post(
            f"{flaky}/outage?seconds={options.outage}", timeout=5))
        wait_for(lambda: settled(stack), 1800, what="every delivery succeeded or dead")
        dead_before = tally(stack, deliveries.c.status)["dead"]
        first_pass = tally(stack, attempts.c.outcome)
        requests.post(flaky + "/healthy", timeout=5)
        redeliver = subprocess.run([sys.executable, "-m", "hub.cli", "redeliver", "--all-dead"], env={
            **os.environ, **stack.env}, cwd=str(PROJECT), capture_output=True, text=True, timeout=300)
        wait_for(lambda: settled(stack), 600, what="redelivered deliveries finished")
        report(options.events, resend_every, answers, stack, dead_before, first_pass,
               requests.get(flaky, timeout=5).json(), redeliver.stdout.splitlines()[:1], time.monotonic() - began)
    finally:
        processes.stop_all()


def report(sent: int, resend_every: int, answers: Counter[str], stack: Stack, dead_before: int,
           first_pass: Counter[str], destinations: dict, redeliver: list[str], seconds: float) -> None:
    detractors = sum(1 for n in range(sent) if n % 11 in DETRACTOR_SCORES)
    expected = sent + detractors  # every event forwarded; detractors also become a Jira issue
    statuses = tally(stack, deliveries.c.status)
    delivered, dead = statuses["succeeded"], statuses["dead"]
    pending = sum(statuses.values()) - delivered - dead
    lost = expected - delivered - dead - pending
    rows = [
        ("events sent (distinct)", sent), ("resends of the same event", len(range(0, sent, resend_every))),
        ("answered 202 / 200 (resend) / other", f"{answers['202']} / {answers['200']} / "
                                                f"{sum(answers.values()) - answers['202'] - answers['200']}"),
        ("events stored", stack.count(events)),
        ("deliveries expected (forward + Jira for detractors)", f"{expected} ({sent} + {detractors})"),
        ("deliveries stored", sum(statuses.values())),
        ("dead-lettered before redelivery", dead_before),
        ("attempts in the flaky phase: succeeded / retry / failed",
         f"{first_pass['succeeded']} / {first_pass['retry']} / {first_pass['failed']}"),
        ("redelivery", " ".join(redeliver) or "-"),
        ("delivered", delivered), ("dead-lettered at the end", dead), ("still pending", pending),
        ("LOST (expected - delivered - dead - pending)", lost),
        ("destination answers: ok / 500 / slow / stalled after acting",
         " / ".join(str(destinations["outcomes"].get(k, 0)) for k in ("ok", "fail", "slow", "stall"))),
        ("destination answers during the outage (503)", destinations["outcomes"].get("down", 0)),
        ("Jira issues created", destinations["issues"]), ("DUPLICATE TICKETS (labels on >1 issue)",
                                                          destinations["duplicate_tickets"]),
        ("webhook messages received / distinct webhook-ids", f"{destinations['received']} / "
                                                             f"{destinations['webhook_ids']}"),
        ("redundant receipts (same webhook-id again; consumers dedupe)", destinations["redundant_receipts"]),
        ("duration", f"{seconds:.0f} s"),
    ]
    print("| what | count |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    sys.exit(1 if lost or destinations["duplicate_tickets"] or destinations["webhook_ids"] != sent else 0)


if __name__ == "__main__":
    main()
