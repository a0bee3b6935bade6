"""The worker thread: it keeps looking for work while Redis is away, instead of dying."""

from __future__ import annotations

import logging
import threading

import pytest
from redis import Redis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.retry import Retry

from hub.config.model import ConnectionConfig
from hub.delivery.gate import ConnectionGate
from hub.worker import HubWorker, make_worker
from tests.hub.plugin.test_plugin_http import closed_port


@pytest.fixture
def worker_without_redis(make_hub):
    """A worker whose gate reads its breakers from a Redis that is not there."""
    hub = make_hub("{}").hub
    unreachable = Redis(port=closed_port(), retry=Retry(NoBackoff(), 0))
    gate = ConnectionGate(unreachable, "cxhub", {"out": ConnectionConfig("out", "webhook", {})}, default_cap=2)
    return HubWorker(hub, gate)


def test_a_worker_waits_for_redis_and_stops_when_asked(worker_without_redis, caplog):
    answers = []
    thread = threading.Thread(target=lambda: answers.append(worker_without_redis.dequeue_job_and_maintain_ttl(5)))
    with caplog.at_level(logging.ERROR, logger="cxhub.worker"):
        thread.start()
        thread.join(0.5)
        assert thread.is_alive()  # waiting, not dead
        worker_without_redis.stop()
        thread.join(5)
    assert not thread.is_alive() and answers == [None]
    assert "Redis is unreachable" in caplog.text


def test_a_burst_worker_reports_redis_unreachable(worker_without_redis):
    with pytest.raises(RedisConnectionError):
        worker_without_redis.dequeue_job_and_maintain_ttl(None)


def test_a_working_worker_stops_when_asked_from_another_thread(make_hub):
    """RQ's own work loop, run in a thread on a real Redis, ends once `stop` is called elsewhere."""
    app = make_hub("{}").app
    worker = make_worker(app)
    thread = threading.Thread(target=lambda: worker.work(logging_level="WARNING"))
    thread.start()
    thread.join(0.5)
    assert thread.is_alive()  # idle, looking at its queues
    worker.stop()
    thread.join(10)
    assert not thread.is_alive()
    assert worker.connection.hget(worker.key, "death")  # RQ's teardown ran: the loop ended, not the thread


def test_a_delivery_thread_whose_rq_loop_quits_is_started_again(make_hub, httpserver, monkeypatch, caplog):
    """As when Redis restarts and answers "loading" while RQ records a job: the thread comes back."""
    import plugins.webhook as webhook
    from hub.testing import wait_for
    from hub.worker import WorkerThreads
    from tests.conftest import WHSEC, detractor, forward_everything, send

    httpserver.expect_request("/receiver").respond_with_data("")
    hub = make_hub(forward_everything(httpserver.url_for("/receiver")), plugins=[webhook], env={"APP_SECRET": WHSEC})
    original = HubWorker.dequeue_job_and_maintain_ttl
    failed: list[str] = []

    def fails_once(self, *args, **kwargs):
        if not failed:
            failed.append(self.name)
            raise RuntimeError("Redis is loading the dataset in memory")  # escapes RQ's loop: it quits
        return original(self, *args, **kwargs)

    monkeypatch.setattr(HubWorker, "dequeue_job_and_maintain_ttl", fails_once)
    threads = WorkerThreads(hub.app, threads=1)
    with caplog.at_level(logging.ERROR, logger="cxhub.worker"):
        threads.start()
        try:
            assert send(hub, detractor()).status_code == 202
            wait_for(lambda: hub.store.reads.deliveries()[0].status == "succeeded", 30, interval=0.1)
        finally:
            threads.stop()
    assert failed and threads.workers[0].name != failed[0]  # a fresh RQ worker took over
    assert "starting it again" in caplog.text


def test_a_delivery_job_runs_without_rqs_records_and_its_failure_is_logged(make_hub, httpserver, monkeypatch, caplog):
    """Delivery jobs keep their state in the store: RQ keeps no job, registry or execution for them."""
    import plugins.webhook as webhook
    from rq import Queue

    from hub.ingest.consumer import IntakeConsumer
    from tests.conftest import WHSEC, detractor, forward_everything, send

    import hub.delivery.runner as runner_module

    httpserver.expect_request("/receiver").respond_with_data("")
    hub = make_hub(forward_everything(httpserver.url_for("/receiver")), plugins=[webhook], env={"APP_SECRET": WHSEC})
    assert send(hub, detractor()).status_code == 202
    worker = make_worker(hub.app)
    with hub.app.app_context():
        IntakeConsumer(hub.hub, "test").drain()  # whichever accept_into the backends allow
        worker.work(burst=True, logging_level="WARNING")
    assert [d.status for d in hub.store.reads.deliveries()] == ["succeeded"]
    redis = hub.hub.redis
    assert redis.keys("rq:job:*") == [] and redis.keys("rq:execution*") == []
    for queue in hub.hub.queue.queues:
        assert Queue(queue.name, connection=redis).started_job_registry.count == 0
        assert queue.failed_job_registry.count == 0

    def broken(self, delivery_ids, connection):
        raise RuntimeError("a bug in a plugin")

    monkeypatch.setattr(runner_module.DeliveryRunner, "run", broken)
    assert send(hub, detractor(response_id=1002), msg_id="msg_2").status_code == 202
    with caplog.at_level(logging.ERROR, logger="cxhub.worker"), hub.app.app_context():
        IntakeConsumer(hub.hub, "test").drain()
        assert worker.work(burst=True, logging_level="WARNING")  # the loop went on after the failure
    assert "a bug in a plugin" in caplog.text and "hub.delivery.job.deliver" in caplog.text
    assert redis.keys("rq:job:*") == []
