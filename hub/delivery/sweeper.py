"""Finds deliveries whose job was lost and queues them again, so an accepted event is never stranded.

A job is lost when its worker dies mid-attempt (SIGKILL, OOM, a machine gone), when Redis restarts
without the job, or when queuing failed. The store knows every delivery still owed; the sweeper
compares that with time: a running delivery past its lease (which a live worker keeps renewing:
hub.delivery.leases), or a queued or retrying one idle past the grace period, gets a new job.
The grace period is long (a backlog can keep a delivery waiting honestly), except on a connection
whose queue is empty with nothing scheduled: there, a delivery queued IDLE_GRACE_SECONDS ago has
no job left to wait for (its worker took it and died before claiming it, or Redis lost it), so a
crashed worker's batch comes back in seconds, not minutes. A job that turns out to be a duplicate
is harmless: only one run can claim the delivery. Deliveries of a paused or slowed connection
(circuit breaker open, held until an admin resumes it, or waiting out a Retry-After) are not
stalled but waiting on purpose, so they are left alone.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from redis.exceptions import LockError, RedisError

from hub.delivery.gate import read_breakers
from hub.redis_errors import RedisUnavailable
from hub.retention import prune_when_due
from hub.runtime import Hub
from hub.store import StoreUnavailable

log = logging.getLogger("cxhub.sweeper")
LOCK_SECONDS = 10  # how long a sweep may hold the sweepers' lock before another may sweep too
IDLE_GRACE_SECONDS = 10  # longer than any job takes from its queue to its claim


def sweep(hub: Hub) -> int:
    """Queue overdue deliveries again; return how many. One process sweeps at a time (a Redis lock)."""
    settings = hub.config.hub
    # The lock only spares the others duplicate work (a delivery queued twice is claimed once), so it
    # is short: a worker killed mid-sweep, or a Redis restart that kept the key, must not stop every
    # sweep for long. It held 120 s once, and the bench's recovery took 121 s after a SIGKILL.
    lock = hub.redis.lock(f"cxhub:{settings.queue}:sweeper", timeout=LOCK_SECONDS)
    if not lock.acquire(blocking=False):
        return 0
    try:
        blocked = _blocked_connections(hub)
        expired, stalled = hub.store.deliveries.overdue(timedelta(seconds=settings.sweep_grace_seconds),
                                                        idle=_idle_connections(hub) - blocked,
                                                        idle_grace=timedelta(seconds=IDLE_GRACE_SECONDS))
        revived = hub.store.deliveries.requeue([item.id for item in expired], from_statuses=("running",),
                                               fresh_budget=False) if expired else []
        owed = revived + [item for item in stalled if item.connection not in blocked]
        if owed:
            # Touched before the jobs exist: a job's claim skips a row another transaction is updating.
            hub.store.deliveries.touch([item.id for item in owed])
            hub.queue.enqueue(owed)
            log.warning("queued %d deliveries again (%d past their lease, %d whose job was lost)",
                        len(owed), len(revived), len(owed) - len(revived))
        return len(owed)
    finally:
        try:
            lock.release()
        except LockError:
            pass


def _blocked_connections(hub: Hub) -> set[str]:
    """Connections whose deliveries wait on purpose: paused, held, or slowed by a Retry-After."""
    moment = time.time()
    states = read_breakers(hub.redis, hub.config.hub.queue, list(hub.config.connections))
    return {name for name, state in states.items() if state.paused(moment) or (state.slowed_until or 0) > moment}


def _idle_connections(hub: Hub) -> set[str]:
    """Connections with no job waiting in their queue and none scheduled (one round trip)."""
    names = list(hub.queue.by_connection)
    with hub.redis.pipeline(transaction=False) as pipeline:
        for name in names:
            queue = hub.queue.by_connection[name]
            pipeline.llen(queue.key)
            pipeline.zcard(queue.scheduled_job_registry.key)
        answers = pipeline.execute()
    return {name for name, waiting, scheduled in zip(names, answers[::2], answers[1::2]) if not waiting and not scheduled}


def run_periodically(hub: Hub, stopping: threading.Event) -> threading.Thread:
    """Sweep every `hub.sweep_interval_seconds` (and apply retention hourly) in a daemon thread until `stopping`."""

    def loop() -> None:
        while not stopping.wait(hub.config.hub.sweep_interval_seconds):
            try:
                sweep(hub)
                prune_when_due(hub)
            except (StoreUnavailable, RedisUnavailable, RedisError) as error:
                log.warning("sweep skipped: %s", error)

    thread = threading.Thread(target=loop, name="cxhub-sweeper", daemon=True)
    thread.start()
    return thread
