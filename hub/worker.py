"""Workers that run delivery jobs without forking a process per job.

A worker process runs `hub.worker_threads` delivery threads (`WorkerThreads`), each an RQ worker
that takes jobs only from the queues of connections its gate lets through (`HubWorker`), plus
a scheduler thread that moves due retries onto the queues, the sweepers (of deliveries and of
enrichments of thin events, whose jobs run on the same threads), the poller of sources with
`poll:` (hub/polling), the metrics thread (counts and alert rules, hub/alerting), the resolver
that attaches events to customer profiles (hub/profiles), the noise schedule (digests due, quiet
hours ended: hub/noise), the periodic case check (hub/sla.py), and an intake consumer
that stores what `accept_into: redis` accepted (it runs whatever the setting, so nothing a
previous setting left in the log is stranded). `cxhub worker` runs that in its own process
until SIGTERM; `cxhub serve` in embedded mode runs it inside the web process. Threads let a
slow destination hold a few of them in I/O while the rest keep working.
"""

from __future__ import annotations

import ctypes
import logging
import signal
import threading
import time
from typing import Any

from flask import Flask

from hub.alerting import run_metrics_periodically
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import SimpleWorker
from rq.exceptions import DequeueTimeout
from rq.scheduler import RQScheduler
from rq.worker import WorkerStatus

from hub.delivery.gate import ConnectionGate
from hub.delivery.job import RUNNER
from hub.delivery.queue import ENRICH_JOB, JOB
from hub.delivery.rq_compat import NoSignalHandlers, run_without_bookkeeping
from hub.delivery.sweeper import run_periodically
from hub.delivery.watchdog import WatchdogDeathPenalty
from hub.enrichment.sweeper import run_periodically as sweep_enrichments_periodically
from hub.ingest.consumer import IntakeConsumer
from hub.noise.schedule import run_noise_periodically
from hub.polling import run_polls_periodically
from hub.profiles.resolver import resolve_all
from hub.profiles.resolver import run_periodically as resolve_profiles_periodically
from hub.runtime import EXTENSION, Hub
from hub.sla import run_case_checks_periodically

log = logging.getLogger("cxhub.worker")
PR_SET_NAME = 15  # prctl(2)
RESTART_SECONDS = 1  # a delivery thread whose RQ loop quit on an error starts again after this
IDLE_SLICE = 1  # seconds a worker waits on its queues before looking at its gate again
HEARTBEAT_SECONDS = 1.0  # a worker tells RQ it lives at most this often (its key lives worker_ttl)
STORE_BACKED = frozenset({JOB, ENRICH_JOB})  # jobs whose state the store keeps: run without RQ's records


class HubWorker(NoSignalHandlers, SimpleWorker):
    """RQ's non-forking worker, run in a thread, taking jobs only for connections that are open.

    Each dequeue listens on the queues of connections that are neither paused by their circuit
    breaker nor at this process's in-flight cap, in a rotating order so no connection starves.
    It overrides RQ's public `dequeue_job_and_maintain_ttl` with a loop of its own around
    `Queue.dequeue_any`; returning None from it is how RQ's work loop is told to stop.
    """

    death_penalty_class = WatchdogDeathPenalty  # job timeouts without a thread started per job
    jobs_run = 0
    last_beat = float("-inf")

    def __init__(self, hub: Hub, gate: ConnectionGate, **options: Any) -> None:
        super().__init__(hub.queue.queues, connection=hub.redis, **options)
        self.queue_of = {queue.name: name for name, queue in hub.queue.by_connection.items()}
        self.gate = gate
        self.turn = 0
        self.stopping = threading.Event()

    def execute_job(self, job: Any, queue: Any) -> None:
        """Deliveries and enrichments run without RQ's per-job records (hub.delivery.rq_compat, 3.)."""
        self.jobs_run += 1
        if job.func_name in STORE_BACKED:
            run_without_bookkeeping(job, self.death_penalty_class)
        else:
            super().execute_job(job, queue)

    def heartbeat(self, timeout: int | None = None, pipeline: Any = None) -> None:
        """RQ's heartbeat, at most once a HEARTBEAT_SECONDS when on its own (RQ beats around every job)."""
        if pipeline is None and timeout is None and time.monotonic() - self.last_beat < HEARTBEAT_SECONDS:
            return
        self.last_beat = time.monotonic()
        super().heartbeat(timeout, pipeline)

    def stop(self) -> None:
        """Ask the worker to stop after its current job, from any thread (RQ itself stops on signals)."""
        self.stopping.set()

    def dequeue_job_and_maintain_ttl(self, timeout: int | None, max_idle_time: int | None = None) -> Any:
        """Wait for a job on the open queues, looking again every IDLE_SLICE seconds; None once stopped.

        `timeout=None` is burst mode: one look, and None when nothing is there. With Redis
        unreachable the thread waits and looks again, as RQ's own dequeue does, rather than die.
        `max_idle_time` is not supported (cxhub's workers run until stopped).
        """
        while not self.stopping.is_set():
            try:
                result = self._dequeue_once(None if timeout is None else IDLE_SLICE)
            except DequeueTimeout:
                continue
            except (RedisConnectionError, RedisTimeoutError) as error:
                if timeout is None:
                    raise
                log.error("worker %s: Redis is unreachable (%s); looking again in %ds", self.name, error, IDLE_SLICE)
                self.stopping.wait(IDLE_SLICE)
                continue
            if result is not None or timeout is None:
                return result
        return None

    def _dequeue_once(self, timeout: int | None) -> Any:
        """One look at the open queues (waiting up to `timeout` seconds), with RQ's idle-time upkeep."""
        if self.get_state() != WorkerStatus.IDLE:
            self.set_state(WorkerStatus.IDLE)
        self.heartbeat()
        if self.should_run_maintenance_tasks:
            self.run_maintenance_tasks()
        queues = self.open_queues()
        if not queues:
            if timeout is not None:
                self.stopping.wait(timeout)
            return None
        return self.queue_class.dequeue_any(queues, timeout, connection=self.connection, job_class=self.job_class,
                                            serializer=self.serializer, death_penalty_class=self.death_penalty_class)

    def open_queues(self) -> list[Any]:
        # The base queue (no connection: None) is always open; its jobs fail fast with a clear error.
        allowed = {*self.gate.open_connections(), None}
        queues = [queue for queue in self.queues if self.queue_of.get(queue.name) in allowed]
        self.turn = (self.turn + 1) % max(1, len(queues))
        return queues[self.turn:] + queues[:self.turn]


def name_os_thread(name: str) -> None:
    """Give the calling thread its name in the operating system too (`top -H`, /proc/PID/task/*/comm).

    Python 3.11 names threads for itself only; this lets an operator or the bench tell a worker's
    intake thread from its delivery threads. Linux keeps 15 bytes of it; elsewhere nothing happens.
    """
    try:
        ctypes.CDLL(None).prctl(PR_SET_NAME, name.encode()[:15], 0, 0, 0)
    except (OSError, AttributeError):
        pass


def make_worker(app: Flask, **options: Any) -> HubWorker:
    hub: Hub = app.extensions[EXTENSION]
    return HubWorker(hub, app.extensions[RUNNER].gate, **options)


class WorkerThreads:
    """Delivery threads, a scheduler thread, the sweeper and the poller, in this process."""

    SCHEDULER_INTERVAL = 0.25  # RQ's schedule is in whole seconds: a due retry waits at most this much more

    def __init__(self, app: Flask, threads: int | None = None) -> None:
        self.app = app
        self.hub: Hub = app.extensions[EXTENSION]
        count = self.hub.config.hub.worker_threads if threads is None else threads
        self.workers = [make_worker(app, worker_ttl=16) for _ in range(count)]
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        for index, worker in enumerate(self.workers):
            self._spawn(self._work, index, name=f"cxhub-worker-{worker.name[:8]}")
        self._spawn(self._schedule, name="cxhub-scheduler")
        self._spawn(self._take_in, name="cxhub-intake")
        self.threads.append(run_periodically(self.hub, self.stopping))
        self.threads.append(run_noise_periodically(self.hub, self.stopping))
        if (poller := run_polls_periodically(self.hub, self.stopping)) is not None:
            self.threads.append(poller)
        if (sweeper := sweep_enrichments_periodically(self.hub, self.stopping)) is not None:
            self.threads.append(sweeper)
        self.threads.append(resolve_profiles_periodically(self.hub, self.stopping))
        self.threads.append(run_metrics_periodically(self.hub, self.stopping))
        if (cases := run_case_checks_periodically(self.hub, self.stopping)) is not None:
            self.threads.append(cases)

    def stop(self, timeout: float = 10.0) -> None:
        self.stopping.set()
        for worker in self.workers:
            worker.stop()
        for thread in self.threads:
            thread.join(timeout)

    def _spawn(self, target: Any, *args: Any, name: str) -> None:
        def run() -> None:
            name_os_thread(name)
            target(*args)

        thread = threading.Thread(target=run, name=name, daemon=True)
        thread.start()
        self.threads.append(thread)

    def _work(self, index: int) -> None:
        """Run delivery thread `index` until stopped, with a fresh RQ worker each time RQ's loop quits.

        RQ's work loop quits on an error it cannot handle (Redis failing while it records a job's
        failure, as when Redis restarts and answers "loading"); without this the process would
        live on, sweeping and taking in, with fewer and fewer threads delivering.
        """
        with self.app.app_context():
            while True:
                self.workers[index].work(logging_level="WARNING")
                if self.stopping.wait(RESTART_SECONDS):
                    return
                log.error("delivery thread %d stopped on an error (logged above); starting it again", index)
                self.workers[index] = make_worker(self.app, worker_ttl=16)
                if self.stopping.is_set():  # stop() may have gone through the list before the new worker was in it
                    return

    def _take_in(self) -> None:
        with self.app.app_context():
            IntakeConsumer(self.hub).run(self.stopping)

    def _schedule(self) -> None:
        """Move due retries onto their queues, as RQ's scheduler does (one process at a time, by lock)."""
        scheduler = RQScheduler(self.hub.queue.queues, connection=self.hub.redis)
        while not self.stopping.wait(self.SCHEDULER_INTERVAL):
            try:
                if not scheduler.acquired_locks:
                    scheduler.acquire_locks()
                scheduler.enqueue_scheduled_jobs()
            except Exception:
                log.exception("scheduler pass failed; trying again in %gs", self.SCHEDULER_INTERVAL)
        if scheduler.acquired_locks:  # RQ 2.0 sends an empty DEL, which Redis refuses, when it holds none
            scheduler.release_locks()


def run_worker(app: Flask, *, burst: bool = False, intake_only: bool = False) -> None:
    """Deliver until SIGTERM/SIGINT (then finish the jobs under way), or until the queues are empty with `burst`.

    `intake_only` runs just an intake consumer, for scaling the storing of what `accept_into:
    redis` accepted apart from delivery.
    """
    hub: Hub = app.extensions[EXTENSION]
    if burst:
        with app.app_context():
            IntakeConsumer(hub).drain()
            if not intake_only:
                make_worker(app).work(burst=True, logging_level="WARNING")
                resolve_all(hub)
        return
    stopped = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stopped.set())
    if intake_only:
        with app.app_context():
            IntakeConsumer(hub).run(stopped)
        return
    threads = WorkerThreads(app)
    threads.start()
    while not stopped.wait(1):
        pass
    log.warning("stopping: finishing the deliveries under way")
    threads.stop(timeout=hub.queue.job_timeout)


def recover_unfinished(hub: Hub) -> int:
    """Queue again the deliveries an embedded hub left queued or running when it stopped.

    In embedded mode every worker lives in this process, so at start-up nothing can still be
    running: a 'running' delivery was cut off mid-attempt and must run again. Retries wait in
    RQ's scheduled registry, which the embedded Redis keeps on disk.
    """
    running = [item.id for item in hub.store.deliveries.with_status(("running",))]
    requeued = hub.store.deliveries.requeue(running, from_statuses=("running",), fresh_budget=False) if running else []
    owed = sorted(set(hub.store.deliveries.with_status(("queued",))) | set(requeued))
    hub.queue.enqueue(owed)
    return len(owed)
