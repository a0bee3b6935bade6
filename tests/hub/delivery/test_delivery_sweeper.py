"""The sweeper: deliveries whose job was lost (a dead worker, an emptied Redis) are queued again."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

import plugins.webhook as webhook
from hub.delivery.gate import hold_connection, resume_connection
from hub.delivery.job import deliver
from hub.delivery.sweeper import sweep
from hub.store.engine import make_engine
from tests.conftest import WHSEC, detractor, forward_everything, send


def empty_queues(hub):
    for queue in hub.hub.queue.queues:
        queue.empty()


@pytest.fixture
def hub(make_hub, httpserver):
    config = forward_everything(httpserver.url_for("/receiver")) + "hub: {sweep_grace_seconds: 1}\n"
    httpserver.expect_request("/receiver").respond_with_data("")
    return make_hub(config, plugins=[webhook], env={"APP_SECRET": WHSEC})


def test_a_delivery_whose_worker_died_mid_attempt_runs_again(hub, httpserver):
    send(hub, detractor())
    empty_queues(hub)  # the job was taken by a worker...
    [delivery] = hub.store.reads.deliveries()
    [claimed] = hub.store.deliveries.claim([delivery.id], timedelta(seconds=-1))
    assert claimed.status == "running"  # ...which then died
    assert sweep(hub.hub) == 1
    assert hub.store.reads.delivery(delivery.id).status == "queued"
    hub.drain()
    finished = hub.store.reads.delivery(delivery.id)
    assert (finished.status, finished.attempts, len(httpserver.log)) == ("succeeded", 2, 1)


def test_a_running_delivery_inside_its_lease_is_left_alone(hub):
    send(hub, detractor())
    [delivery] = hub.store.reads.deliveries()
    hub.store.deliveries.claim([delivery.id], timedelta(minutes=10))
    time.sleep(1.1)
    assert sweep(hub.hub) == 0


def test_a_queued_delivery_whose_job_vanished_is_queued_again(hub, httpserver):
    send(hub, detractor())
    empty_queues(hub)  # Redis restarted without its data
    assert sweep(hub.hub) == 0  # not yet past the grace period
    time.sleep(1.1)
    assert sweep(hub.hub) == 1
    assert sweep(hub.hub) == 0  # the new job gets its own grace period
    hub.drain()
    assert hub.store.reads.deliveries()[0].status == "succeeded" and len(httpserver.log) == 1


def test_only_one_process_sweeps_at_a_time(hub):
    send(hub, detractor())
    empty_queues(hub)
    time.sleep(1.1)
    with hub.hub.redis.lock("cxhub:cxhub:sweeper", timeout=10):
        assert sweep(hub.hub) == 0
    assert sweep(hub.hub) == 1


def test_a_sweeper_that_dies_mid_sweep_holds_the_others_off_for_seconds_only(hub, monkeypatch):
    """The lock of a sweep killed halfway (or kept by a Redis restart) expires soon: recovery waits on it."""
    from hub.delivery.sweeper import LOCK_SECONDS

    held_for: list[int] = []
    overdue = hub.store.deliveries.overdue

    def look_at_the_lock(*args, **kwargs):
        held_for.append(hub.hub.redis.pttl("cxhub:cxhub:sweeper"))  # what a kill here would leave behind
        return overdue(*args, **kwargs)

    monkeypatch.setattr(hub.store.deliveries, "overdue", look_at_the_lock)
    sweep(hub.hub)
    assert len(held_for) == 1 and 0 < held_for[0] <= LOCK_SECONDS * 1000 <= 15_000


def test_a_job_that_cannot_reach_the_database_comes_back_later(hub):
    send(hub, detractor())
    [delivery] = hub.store.reads.deliveries()
    working = hub.store.database.engine
    hub.store.database.engine = make_engine("postgresql://cxhub@127.0.0.1:1/none")
    try:
        with hub.app.app_context():
            deliver(delivery.id, delivery.connection)
    finally:
        hub.store.database.engine.dispose()
        hub.store.database.engine = working
    assert hub.hub.queue.scheduled_count() == 1
    assert hub.store.reads.delivery(delivery.id).status == "queued"


def test_deliveries_held_by_a_paused_connection_are_not_swept(hub):
    send(hub, detractor())
    empty_queues(hub)
    time.sleep(1.1)
    hub.hub.redis.hset("cxhub:cxhub:breaker:out", mapping={"failures": 5, "open_until": time.time() + 60})
    assert sweep(hub.hub) == 0
    hub.hub.redis.delete("cxhub:cxhub:breaker:out")
    assert sweep(hub.hub) == 1


def test_deliveries_of_a_held_connection_are_not_swept(hub):
    send(hub, detractor())
    empty_queues(hub)
    time.sleep(1.1)
    hold_connection(hub.hub.redis, "cxhub", "out", "the receiver answered 410 Gone")
    assert sweep(hub.hub) == 0
    resume_connection(hub.hub.redis, "cxhub", "out")
    assert sweep(hub.hub) == 1


@pytest.fixture
def patient_hub(make_hub, httpserver, monkeypatch):
    """A long grace period, and a short one for connections with nothing in their queue."""
    monkeypatch.setattr("hub.delivery.sweeper.IDLE_GRACE_SECONDS", 1)
    config = forward_everything(httpserver.url_for("/receiver")) + "hub: {sweep_grace_seconds: 300}\n"
    httpserver.expect_request("/receiver").respond_with_data("")
    return make_hub(config, plugins=[webhook], env={"APP_SECRET": WHSEC})


def test_a_job_taken_by_a_worker_that_died_before_claiming_is_queued_again_once_the_queue_is_empty(patient_hub,
                                                                                                   httpserver):
    hub = patient_hub
    for number in range(3):
        send(hub, detractor(response_id=3000 + number), msg_id=f"msg_{number}")
    assert len(hub.hub.queue.take("out", 10)) == 3  # a worker took the batch, then died before its claim
    assert sweep(hub.hub) == 0  # not yet: a live worker may be claiming them right now
    time.sleep(1.1)
    assert sweep(hub.hub) == 3  # long before the grace period: nothing waits in the queue for them
    hub.drain()
    assert [row.status for row in hub.store.reads.deliveries()] == ["succeeded"] * 3
    assert len(httpserver.log) == 3


def test_deliveries_behind_a_backlog_wait_for_the_grace_period(patient_hub):
    hub = patient_hub
    send(hub, detractor(response_id=3100), msg_id="msg_a")
    send(hub, detractor(response_id=3101), msg_id="msg_b")
    hub.hub.queue.take("out", 1)  # one job lost; the other still waits in the queue
    time.sleep(1.1)
    assert sweep(hub.hub) == 0  # the queue is not empty: the delivery may just be waiting its turn


def test_a_connection_with_a_scheduled_retry_is_not_idle(patient_hub):
    hub = patient_hub
    send(hub, detractor(response_id=3200), msg_id="msg_a")
    [delivery] = hub.store.reads.deliveries()
    empty_queues(hub)
    hub.hub.queue.schedule("other-delivery", "out", 60)  # a retry waiting for its backoff
    time.sleep(1.1)
    assert sweep(hub.hub) == 0
    assert hub.store.reads.delivery(delivery.id).status == "queued"
