"""hub/delivery/watchdog.py: a job that outlives its timeout is stopped in its own thread; others are not."""

from __future__ import annotations

import threading
import time

import pytest
from redis import Redis
from rq import Queue, SimpleWorker
from rq.job import Job
from rq.timeouts import JobTimeoutException

from hub.delivery.rq_compat import NoSignalHandlers
from hub.delivery.watchdog import Watchdog, WatchdogDeathPenalty


def busy_until_stopped(seconds: float) -> str:
    """Loop in Python (an asynchronous exception lands between bytecodes) for up to `seconds`."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        sum(range(100))
    return "ran to the end"


def run_in_thread(target) -> list[BaseException | str]:
    outcome: list[BaseException | str] = []

    def run() -> None:
        try:
            outcome.append(target())
        except BaseException as error:
            outcome.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    assert not thread.is_alive()
    return outcome


def test_a_job_past_its_timeout_is_stopped_with_rqs_exception_and_message() -> None:
    def job() -> str:
        with WatchdogDeathPenalty(0.2, JobTimeoutException):
            return busy_until_stopped(20)

    [outcome] = run_in_thread(job)
    assert isinstance(outcome, JobTimeoutException)
    assert str(outcome) == "Task exceeded maximum timeout value (0.2 seconds)"


def test_a_penalty_left_in_time_never_fires_later() -> None:
    def job() -> str:
        with WatchdogDeathPenalty(0.1, JobTimeoutException):
            pass
        return busy_until_stopped(0.4)  # well past the deadline it no longer has

    assert run_in_thread(job) == ["ran to the end"]


def test_each_deadline_stops_only_its_own_thread_whatever_the_order_armed() -> None:
    watchdog = Watchdog()
    results: dict[str, BaseException | str] = {}

    def job(name: str, timeout: float, runs: float) -> None:
        ticket = watchdog.arm(timeout, JobTimeoutException)
        try:
            results[name] = busy_until_stopped(runs)
        except JobTimeoutException as error:
            results[name] = error
        finally:
            watchdog.disarm(ticket)

    long_one = threading.Thread(target=job, args=("long timeout", 30, 1.0))
    short_one = threading.Thread(target=job, args=("short timeout", 0.1, 20))
    long_one.start()
    short_one.start()  # armed second, due first: the watchdog wakes for it
    long_one.join(30)
    short_one.join(30)
    assert results["long timeout"] == "ran to the end"
    assert isinstance(results["short timeout"], JobTimeoutException)


class ThreadWorker(NoSignalHandlers, SimpleWorker):
    death_penalty_class = WatchdogDeathPenalty


@pytest.fixture
def queue(cxhub_redis_url: str) -> Queue:
    return Queue("cxhub.watchdog", connection=Redis.from_url(cxhub_redis_url))


def test_an_rq_job_in_a_worker_thread_fails_at_its_timeout_and_the_next_job_runs(queue: Queue) -> None:
    hung = queue.enqueue(busy_until_stopped, 60, job_timeout=1)
    after = queue.enqueue(busy_until_stopped, 0)
    worker = ThreadWorker([queue], connection=queue.connection)
    run_in_thread(lambda: worker.work(burst=True, logging_level="ERROR"))
    failed = Job.fetch(hung.id, connection=queue.connection)
    assert failed.get_status() == "failed"
    assert "JobTimeoutException" in (failed.latest_result().exc_string or "")
    assert Job.fetch(after.id, connection=queue.connection).get_status() == "finished"
