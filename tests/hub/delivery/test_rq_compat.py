"""What hub.delivery.rq_compat assumes of RQ still holds for the installed RQ.

Each test fails when an RQ release changes one assumption: the supported range, the key
layout `take_job_ids` relies on, or the private signal hook `NoSignalHandlers` replaces.
"""

from __future__ import annotations

import configparser
import threading
from pathlib import Path

import pytest
import rq
from packaging.requirements import Requirement
from redis import Redis
from rq import Queue, SimpleWorker
from rq.job import Job

from hub.delivery.rq_compat import SUPPORTED_RQ, NoSignalHandlers, take_job_ids
from hub.delivery.watchdog import WatchdogDeathPenalty

SETUP_CFG = Path(__file__).resolve().parents[3] / "setup.cfg"


@pytest.fixture
def queue(cxhub_redis_url: str) -> Queue:
    return Queue("cxhub.out", connection=Redis.from_url(cxhub_redis_url))


def enqueue(queue: Queue, count: int) -> list[str]:
    return [queue.enqueue("builtins.print", number, job_id=f"job_{number}").id for number in range(count)]


def test_the_installed_rq_is_in_the_supported_range_that_setup_cfg_requires() -> None:
    config = configparser.ConfigParser()
    config.read(SETUP_CFG)
    [required] = [Requirement(line) for line in config["options"]["install_requires"].split()
                  if line.startswith("rq")]
    assert str(required.specifier) == str(Requirement(f"rq{SUPPORTED_RQ}").specifier)
    assert required.specifier.contains(rq.__version__)


def test_taking_pops_the_front_jobs_in_order_and_deletes_them(queue: Queue) -> None:
    ids = enqueue(queue, 5)
    assert take_job_ids(queue, 3) == ids[:3]
    assert not any(Job.exists(job_id, connection=queue.connection) for job_id in ids[:3])
    assert queue.count == 2 and queue.get_job_ids() == ids[3:]
    job, _ = Queue.dequeue_any([queue], None, connection=queue.connection)  # RQ still finds the rest intact
    assert job.id == ids[3] and job.args == (3,)


def test_taking_more_than_wait_takes_what_there_is(queue: Queue) -> None:
    ids = enqueue(queue, 2)
    assert take_job_ids(queue, 10) == ids
    assert take_job_ids(queue, 10) == []
    assert queue.connection.keys("rq:job:*") == []


def test_takers_share_a_short_queue(queue: Queue) -> None:
    ids = enqueue(queue, 5)
    assert take_job_ids(queue, 20, takers=2) == ids[:3]  # half of five, rounded up
    assert take_job_ids(queue, 20, takers=2) == ids[3:4]
    assert take_job_ids(queue, 20, takers=2) == ids[4:]  # the last one is always taken
    assert take_job_ids(queue, 20, takers=2) == []
    assert queue.connection.keys("rq:job:*") == []


class SignalFreeWorker(NoSignalHandlers, SimpleWorker):
    death_penalty_class = WatchdogDeathPenalty  # as HubWorker: a job's timeout without SIGALRM
    hook_calls = 0

    def _install_signal_handlers(self) -> None:
        type(self).hook_calls += 1
        super()._install_signal_handlers()


def test_rq_works_in_a_thread_once_its_signal_hook_is_replaced(queue: Queue) -> None:
    [job_id] = enqueue(queue, 1)
    worker = SignalFreeWorker([queue], connection=queue.connection)
    failures: list[BaseException] = []

    def work() -> None:
        try:
            worker.work(burst=True, logging_level="WARNING")
        except BaseException as error:  # signal.signal outside the main thread raises ValueError
            failures.append(error)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(30)
    assert not failures and not thread.is_alive()
    assert SignalFreeWorker.hook_calls == 1  # RQ still installs its handlers through this hook
    assert Job.fetch(job_id, connection=queue.connection).get_status() == "finished"
