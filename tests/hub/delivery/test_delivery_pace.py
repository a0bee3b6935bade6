"""A connection's rate limit: deliveries past it wait in the queue, spending no attempt and failing none."""

from __future__ import annotations

from collections import Counter

import plugins.webhook as webhook
from tests.conftest import WHSEC, detractor, forward_everything, send


def test_deliveries_over_the_rate_limit_wait_without_spending_attempts(make_hub, httpserver):
    httpserver.expect_request("/receiver").respond_with_data("", status=204)
    config = forward_everything(httpserver.url_for("/receiver")).replace(
        "    circuit_breaker: {failure_threshold: 0}\n",
        "    circuit_breaker: {failure_threshold: 0}\n    rate_limit: {requests: 2, per: 1m}\n")
    hub = make_hub(config, plugins=[webhook], env={"APP_SECRET": WHSEC})
    for number in range(5):
        assert send(hub, detractor(number), f"msg_{number}").status_code == 202
    hub.drain()  # retries run at once here, as if time had passed: the window is still full
    assert len(httpserver.log) == 2
    rows = hub.store.reads.deliveries()
    assert Counter(row.status for row in rows) == {"succeeded": 2, "queued": 3}
    assert sorted(row.attempts for row in rows) == [0, 0, 0, 1, 1]
    assert all(not hub.store.reads.attempts(row.id) for row in rows if row.status == "queued")
    assert hub.hub.queue.scheduled_count() == 3  # each waits for room in the window
