"""The RQ job: module-level and given only ids, as RQ jobs should be."""

from __future__ import annotations

import logging

from flask import current_app

from hub.store import StoreUnavailable

RUNNER = "cxhub.runner"
log = logging.getLogger("cxhub.delivery")


def deliver(delivery_id: str, connection: str) -> None:
    """Run one delivery in the worker's application (the worker pushes its app context).

    `connection` names the queue the job belongs to, so it can be put back there. With the
    database down the delivery cannot even be claimed: the job comes back later (and if Redis is
    down too, the sweeper finds the delivery once both are back).
    """
    runner = current_app.extensions[RUNNER]
    try:
        runner.run(delivery_id, connection)
    except StoreUnavailable as error:
        wait = runner.hub.config.hub.database_retry_seconds
        log.warning("delivery %s waits for the database (%s); trying again in %.0fs", delivery_id, error, wait)
        runner.hub.queue.schedule(delivery_id, connection, wait)
