"""Two real `cxhub worker` processes sharing one connection's OAuth token and its pace through Redis.

The receiver and the token endpoint are real HTTP stand-ins in this process; the workers are
separate processes, so what they share they share only through Redis.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter

import pytest
from werkzeug import Request, Response

import plugins.webhook as webhook
from hub.testing import wait_for
from tests.conftest import APP_SOURCE, WHSEC, detractor, send
from tests.hub.outbound.oauth_standin import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, TokenEndpoint

pytestmark = pytest.mark.faults
ENV = {"APP_SECRET": WHSEC, "OUT_SECRET": WHSEC, "CLIENT_SECRET": CLIENT_SECRET, "REFRESH_TOKEN": REFRESH_TOKEN}
# One delivery thread per connection per worker, so the second worker takes what the first cannot.
HUB = "hub: {worker_threads: 2}\n"


def config(receiver: str, extra: str) -> str:
    return HUB + APP_SOURCE + f"""
connections:
  out:
    plugin: webhook
    settings: {{url: "{receiver}", secret: {{$env: OUT_SECRET}}}}
    retry: {{max_attempts: 5, initial_delay: 0.5, max_delay: 5}}
    circuit_breaker: {{failure_threshold: 0}}
{extra}routes:
  - name: everything
    actions:
      - {{connection: out, action: forward}}
"""


class Receiver:
    """Accepts a bearer token the endpoint issued while it is unexpired; keeps when each request arrived."""

    def __init__(self, endpoint: TokenEndpoint | None = None, *, hold: float = 0.2) -> None:
        self.endpoint, self.hold = endpoint, hold
        self.expiry: dict[str, float] = {}  # token -> when it expires (this process's clock)
        self.arrivals: list[tuple[float, str, str]] = []  # (time, webhook-id, token)
        self.refused = 0
        self.answer_first: Response | None = None
        self.lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        moment = time.time()
        token = request.headers.get("Authorization", "")[len("Bearer "):]
        with self.lock:
            self.arrivals.append((moment, request.headers["webhook-id"], token))
            if self.answer_first is not None:
                answer, self.answer_first = self.answer_first, None
                return answer
            if self.endpoint is not None and not moment < self.expiry.get(token, 0):
                self.refused += 1
                return Response('{"message": "expired or unknown token"}', status=401)
        time.sleep(self.hold)  # a destination that takes its time, so both workers get work
        return Response("", status=204)


def succeeded(hub, count: int) -> bool:
    rows = hub.store.reads.deliveries(limit=1000)
    return len(rows) == count and all(row.status == "succeeded" for row in rows)


def delivered_by(log: str) -> set[str]:
    """The deliveries a worker's log says it delivered."""
    return set(re.findall(r"delivery (\S+) to out\.forward \(route everything\): succeeded", log))


def test_a_token_that_expires_mid_run_is_renewed_once_for_both_workers(make_hub, httpserver, start_process):
    endpoint = TokenEndpoint("refresh_token", expires_in=3)
    receiver = Receiver(endpoint)

    def issue(number: int) -> None:  # the receiver learns each token's lifetime as the endpoint issues it
        receiver.expiry[f"access-refresh_token-{number}"] = time.time() + (endpoint.expires_in or 0)
        return None

    endpoint.answer = issue
    token_url = endpoint.install(httpserver)
    httpserver.expect_request("/receiver").respond_with_handler(receiver)
    oauth = (f"    oauth: {{grant: refresh_token, token_url: \"{token_url}\", client_id: {CLIENT_ID}, "
             "client_secret: {$env: CLIENT_SECRET}, refresh_token: {$env: REFRESH_TOKEN}}\n")
    hub = make_hub(config(httpserver.url_for("/receiver"), oauth), plugins=[webhook], env=ENV)
    workers = [start_process("worker", "--config", hub.app.config["CXHUB_CONFIG"], env=ENV) for _ in range(2)]

    for number in range(4):
        assert send(hub, detractor(number), f"msg_{number}").status_code == 202
    wait_for(lambda: succeeded(hub, 4), timeout=40, interval=0.2, what="the first deliveries")
    endpoint.expires_in = 3600  # the next token lasts
    wait_for(lambda: time.time() > receiver.expiry["access-refresh_token-1"], timeout=10, what="the first token expiring")

    for number in range(4, 12):
        assert send(hub, detractor(number), f"msg_{number}").status_code == 202
    wait_for(lambda: succeeded(hub, 12), timeout=60, interval=0.2, what="the deliveries after the expiry")

    assert len(endpoint.requests) == 2 and endpoint.problems == []  # one first token, one renewal, for both
    assert receiver.refused == 0  # renewed before it expired, not after a 401
    late = {delivery for moment, delivery, token in receiver.arrivals if token == "access-refresh_token-2"}
    assert len(late) == 8
    logs = [worker.log.read_text() for worker in workers]
    assert all(delivered_by(log) & late for log in logs), "both workers delivered with the renewed token"
    for log in logs:
        assert CLIENT_SECRET not in log and REFRESH_TOKEN not in log and "access-refresh_token" not in log


def test_the_rate_limit_holds_across_two_workers(make_hub, httpserver, start_process):
    receiver = Receiver(hold=0.05)
    httpserver.expect_request("/receiver").respond_with_handler(receiver)
    hub = make_hub(config(httpserver.url_for("/receiver"), "    rate_limit: {requests: 3, per: 2s}\n"),
                   plugins=[webhook], env=ENV)
    workers = [start_process("worker", "--config", hub.app.config["CXHUB_CONFIG"], env=ENV) for _ in range(2)]
    for number in range(9):
        assert send(hub, detractor(number), f"msg_{number}").status_code == 202
    wait_for(lambda: succeeded(hub, 9), timeout=60, interval=0.2, what="every delivery")

    moments = sorted(moment for moment, _, _ in receiver.arrivals)
    assert len(moments) == 9  # no request refused, none sent twice
    # Never a fourth request within the window (less a margin for the time a request takes to arrive).
    assert all(later - earlier > 2 - 0.25 for earlier, later in zip(moments, moments[3:])), moments
    assert all(row.attempts == 1 for row in hub.store.reads.deliveries(limit=1000))  # waiting spent no attempt
    assert all(delivered_by(worker.log.read_text()) for worker in workers)


def test_a_429_retry_after_slows_every_worker(make_hub, httpserver, start_process):
    receiver = Receiver(hold=0.3)  # slow enough that, unslowed, requests would keep arriving after the 429
    receiver.answer_first = Response("You have reached your secondly limit.", status=429, headers={"Retry-After": "3"})
    httpserver.expect_request("/receiver").respond_with_handler(receiver)
    hub = make_hub(config(httpserver.url_for("/receiver"), "    rate_limit: {requests: 100, per: 10s}\n"),
                   plugins=[webhook], env=ENV)
    for _ in range(2):
        start_process("worker", "--config", hub.app.config["CXHUB_CONFIG"], env=ENV)
    for number in range(10):
        assert send(hub, detractor(number), f"msg_{number}").status_code == 202
    wait_for(lambda: succeeded(hub, 10), timeout=60, interval=0.2, what="every delivery")

    (refused_at, refused, _), *rest = sorted(receiver.arrivals)
    # Requests already on their way when the 429 came may still arrive; none is sent after, until Retry-After.
    assert not [moment for moment, _, _ in rest if refused_at + 0.5 < moment < refused_at + 3 - 0.2], rest
    attempts = Counter(row.attempts for row in hub.store.reads.deliveries(limit=1000))
    assert attempts == {1: 9, 2: 1}  # the refused one tried again; the others waited without spending attempts
    assert hub.store.reads.delivery(refused).attempts == 2
