"""Retention: finished events older than `hub.retention_days` are deleted, so the store stays bounded.

Redis needs no trimming of its own: a finished job is deleted at once (result_ttl=0) and a
crashed one after a week (failure_ttl); what stays is what is still queued.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from hub.runtime import Hub
from hub.store import StoreUnavailable, now

log = logging.getLogger("cxhub.retention")
PRUNE_EVERY_SECONDS = 3600


def prune(hub: Hub, *, older_than_days: float | None = None) -> dict[str, int]:
    """Delete what the retention setting (or `older_than_days`) lets go; return the counts.

    The months ahead of events, deliveries and attempts are partitioned first, retention on or
    off (PostgreSQL: hub/store/partitions.py), so rows of a new month never pile up in DEFAULT.
    """
    try:
        made = hub.store.partitions.ensure()
    except StoreUnavailable as error:  # the months ahead are tried again next time; retention goes on
        log.warning("partitions not made this time: %s", error)
    else:
        if made:
            log.info("partitions made: %s", ", ".join(made))
    days = hub.config.hub.retention_days if older_than_days is None else older_than_days
    if days <= 0:
        return {}
    counts = hub.store.retention.prune(now() - timedelta(days=days))
    if any(counts.values()):
        log.info("retention (%g days): deleted %s", days, ", ".join(f"{n} {kind}" for kind, n in counts.items()))
    return counts


def prune_when_due(hub: Hub) -> dict[str, int] | None:
    """Prune at most once an hour across all processes (a Redis key marks the last run)."""
    if not hub.redis.set(f"cxhub:{hub.config.hub.queue}:pruned", 1, nx=True, ex=PRUNE_EVERY_SECONDS):
        return None
    return prune(hub)
