"""The metrics thread of `cxhub worker` (and of embedded `cxhub serve`): fold, then evaluate alerts.

The take-in stores each response's row with its event; this thread adds the rows to the counts
every `metrics.fold_seconds`, and evaluates the alert rules after each fold that counted
something (an event can make a rule hold) and at least every `metrics.alert_seconds` (time
alone moves a rolling window: a rule can stop holding with no new event). A failing pass (the
database or Redis away) leaves the rows pending and is simply tried again on the next tick:
nothing is lost, and the webhooks were answered long before.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime

from redis.exceptions import RedisError

from hub.alerting.evaluate import evaluate_rules
from hub.redis_errors import RedisUnavailable
from hub.runtime import Hub
from hub.store import StoreUnavailable

log = logging.getLogger("cxhub.metrics")


def metrics_pass(hub: Hub, *, evaluate: bool = True, now: datetime | None = None) -> int:
    """Fold what is pending, then evaluate the alert rules; return how many responses were folded."""
    folded = hub.store.metrics.fold()
    if evaluate:
        evaluate_rules(hub, now)
    return folded


def run_metrics_periodically(hub: Hub, stopping: threading.Event) -> threading.Thread:
    settings = hub.config.metrics

    def loop() -> None:
        evaluated = 0.0
        while not stopping.wait(settings.fold_seconds):
            try:
                folded = hub.store.metrics.fold()
                if hub.config.alerts and (folded or time.monotonic() - evaluated >= settings.alert_seconds):
                    evaluate_rules(hub)
                    evaluated = time.monotonic()
            except (StoreUnavailable, RedisUnavailable, RedisError) as error:
                log.warning("metrics pass skipped: %s", error)
            except Exception:  # a bug here must not end the thread: the next tick tries again
                log.exception("metrics pass failed")

    thread = threading.Thread(target=loop, name="cxhub-metrics", daemon=True)
    thread.start()
    return thread
