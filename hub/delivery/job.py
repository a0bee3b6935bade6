"""The RQ job: module-level and given only ids, as RQ jobs should be."""

from __future__ import annotations

import logging
import time

from flask import current_app
from redis.exceptions import RedisError

from hub.delivery.runner import BATCH_SECONDS
from hub.store import StoreUnavailable

RUNNER = "cxhub.runner"
BATCH_SIZE = 20  # deliveries one job takes at a time from those waiting for its connection
log = logging.getLogger("cxhub.delivery")


def deliver(delivery_id: str, connection: str) -> None:
    """Run one delivery, then batches of others waiting on the same connection's queue.

    Taking the waiting jobs spares RQ's per-job bookkeeping (a dozen Redis round trips) and lets
    the runner claim and store each batch in one transaction. The first delivery runs alone, so a
    slow destination's backlog is not all taken by the first thread to reach it, and each batch
    is at most this thread's share of what waits (the connection's in-flight cap is how many
    threads of this process may share it): a short queue is delivered in parallel, not in one
    thread's line, and only a backlog makes full batches. `connection`
    names the queue the job belongs to, so it can be put back there. With the database down
    nothing can even be claimed: the jobs come back later (and if Redis is down too, the sweeper
    finds the deliveries once both are back). With Redis away after a batch, the job ends: the
    jobs not taken wait in their queue, and a batch whose taking went unanswered is found by the
    sweeper. The worker pushes the app context.
    """
    runner = current_app.extensions[RUNNER]
    queue = runner.hub.queue
    started = time.monotonic()
    batch = [delivery_id]
    while batch:
        try:
            runner.run(batch, connection)
        except StoreUnavailable as error:
            wait = runner.hub.config.hub.database_retry_seconds
            log.warning("%d deliveries wait for the database (%s); trying again in %.0fs", len(batch), error, wait)
            for waiting in batch:
                queue.schedule(waiting, connection, wait)
            return
        if time.monotonic() - started >= BATCH_SECONDS or not runner.gate.is_open(connection):
            return
        try:
            batch = queue.take(connection, BATCH_SIZE, takers=runner.gate.caps.get(connection, 1))
        except RedisError as error:  # Redis went away or is loading: what waits is still queued, in RQ or the store
            log.warning("could not take more deliveries for %s: %s", connection, error)
            return
