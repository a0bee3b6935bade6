"""Finds deliveries whose job was lost and queues them again, so an accepted event is never stranded.

A job is lost when its worker dies mid-attempt (SIGKILL, OOM, a machine gone), when Redis restarts
without the job, or when queuing failed. The store knows every delivery still owed; the sweeper
compares that with time: a running delivery past its lease, or a queued or retrying one idle past
the grace period, gets a new job. A job that turns out to be a duplicate is harmless: only one
run can claim the delivery. Deliveries of a paused connection (circuit breaker open, or held
until an admin resumes it) are not stalled but waiting on purpose, so they are left alone.
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


def sweep(hub: Hub) -> int:
    """Queue overdue deliveries again; return how many. One process sweeps at a time (a Redis lock)."""
    settings = hub.config.hub
    lock = hub.redis.lock(f"cxhub:{settings.queue}:sweeper", timeout=120)
    if not lock.acquire(blocking=False):
        return 0
    try:
        expired, stalled = hub.store.deliveries.overdue(timedelta(seconds=settings.sweep_grace_seconds))
        revived = hub.store.deliveries.requeue([item.id for item in expired], from_statuses=("running",),
                                               fresh_budget=False) if expired else []
        held = _paused_connections(hub)
        owed = revived + [item for item in stalled if item.connection not in held]
        if owed:
            hub.queue.enqueue(owed)
            hub.store.deliveries.touch([item.id for item in owed])
            log.warning("queued %d deliveries again (%d past their lease, %d whose job was lost)",
                        len(owed), len(revived), len(stalled))
        return len(owed)
    finally:
        try:
            lock.release()
        except LockError:
            pass


def _paused_connections(hub: Hub) -> set[str]:
    moment = time.time()
    states = read_breakers(hub.redis, hub.config.hub.queue, list(hub.config.connections))
    return {name for name, state in states.items() if state.paused(moment)}


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
