"""Attaches stored events to customer profiles in a worker, after the vendor has its 202.

Resolution is kept off the ingest path: take-in stores events as `pending` (a column default,
so the one-statement insert is unchanged), and a thread of every `cxhub worker` (and of
embedded `cxhub serve`) attaches them in batches, one process at a time (a Redis lock). The
database is the only queue, so nothing can be lost between the two: an event stays pending
until a transaction attaches it.

The failure path, step by step:

1. The database or Redis is down: the batch stays pending; the thread waits
   `hub.database_retry_seconds` and tries again.
2. Another transaction changed the same profiles (two processes, an admin's merge): the store
   runs the transaction again (`Conflict`), up to eight times, then the batch stays pending.
3. Anything else (a bug one event triggers): the batch is tried event by event, so that
   event alone is marked `failed` (logged with its traceback) and blocks no other;
   `cxhub customers resolve --failed` tries the failed ones again after a fix.

Thin events wait (`waiting`) until their enrichment completes or fails, which sets them
pending again: a Zendesk requester id is resolved with the email it led to.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Sequence

import orjson
from redis.exceptions import LockError, RedisError

from hub.profiles.identity import Rules, namespaces_for
from hub.redis_errors import RedisUnavailable
from hub.runtime import Hub
from hub.store import StoreUnavailable
from hub.store.profiles import Conflict
from hub.store.rows import EventIdentity, PendingEvent, Resolution

log = logging.getLogger("cxhub.profiles")
BATCH = 200
BATCHES_PER_LOCK = 25


def rules_for(hub: Hub) -> Rules:
    customers = hub.config.customers
    plugins = {name: source.plugin for name, source in hub.config.sources.items()}
    return Rules(customers, namespaces_for(customers, plugins))


def identity_of(rules: Rules, row: PendingEvent) -> EventIdentity:
    event = orjson.loads(row.body)
    data = event.get("data") or {}
    score = data.get("score")
    moment = datetime.fromisoformat(str(event["time"]).replace("Z", "+00:00"))
    return EventIdentity(row.id, row.source, moment,
                         tuple((item.kind, item.value) for item in rules.identifiers(event)),
                         score if isinstance(score, dict) else None)


def resolve_pending(hub: Hub, *, batch: int = BATCH) -> int:
    """Attach one batch of pending events to their profiles; return how many are no longer pending."""
    rows = hub.store.profiles.pending(batch)
    if not rows:
        return 0
    rules = rules_for(hub)
    items, broken = [], []
    for row in rows:
        try:
            items.append(identity_of(rules, row))
        except Exception:
            log.exception("event %s: its identifiers cannot be read; it is marked failed", row.id)
            broken.append(row.id)
    if broken:
        hub.store.profiles.mark(broken, "failed")
    return len(rows) - _resolve(hub, items)


def _resolve(hub: Hub, items: Sequence[EventIdentity]) -> int:
    """Attach the events (or mark them failed); return how many are left pending (a `Conflict` that persisted)."""
    if not items:
        return 0
    try:
        results = hub.store.profiles.resolve(items, hub.config.customers.limit)
    except StoreUnavailable:
        raise
    except Exception as error:
        if len(items) > 1:
            log.warning("profiles: a batch of %d failed (%s); attaching its events one at a time",
                        len(items), type(error).__name__)
            return sum(_resolve(hub, [item]) for item in items)
        if isinstance(error, Conflict):
            log.warning("event %s: its profiles kept changing under it; it stays pending", items[0].event_id)
            return 1
        log.exception("event %s: attaching it to a profile failed; it is marked failed "
                      "(cxhub customers resolve --failed tries again)", items[0].event_id)
        hub.store.profiles.mark([items[0].event_id], "failed")
        return 0
    for result in results:
        _log(result)
    return 0


def _log(result: Resolution) -> None:
    for absorbed in result.merged:
        log.info("event %s merged customer %s into %s", result.event_id, absorbed, result.profile_id)
    for why in result.refused:
        log.info("event %s (customer %s): %s", result.event_id, result.profile_id, why)


def resolve_all(hub: Hub) -> int:
    """Attach everything pending now, in this thread (tests, `cxhub worker --burst`, `cxhub customers resolve`)."""
    total = 0
    while taken := resolve_pending(hub):  # 0: nothing pending, or only events a later pass must try again
        total += taken
    return total


def resolve_with_lock(hub: Hub) -> int:
    """Attach pending events if no other process is doing it (a Redis lock); return how many."""
    lock = hub.redis.lock(f"cxhub:{hub.config.hub.queue}:profiles", timeout=300)
    try:
        if not lock.acquire(blocking=False):
            return 0
    except RedisError as error:
        raise RedisUnavailable.from_error("the profile lock", error) from error
    try:
        total = 0
        for _ in range(BATCHES_PER_LOCK):
            taken = resolve_pending(hub)
            total += taken
            if taken < BATCH:  # the last batch, or one whose events stay pending: wait for the next pass
                break
        return total
    finally:
        try:
            lock.release()
        except (LockError, RedisError):
            pass


def run_periodically(hub: Hub, stopping: threading.Event) -> threading.Thread:
    """Attach pending events until `stopping`, looking every `customers.resolve_interval_seconds` when idle."""

    def loop() -> None:
        while not stopping.is_set():
            try:
                taken = resolve_with_lock(hub)
            except (StoreUnavailable, RedisUnavailable, RedisError) as error:
                log.warning("profiles: %s; trying again in %.0fs", error, hub.config.hub.database_retry_seconds)
                stopping.wait(hub.config.hub.database_retry_seconds)
                continue
            except Exception:
                log.exception("profiles: a pass failed; trying again in 5s")
                stopping.wait(5)
                continue
            if not taken:
                stopping.wait(hub.config.customers.resolve_interval_seconds)

    thread = threading.Thread(target=loop, name="cxhub-profiles", daemon=True)
    thread.start()
    return thread
