"""Retries wait for their delay, whatever its size (issue 12: a 0.7 s delay started 15 ms later)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

import plugins.webhook as webhook
from hub.testing import wait_for
from tests.conftest import WHSEC, detractor, forward_everything, send


def retried_after(delay: float, url: str) -> str:
    """Forward every event to `url`, with one retry exactly `delay` seconds after a failure (no jitter)."""
    return forward_everything(url, attempts=2).replace(
        "initial_delay: 0, max_delay: 0", f"initial_delay: {delay}, max_delay: {delay}, jitter: 0")


@pytest.mark.parametrize("delay", [0.4, 1.3])
def test_a_retry_does_not_start_before_its_delay(make_hub, httpserver, delay):
    httpserver.expect_ordered_request("/receiver").respond_with_data("busy", status=503)
    httpserver.expect_ordered_request("/receiver").respond_with_data("")
    hub = make_hub(retried_after(delay, httpserver.url_for("/receiver")), plugins=[webhook],
                   env={"APP_SECRET": WHSEC})
    assert send(hub, detractor()).status_code == 202
    hub.start_workers(1)
    delivery = wait_for(lambda: [row for row in hub.store.reads.deliveries() if row.status == "succeeded"],
                        timeout=60, what="the retried delivery to succeed")[0]
    first, second = hub.store.reads.attempts(delivery.id)
    first_ended = first.started_at + timedelta(milliseconds=first.duration_ms)
    assert second.started_at - first_ended >= timedelta(seconds=delay)


@pytest.mark.parametrize("delay", [0.001, 0.5, 1.0, 2.7])
def test_a_delayed_job_is_scheduled_no_sooner_than_its_delay(make_hub, delay):
    hub = make_hub(retried_after(1, "http://127.0.0.1:9/unused"), plugins=[webhook], env={"APP_SECRET": WHSEC})
    asked = datetime.now(timezone.utc)
    hub.hub.queue.schedule("d1", "out", delay)
    queue = hub.hub.queue.queue_for("out")
    assert queue.count == 0
    (job_id,) = queue.scheduled_job_registry.get_job_ids()
    assert queue.scheduled_job_registry.get_scheduled_time(job_id) >= asked + timedelta(seconds=delay)


def test_a_job_without_delay_is_queued_at_the_front(make_hub):
    hub = make_hub(retried_after(1, "http://127.0.0.1:9/unused"), plugins=[webhook], env={"APP_SECRET": WHSEC})
    hub.hub.queue.enqueue([SimpleNamespace(id="waiting", connection="out")])
    hub.hub.queue.schedule("retried", "out", 0)
    queue = hub.hub.queue.queue_for("out")
    assert [job.args[0] for job in queue.jobs] == ["retried", "waiting"]
    assert queue.scheduled_job_registry.count == 0
