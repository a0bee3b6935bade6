"""Queues enrichments whose job was lost again, as `hub.delivery.sweeper` does for deliveries.

A running enrichment past its lease (its worker died) goes back to pending; a pending one
idle past the grace period (its job was lost, or queuing failed) gets a new job. A duplicate
job is harmless: only one run can claim the enrichment.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from redis.exceptions import LockError, RedisError

from hub.redis_errors import RedisUnavailable
from hub.runtime import Hub
from hub.store import StoreUnavailable

log = logging.getLogger("cxhub.sweeper")


def sweep_enrichments(hub: Hub) -> int:
    """Queue overdue enrichments again; return how many. One process sweeps at a time (a Redis lock)."""
    settings = hub.config.hub
    lock = hub.redis.lock(f"cxhub:{settings.queue}:enrichment-sweeper", timeout=120)
    if not lock.acquire(blocking=False):
        return 0
    try:
        expired, stalled = hub.store.enrichments.overdue(timedelta(seconds=settings.sweep_grace_seconds))
        revived = hub.store.enrichments.revive([event_id for event_id, _ in expired]) if expired else []
        owed = revived + stalled
        if owed:
            hub.queue.enqueue_enrichments(owed)
            hub.store.enrichments.touch([event_id for event_id, _ in owed])
            log.warning("queued %d enrichments again (%d past their lease, %d whose job was lost)",
                        len(owed), len(revived), len(stalled))
        return len(owed)
    finally:
        try:
            lock.release()
        except LockError:
            pass


def run_periodically(hub: Hub, stopping: threading.Event) -> threading.Thread | None:
    """Sweep every `hub.sweep_interval_seconds` in a daemon thread until `stopping`; None if no source enriches."""
    if not hub.config.enrichment:
        return None

    def loop() -> None:
        while not stopping.wait(hub.config.hub.sweep_interval_seconds):
            try:
                sweep_enrichments(hub)
            except (StoreUnavailable, RedisUnavailable, RedisError) as error:
                log.warning("enrichment sweep skipped: %s", error)

    thread = threading.Thread(target=loop, name="cxhub-enrichment-sweeper", daemon=True)
    thread.start()
    return thread
