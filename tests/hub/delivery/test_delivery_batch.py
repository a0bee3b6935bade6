"""A delivery job runs its own delivery, then others waiting for the same connection (hub/delivery/job.py)."""

from __future__ import annotations

import pytest

import plugins.webhook as webhook
from hub.delivery.queue import delivery_of, job_id_for
from tests.conftest import WHSEC, detractor, forward_everything, send


@pytest.fixture
def hub(make_hub, httpserver):
    httpserver.expect_request("/receiver").respond_with_data("")
    return make_hub(forward_everything(httpserver.url_for("/receiver"), breaker=2), plugins=[webhook],
                    env={"APP_SECRET": WHSEC})


def test_job_ids_name_their_delivery():
    job_id = job_id_for("57530ab7-2d69-5c4d-9557-19baa8bafb25")
    assert delivery_of(job_id) == "57530ab7-2d69-5c4d-9557-19baa8bafb25" and job_id != job_id_for(delivery_of(job_id))


def test_one_job_delivers_what_waits_for_its_connection(hub, httpserver):
    for number in range(5):
        send(hub, detractor(response_id=number), msg_id=f"msg_{number}")
    assert hub.hub.queue.count() == 5
    assert hub.drain() == 1  # one RQ job ran; it took the other four off the queue
    assert [d["status"] for d in hub.store.list_deliveries()] == ["succeeded"] * 5
    assert len(httpserver.log) == 5
    assert not hub.hub.redis.keys("rq:job:*")  # the taken jobs were deleted, not left behind


def test_taking_stops_once_the_connection_is_paused(make_hub, httpserver):
    httpserver.expect_request("/down").respond_with_data("down", status=503)
    hub = make_hub(forward_everything(httpserver.url_for("/down"), attempts=5, breaker=2), plugins=[webhook],
                   env={"APP_SECRET": WHSEC})
    for number in range(4):
        send(hub, detractor(response_id=number), msg_id=f"msg_{number}")
    hub.drain(run_scheduled=False)
    assert len(httpserver.log) == 2  # two failures paused the connection; the rest wait, attempts unspent
    assert sum(d["attempts"] for d in hub.store.list_deliveries()) == 2


def test_taken_deliveries_whose_worker_died_are_swept_back(hub):
    for number in range(3):
        send(hub, detractor(response_id=number), msg_id=f"msg_{number}")
    taken = hub.hub.queue.take("out", 10)  # a worker took them, then died
    assert len(taken) == 3 and hub.hub.queue.count() == 0
    assert {d["status"] for d in hub.store.list_deliveries()} == {"queued"}  # the sweeper's business
