"""The worker's noise schedule: every second, make the digests that are due and release holds that ended.

It runs in every worker process (hub.worker) and takes a Redis lock for each pass, so one
process works at a time; the store makes either step safe without it (a digest's id is fixed by
its window, a hold is released by one conditional UPDATE), so a lock lost mid-pass costs
nothing. A worker killed mid-pass loses nothing either: collected events stay `collecting`, a
digest made but not queued is found by the sweeper, a hold released but not queued too.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import NamedTuple

from redis.exceptions import LockError, RedisError

from hub.noise.digest import flush_due_digests
from hub.redis_errors import RedisUnavailable
from hub.runtime import Hub
from hub.store import StoreUnavailable

log = logging.getLogger("cxhub.noise")
TICK_SECONDS = 1.0
LOCK_SECONDS = 60


class Pass(NamedTuple):
    digests: int  # digests made
    released: int  # held deliveries whose quiet hours ended, queued again


def run_noise_pass(hub: Hub, moment: datetime | None = None) -> Pass:
    """One pass at `moment` (the hub's clock by default); one process at a time, others return Pass(0, 0)."""
    moment = moment or hub.clock()
    lock = hub.redis.lock(f"cxhub:{hub.config.hub.queue}:noise", timeout=LOCK_SECONDS)
    if not lock.acquire(blocking=False):
        return Pass(0, 0)
    try:
        made = flush_due_digests(hub, moment)
        released = hub.store.noise.release_due(moment)
        hub.queue.enqueue(released)
        if released:
            log.info("released %d deliveries whose quiet hours ended", len(released))
        return Pass(len(made), len(released))
    finally:
        try:
            lock.release()
        except LockError:
            pass


def run_noise_periodically(hub: Hub, stopping: threading.Event) -> threading.Thread:
    """Run a pass every TICK_SECONDS in a daemon thread until `stopping`."""

    def loop() -> None:
        while not stopping.wait(TICK_SECONDS):
            try:
                run_noise_pass(hub)
            except (StoreUnavailable, RedisUnavailable, RedisError) as error:
                log.warning("noise pass skipped: %s", error)
            except Exception:  # never let a bad pass stop the schedule
                log.exception("noise pass failed; trying again in %gs", TICK_SECONDS)

    thread = threading.Thread(target=loop, name="cxhub-noise", daemon=True)
    thread.start()
    return thread
