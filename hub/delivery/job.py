"""The RQ job: module-level and given only ids, as RQ jobs should be."""

from __future__ import annotations

import logging
import time

from flask import current_app

from hub.store import StoreUnavailable

RUNNER = "cxhub.runner"
BATCH_SIZE = 20  # deliveries one job may run: its own, then others waiting for the same connection
BATCH_SECONDS = 10.0  # no further delivery is taken once a batch has run this long
log = logging.getLogger("cxhub.delivery")


def deliver(delivery_id: str, connection: str) -> None:
    """Run one delivery, then others waiting on the same connection's queue (the worker pushes its app context).

    `connection` names the queue the job belongs to, so it can be put back there. With the
    database down no delivery can even be claimed: the job comes back later (and if Redis is
    down too, the sweeper finds the delivery once both are back).
    """
    runner = current_app.extensions[RUNNER]
    queue = runner.hub.queue
    started = time.monotonic()
    batch = [delivery_id]
    while batch:
        current = batch.pop(0)
        try:
            runner.run(current, connection)
        except StoreUnavailable as error:
            wait = runner.hub.config.hub.database_retry_seconds
            log.warning("delivery %s waits for the database (%s); trying again in %.0fs", current, error, wait)
            for waiting in [current, *batch]:
                queue.schedule(waiting, connection, wait)
            return
        if not batch and time.monotonic() - started < BATCH_SECONDS and runner.gate.is_open(connection):
            batch = queue.take(connection, BATCH_SIZE - 1)
