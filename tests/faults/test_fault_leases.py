"""Renewed leases across real worker processes: a killed worker's batch is retried within seconds, and a
slow delivery whose worker lives keeps its claim however long the destination takes."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from werkzeug import Request, Response

import plugins.webhook as webhook
from hub.testing import wait_for
from tests.conftest import WHSEC, detractor, forward_everything, send
from tests.faults.conftest import kill

pytestmark = pytest.mark.faults
# A short lease, a sweeper that looks often, and a grace period so long that only an expired lease
# (not a queued delivery's stall) can bring a delivery back within these tests.
LEASES = "hub: {delivery_lease_seconds: 3, sweep_grace_seconds: 600, sweep_interval_seconds: 0.5}\n"


def held_destination(httpserver, hold_at: int, seconds: float) -> tuple[list[str], threading.Event, threading.Event]:
    """A receiver that records each webhook-id and holds the `hold_at`-th request open up to `seconds`."""
    seen: list[str] = []
    arrived, release = threading.Event(), threading.Event()

    def destination(request: Request) -> Response:
        seen.append(request.headers["webhook-id"])
        if len(seen) == hold_at:
            arrived.set()
            release.wait(seconds)
        return Response("", status=204)

    httpserver.expect_request("/receiver").respond_with_handler(destination)
    return seen, arrived, release


def test_a_worker_killed_mid_batch_has_its_claims_retried_within_seconds(make_hub, httpserver, start_process):
    seen, arrived, release = held_destination(httpserver, hold_at=2, seconds=30)
    one_thread = LEASES.replace("hub: {", "hub: {worker_threads: 1, ")  # one attempt in flight at the kill
    hub = make_hub(forward_everything(httpserver.url_for("/receiver")) + one_thread, plugins=[webhook],
                   env={"APP_SECRET": WHSEC})
    for number in range(8):  # queued before any worker runs, so the second job takes them as a batch
        assert send(hub, detractor(response_id=2000 + number), msg_id=f"msg_{number}").status_code == 202
    config = hub.app.config["CXHUB_CONFIG"]
    worker = start_process("worker", "--config", config, env={"APP_SECRET": WHSEC})
    assert arrived.wait(60), worker.log.read_text()
    running = [row.id for row in hub.store.reads.deliveries() if row.status == "running"]
    assert len(running) == 7  # the batch the held attempt belongs to: all but the first job's delivery
    kill(worker)
    release.set()

    start_process("worker", "--config", config, env={"APP_SECRET": WHSEC})
    wait_for(lambda: all(row.status == "succeeded" for row in hub.store.reads.deliveries()), timeout=60,
             interval=0.2, what="the dead worker's claims retried past their lease")
    rows = {row.id: row for row in hub.store.reads.deliveries()}
    counts = Counter(seen)
    assert set(counts) == set(rows)
    [twice] = [delivery_id for delivery_id, count in counts.items() if count == 2]  # the attempt cut off
    assert twice in running and rows[twice].attempts == 2
    assert all(count == 1 for delivery_id, count in counts.items() if delivery_id != twice)


def test_a_slow_delivery_keeps_its_claim_while_its_worker_lives(make_hub, httpserver, start_process):
    seen, arrived, release = held_destination(httpserver, hold_at=1, seconds=9)  # three leases long
    hub = make_hub(forward_everything(httpserver.url_for("/receiver")).replace(
        "    circuit_breaker:", "    timeout: 30\n    circuit_breaker:") + LEASES,
        plugins=[webhook], env={"APP_SECRET": WHSEC})
    config = hub.app.config["CXHUB_CONFIG"]
    workers = [start_process("worker", "--config", config, env={"APP_SECRET": WHSEC}) for _ in range(2)]
    assert send(hub, detractor()).status_code == 202
    assert arrived.wait(60), workers[0].log.read_text()
    [delivery] = hub.store.reads.deliveries()
    wait_for(lambda: hub.store.reads.delivery(delivery.id).status == "succeeded", timeout=60, interval=0.2)
    finished = hub.store.reads.delivery(delivery.id)
    assert (finished.attempts, seen) == (1, [delivery.id])  # never swept, never sent twice
