"""The RQ job: module-level and given only ids, as RQ jobs should be."""

from __future__ import annotations

import logging

from flask import current_app

from hub import instruments
from hub.delivery.job import RUNNER
from hub.enrichment.runner import Enricher
from hub.runtime import current_hub
from hub.store import StoreUnavailable

log = logging.getLogger("cxhub.enrichment")


def enrich(event_id: str, source: str) -> None:
    """Enrich one thin event (see `hub.enrichment.runner`). With the database down, the job comes back later."""
    hub = current_hub()
    try:
        result = Enricher(hub, current_app.extensions[RUNNER].enrichment_leases).run(event_id, source)
        instruments.enrichment_ran(instruments.bounded(source, hub.config.sources), result)
    except StoreUnavailable as error:
        wait = hub.config.hub.database_retry_seconds
        log.warning("enrichment of %s waits for the database (%s); trying again in %.0fs", event_id, error, wait)
        hub.queue.schedule_enrichment(event_id, source, wait)
