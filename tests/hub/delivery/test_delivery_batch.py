"""A delivery job runs its own delivery, then others waiting for the same connection (hub/delivery/job.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from werkzeug import Response

import hub.delivery.runner as runner
import plugins.webhook as webhook
from hub.delivery.job import RUNNER
from hub.delivery.queue import delivery_of, job_id_for
from hub.store import FinishedAttempt, now
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
    assert [d.status for d in hub.store.reads.deliveries()] == ["succeeded"] * 5
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
    assert sum(d.attempts for d in hub.store.reads.deliveries()) == 2


def test_taken_deliveries_whose_worker_died_are_swept_back(hub):
    for number in range(3):
        send(hub, detractor(response_id=number), msg_id=f"msg_{number}")
    taken = hub.hub.queue.take("out", 10)  # a worker took them, then died
    assert len(taken) == 3 and hub.hub.queue.count() == 0
    assert {d.status for d in hub.store.reads.deliveries()} == {"queued"}  # the sweeper's business


def run_directly(hub, delivery_ids, connection="out"):
    with hub.app.app_context():
        hub.app.extensions[RUNNER].run(delivery_ids, connection)


def test_a_batch_past_its_time_gives_the_rest_back_uncounted(hub, httpserver, monkeypatch):
    for number in range(3):
        send(hub, detractor(response_id=number), msg_id=f"msg_{number}")
    for queue in hub.hub.queue.queues:
        queue.empty()
    monkeypatch.setattr(runner, "BATCH_SECONDS", 0.0)
    run_directly(hub, [d.id for d in hub.store.reads.deliveries()])
    assert sorted((d.status, d.attempts) for d in hub.store.reads.deliveries()) == [
        ("queued", 0), ("queued", 0), ("succeeded", 1)]  # the first always runs
    assert hub.hub.queue.count() == 2  # the other two wait again, with new jobs
    hub.drain()
    assert [d.status for d in hub.store.reads.deliveries()] == ["succeeded"] * 3 and len(httpserver.log) == 3


def test_a_batch_stores_each_outcome(make_hub, httpserver):
    answers = {"msg_0": 503, "msg_1": 404, "msg_2": 200}  # retryable, final, fine
    httpserver.expect_request("/receiver").respond_with_handler(
        lambda request: Response("", status=answers[request.get_json()["data"]["vendor_event_id"]]))
    hub = make_hub(forward_everything(httpserver.url_for("/receiver")), plugins=[webhook], env={"APP_SECRET": WHSEC})
    for message in answers:
        send(hub, detractor(response_id=int(message[-1])), msg_id=message)
    for queue in hub.hub.queue.queues:
        queue.empty()
    by_message = {hub.store.reads.event(d.event_id).vendor_event_id: d.id for d in hub.store.reads.deliveries()}
    run_directly(hub, [by_message[message] for message in answers])
    statuses = {message: hub.store.reads.delivery(delivery_id).status for message, delivery_id in by_message.items()}
    assert statuses == {"msg_0": "retrying", "msg_1": "dead", "msg_2": "succeeded"}
    assert [a.status_code for a in hub.store.reads.attempts(by_message["msg_0"])] == [503]
    assert hub.hub.queue.count() == 1  # the retry (its backoff here is 0 s)


def test_given_back_deliveries_wait_as_they_did_before_their_claim(hub):
    send(hub, detractor())
    [delivery] = hub.store.reads.deliveries()
    lease = timedelta(minutes=10)
    hub.store.deliveries.claim([delivery.id], lease)
    attempt = {"number": 1, "started_at": now(), "status_code": 503, "duration_ms": 3.0, "error": "503",
               "outcome": "retry"}
    hub.store.deliveries.finish_attempts([FinishedAttempt(delivery.id, attempt, "retrying", error="503")])
    for _ in range(2):  # a failed attempt before: back to retrying, its attempts unchanged
        assert [c.id for c in hub.store.deliveries.claim([delivery.id] * 2, lease)] == [delivery.id]
        assert hub.store.deliveries.claim([delivery.id], lease) == []  # already claimed
        assert hub.store.deliveries.release([delivery.id]) == [(delivery.id, "out")]
        released = hub.store.reads.delivery(delivery.id)
        assert (released.status, released.attempts, released.lease_until) == ("retrying", 1, None)
    hub.store.deliveries.requeue([delivery.id], from_statuses=("retrying",))  # a fresh budget: queued again
    hub.store.deliveries.claim([delivery.id], lease)
    hub.store.deliveries.release([delivery.id])
    assert hub.store.reads.delivery(delivery.id).status == "queued"
