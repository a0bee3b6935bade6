"""A destination down for longer than the whole retry schedule, with a real worker process:
without a breaker every delivery is dead-lettered and one bulk redeliver delivers them all;
with the breaker the connection is paused instead, and everything flows once it is back."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import pytest
from werkzeug import Request, Response

import plugins.webhook as webhook
from hub.delivery.gate import breaker_key
from hub.testing import wait_for
from tests.conftest import WHSEC, detractor, forward_everything, send

pytestmark = pytest.mark.faults
EVENTS = 6


class Destination:
    """Answers 503 while down; counts, per webhook-id, the messages it accepted."""

    def __init__(self) -> None:
        self.up = False
        self.accepted: Counter[str] = Counter()
        self.refused = 0

    def __call__(self, request: Request) -> Response:
        if not self.up:
            self.refused += 1
            return Response("down for maintenance", status=503)
        self.accepted[request.headers["webhook-id"]] += 1
        return Response("", status=204)


@pytest.fixture
def destination(httpserver):
    handler = Destination()
    httpserver.expect_request("/receiver").respond_with_handler(handler)
    return handler


def statuses(hub) -> Counter[str]:
    return Counter(d.status for d in hub.store.reads.deliveries(limit=1000))


def test_dead_letters_then_bulk_redeliver(make_hub, httpserver, destination, start_process):
    config = forward_everything(httpserver.url_for("/receiver"), attempts=3).replace(
        "initial_delay: 0, max_delay: 0", "initial_delay: 0.2, max_delay: 0.5")
    hub = make_hub(config, plugins=[webhook], env={"APP_SECRET": WHSEC})
    for number in range(EVENTS):
        assert send(hub, detractor(response_id=number), msg_id=f"msg_{number}").status_code == 202
    start_process("worker", "--config", hub.app.config["CXHUB_CONFIG"], env={"APP_SECRET": WHSEC})
    wait_for(lambda: statuses(hub) == {"dead": EVENTS}, timeout=40, interval=0.2)
    assert destination.refused == 3 * EVENTS

    destination.up = True
    redeliver = subprocess.run([sys.executable, "-m", "hub.cli", "redeliver", "--all-dead", "--connection", "out",
                                "--config", hub.app.config["CXHUB_CONFIG"]], capture_output=True, text=True,
                               env=start_process.environment({"APP_SECRET": WHSEC}), timeout=60)
    assert f"{EVENTS} dead-lettered deliveries match" in redeliver.stdout, redeliver.stderr
    wait_for(lambda: statuses(hub) == {"succeeded": EVENTS}, timeout=40, interval=0.2)
    assert sorted(destination.accepted) == sorted(d.id for d in hub.store.reads.deliveries(limit=1000))
    assert set(destination.accepted.values()) == {1}  # lost: 0, duplicates: 0


def test_breaker_pauses_the_connection_and_resumes_without_losing_anything(make_hub, httpserver, destination,
                                                                            start_process):
    config = forward_everything(httpserver.url_for("/receiver"), attempts=5, breaker=3).replace(
        "failure_threshold: 3}", "failure_threshold: 3, pause_seconds: 2}")
    hub = make_hub(config, plugins=[webhook], env={"APP_SECRET": WHSEC})
    for number in range(EVENTS):
        assert send(hub, detractor(response_id=number), msg_id=f"msg_{number}").status_code == 202
    start_process("worker", "--config", hub.app.config["CXHUB_CONFIG"], env={"APP_SECRET": WHSEC})
    key = breaker_key("cxhub", "out")
    wait_for(lambda: hub.hub.redis.hget(key, "open_until"), timeout=20)
    refused_when_paused = destination.refused
    assert refused_when_paused <= 3 + 2  # the threshold, plus attempts already under way

    destination.up = True
    wait_for(lambda: statuses(hub) == {"succeeded": EVENTS}, timeout=40, interval=0.2)
    assert sorted(destination.accepted) == sorted(d.id for d in hub.store.reads.deliveries(limit=1000))
    assert set(destination.accepted.values()) == {1}
    assert not hub.hub.redis.exists(key), hub.hub.redis.hgetall(key)  # resumed
    attempts = sum(d.attempts for d in hub.store.reads.deliveries(limit=1000))
    assert attempts == destination.refused + EVENTS  # a paused delivery spends no attempt
