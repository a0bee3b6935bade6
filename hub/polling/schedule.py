"""Runs each source's poll every `poll.every`, in one worker process at a time.

A source is due when its Redis key `<queue>:poll:<source>:due` is absent: the process that
sets it (SET NX, expiring after `every`) has the turn, and every other process skips the
source until it expires. A second lock, held while the poll runs, keeps a poll slower than
`every` from overlapping the next one. A vendor that answers 429 with Retry-After pushes the
next turn back by that long. Losing Redis loses only the timing: the cursors are in the store.
"""

from __future__ import annotations

import logging
import threading
import time

from redis.exceptions import LockError, RedisError

from hub import instruments
from hub.polling.poller import PollFailed, poll_source
from hub.redis_errors import RedisUnavailable
from hub.runtime import Hub
from hub.store import StoreUnavailable

log = logging.getLogger("cxhub.poll")
TICK_SECONDS = 1.0  # how often the scheduler looks for due sources
RUNNING_LOCK_SECONDS = 600  # a poller that died holding the running lock frees it after this


def _key(hub: Hub, source: str, what: str) -> str:
    return f"cxhub:{hub.config.hub.queue}:poll:{source}:{what}"


def poll_due_sources(hub: Hub) -> list[str]:
    """Poll every source whose turn has come; return the names polled (failures are logged)."""
    polled = []
    for name, schedule in hub.config.polls.items():
        if not hub.redis.set(_key(hub, name, "due"), str(time.time()), nx=True, ex=max(1, int(schedule.every_seconds))):
            continue
        lock = hub.redis.lock(_key(hub, name, "running"), timeout=RUNNING_LOCK_SECONDS)
        if not lock.acquire(blocking=False):
            continue
        try:
            polled.append(name)
            _poll_logged(hub, name, schedule.every_seconds)
        finally:
            try:
                lock.release()
            except LockError:
                pass
    return polled


def _poll_logged(hub: Hub, name: str, every: float) -> None:
    try:
        outcome = poll_source(hub, name)
    except PollFailed as error:
        if error.retry_after and error.retry_after > every:
            hub.redis.set(_key(hub, name, "due"), str(time.time()), ex=int(error.retry_after) + 1)
        log.warning("poll of %s failed: %s", name, error.message)
        instruments.poll_ran(name, "failed")
        return
    except (StoreUnavailable, RedisUnavailable, RedisError) as error:
        log.warning("poll of %s skipped: %s", name, error)
        instruments.poll_ran(name, "skipped")
        return
    except Exception:  # a plugin bug: logged with its traceback, the next turn tries again
        log.exception("poll of %s: the plugin raised", name)
        instruments.poll_ran(name, "error")
        return
    instruments.poll_ran(name, "ok", len(outcome.accepted), len(outcome.duplicates))
    if outcome.events:
        log.info("poll of %s: %d new, %d already known", name, len(outcome.accepted), len(outcome.duplicates))


def run_polls_periodically(hub: Hub, stopping: threading.Event) -> threading.Thread | None:
    """Look for due sources every second in a daemon thread until `stopping`; None when no source polls."""
    if not hub.config.polls:
        return None

    def loop() -> None:
        while not stopping.wait(TICK_SECONDS):
            try:
                poll_due_sources(hub)
            except (RedisUnavailable, RedisError) as error:
                log.warning("polls skipped: %s", error)

    thread = threading.Thread(target=loop, name="cxhub-poller", daemon=True)
    thread.start()
    return thread
