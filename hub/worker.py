"""Workers that run delivery jobs without forking a process per job.

`cxhub worker` runs `HubWorker` in its own process (with RQ's scheduler for delayed retries).
`cxhub serve` in embedded mode runs `EmbeddedWorkers`: worker threads plus a scheduler thread
inside the web process.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from flask import Flask
from rq import SimpleWorker
from rq.scheduler import RQScheduler
from rq.timeouts import TimerDeathPenalty

from hub.delivery.sweeper import run_periodically
from hub.runtime import EXTENSION, Hub

log = logging.getLogger("cxhub.worker")


class HubWorker(SimpleWorker):
    """RQ's non-forking worker: one process delivers job after job, reusing its HTTP connections."""


class ThreadWorker(SimpleWorker):
    """A SimpleWorker that can run in a thread: no signal handlers, timer-based job timeouts."""

    death_penalty_class = TimerDeathPenalty
    jobs_run = 0

    def execute_job(self, job: Any, queue: Any) -> None:
        self.jobs_run += 1
        super().execute_job(job, queue)

    def _install_signal_handlers(self) -> None:
        """Signals belong to the main thread (the web server's)."""

    def stop(self) -> None:
        """Ask the worker to stop after its current job (RQ itself only stops on signals)."""
        self._stop_requested = True

    def dequeue_job_and_maintain_ttl(self, timeout: int | None, max_idle_time: int | None = None) -> Any:
        """Wait for a job in slices of `timeout` seconds, so a stop request is seen while idle."""
        if timeout is None:
            return super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)
        while not self._stop_requested:
            result = super().dequeue_job_and_maintain_ttl(timeout, max_idle_time=timeout)
            if result is not None:
                return result
        return None


def run_worker(app: Flask, *, burst: bool = False, with_scheduler: bool = True) -> None:
    """Run a worker in this process until SIGTERM/SIGINT (or until the queue is empty, with `burst`)."""
    hub: Hub = app.extensions[EXTENSION]
    stopping = threading.Event()
    if not burst:
        run_periodically(hub, stopping)
    try:
        with app.app_context():
            HubWorker([hub.queue.rq], connection=hub.redis).work(burst=burst, with_scheduler=with_scheduler,
                                                                 logging_level="WARNING")
    finally:
        stopping.set()


class EmbeddedWorkers:
    """Worker threads and a scheduler thread inside the web process (embedded mode)."""

    SCHEDULER_INTERVAL = 1.0

    def __init__(self, app: Flask, threads: int = 2) -> None:
        self.app = app
        self.hub: Hub = app.extensions[EXTENSION]
        self.workers = [ThreadWorker([self.hub.queue.rq], connection=self.hub.redis, worker_ttl=16)
                        for _ in range(threads)]
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        for worker in self.workers:
            self._spawn(self._work, worker, name=f"cxhub-worker-{worker.name[:8]}")
        self._spawn(self._schedule, name="cxhub-scheduler")
        self.threads.append(run_periodically(self.hub, self.stopping))

    def stop(self, timeout: float = 10.0) -> None:
        self.stopping.set()
        for worker in self.workers:
            worker.stop()
        for thread in self.threads:
            thread.join(timeout)

    def _spawn(self, target: Any, *args: Any, name: str) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        self.threads.append(thread)

    def _work(self, worker: ThreadWorker) -> None:
        with self.app.app_context():
            worker.work(logging_level="WARNING")

    def _schedule(self) -> None:
        """Move due retries onto the queue, as RQ's scheduler process would."""
        scheduler = RQScheduler([self.hub.queue.rq], connection=self.hub.redis)
        while not self.stopping.wait(self.SCHEDULER_INTERVAL):
            try:
                if not scheduler.acquired_locks:
                    scheduler.acquire_locks()
                scheduler.enqueue_scheduled_jobs()
            except Exception:
                log.exception("scheduler pass failed; trying again in %.0fs", self.SCHEDULER_INTERVAL)
        scheduler.release_locks()


def recover_unfinished(hub: Hub) -> int:
    """Queue again the deliveries an embedded hub left queued or running when it stopped.

    In embedded mode every worker lives in this process, so at start-up nothing can still be
    running: a 'running' delivery was cut off mid-attempt and must run again. Retries wait in
    RQ's scheduled registry, which the embedded Redis keeps on disk.
    """
    running = list(hub.store.deliveries_in(("running",)))
    requeued = hub.store.requeue(running, from_statuses=("running",), fresh_budget=False) if running else []
    waiting = list(hub.store.deliveries_in(("queued",)))
    hub.queue.enqueue(sorted(set(waiting) | set(requeued)))
    return len(set(waiting) | set(requeued))
