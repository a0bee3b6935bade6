"""A worker killed with SIGKILL in the middle of a delivery: the delivery is run again, nothing is lost."""

from __future__ import annotations

import threading

import pytest
from werkzeug import Request, Response

import plugins.webhook as webhook
from hub.testing import wait_for
from tests.conftest import WHSEC, detractor, forward_everything, send
from tests.faults.conftest import kill

pytestmark = pytest.mark.faults
FAST_SWEEPS = "hub: {delivery_lease_seconds: 10, sweep_grace_seconds: 2, sweep_interval_seconds: 0.5}\n"


def test_worker_killed_mid_delivery(make_hub, httpserver, start_process):
    first_attempt_arrived, release = threading.Event(), threading.Event()
    seen: list[str] = []

    def destination(request: Request) -> Response:
        seen.append(request.headers["webhook-id"])
        if len(seen) == 1:  # hold the first attempt open until the worker is dead
            first_attempt_arrived.set()
            release.wait(20)
        return Response("", status=204)

    httpserver.expect_request("/receiver").respond_with_handler(destination)
    hub = make_hub(forward_everything(httpserver.url_for("/receiver")) + FAST_SWEEPS, plugins=[webhook],
                   env={"APP_SECRET": WHSEC})
    config = hub.app.config["CXHUB_CONFIG"]
    worker = start_process("worker", "--config", config, env={"APP_SECRET": WHSEC})

    assert send(hub, detractor()).status_code == 202
    assert first_attempt_arrived.wait(30), worker.log.read_text()
    kill(worker)
    release.set()
    [delivery] = hub.store.reads.deliveries()
    assert delivery.status == "running"  # claimed by the dead worker

    start_process("worker", "--config", config, env={"APP_SECRET": WHSEC})
    wait_for(lambda: hub.store.reads.delivery(delivery.id).status == "succeeded", timeout=40, interval=0.2)
    finished = hub.store.reads.delivery(delivery.id)
    assert finished.attempts == 2
    assert seen == [delivery.id, delivery.id]  # the same idempotency key on both attempts
