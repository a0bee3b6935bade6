"""GET /metrics: the counters of this machine's processes, and the hub's shared state read at scrape time.

Off until `CXHUB_METRICS_TOKEN` is set; then a scrape needs `Authorization: Bearer <token>`
(Prometheus: `authorization: {credentials_file: ...}`). The numbers are not secret, but they
tell an outsider which vendors and destinations a hub talks to and how busy it is.

The shared state (queue depths, intake backlog, dead letters, breakers and holds) lives in
Redis and the database, so it is read here, once per scrape, by whichever web process answers,
and is the same whichever answers. Each part is read under a deadline: while Redis or the
database is down the scrape still answers 200, with the counters, `cxhub_backend_up{backend}`
at 0 and that part's gauges left out, rather than failing the whole scrape.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Callable, Iterator

from flask import Blueprint, Response, current_app, request
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from hub.errors import ApiError
from hub.instruments.exposition import CONTENT_TYPE, counters_text, token_matches
from hub.operations import backlog, connection_states
from hub.runtime import Hub, current_hub

blueprint = Blueprint("metrics", __name__)
READ_SECONDS = 2.0  # how long a scrape waits for Redis or the database before reporting it down
POOL = "cxhub.metrics.pool"
Reader = Callable[[Hub], list[GaugeMetricFamily]]


def _redis_state(hub: Hub) -> list[GaugeMetricFamily]:
    """Queue depths, scheduled retries, the intake log, breakers and holds: all in Redis."""
    depth = GaugeMetricFamily("cxhub_queue_depth", "Delivery jobs waiting in a connection's queue", labels=["connection"])
    scheduled = GaugeMetricFamily("cxhub_queue_scheduled", "Delivery retries waiting for their backoff",
                                  labels=["connection"])
    for name, queue in hub.queue.by_connection.items():
        depth.add_metric([name], queue.count)
        scheduled.add_metric([name], queue.scheduled_job_registry.count)
    waiting = backlog(hub)["intake"]
    intake = GaugeMetricFamily("cxhub_intake_backlog", "Webhooks in the intake log not yet stored "
                               "(accept_into: redis)", value=waiting["entries"])
    held = GaugeMetricFamily("cxhub_intake_held", "Intake entries read by a consumer and not yet acknowledged",
                             value=waiting["held"])
    breaker = GaugeMetricFamily("cxhub_connection_breaker_state", "1 for a connection's current state "
                                "(ok, half-open, paused)", labels=["connection", "state"])
    paused = GaugeMetricFamily("cxhub_connection_paused", "1 while a connection takes no deliveries: paused by "
                               "its breaker, half-open, or held until an admin resumes it", labels=["connection"])
    held_by = GaugeMetricFamily("cxhub_connection_held", "1 while a connection is held (the destination said "
                                "to stop) until an admin resumes it", labels=["connection"])
    failures = GaugeMetricFamily("cxhub_connection_consecutive_failures", "Retryable failures in a row "
                                 "(the breaker's count)", labels=["connection"])
    for row in connection_states(hub):
        name = row["connection"]
        for state in ("ok", "half-open", "paused"):
            breaker.add_metric([name, state], 1 if row["status"] == state else 0)
        paused.add_metric([name], 0 if row["status"] == "ok" else 1)
        held_by.add_metric([name], 1 if row["reason"] is not None else 0)
        failures.add_metric([name], row["failures"] or 0)
    return [depth, scheduled, intake, held, breaker, paused, held_by, failures]


def _database_state(hub: Hub) -> list[GaugeMetricFamily]:
    dead = GaugeMetricFamily("cxhub_dead_letters", "Dead-lettered deliveries waiting for a redelivery",
                             labels=["connection"])
    counts = hub.store.reads.dead_by_connection()
    for name in sorted(set(hub.config.connections) | set(counts)):
        dead.add_metric([name], counts.get(name, 0))
    return [dead, *_waiting_state(hub)]


OTHER = "other"  # a route or connection no longer in the config: its rows count here (bounded labels)


def _waiting_state(hub: Hub) -> list[GaugeMetricFamily]:
    """Deliveries held (for review or quiet hours) and collecting for digests, per configured route and connection."""
    held = GaugeMetricFamily("cxhub_deliveries_held", "Deliveries held: for review (over a route's max_per_hour, "
                             "until released) or until a connection's quiet hours end",
                             labels=["route", "connection", "reason"])
    collecting = GaugeMetricFamily("cxhub_deliveries_collecting", "Deliveries collected for a digest not sent yet",
                                   labels=["route", "connection"])
    pairs = {(route.name, action.connection) for route in hub.config.routes for action in route.actions}
    counts: dict[tuple[str, str, str], int] = {}
    for route, connection, kind, count in hub.store.noise.waiting_counts():
        known = (route, connection) in pairs
        key = (route if known else OTHER, connection if known else OTHER, kind)
        counts[key] = counts.get(key, 0) + count
    for route, connection in sorted(pairs | {(r, c) for r, c, _ in counts}):
        for reason in ("review", "quiet_hours"):
            held.add_metric([route, connection, reason], counts.get((route, connection, reason), 0))
        collecting.add_metric([route, connection], counts.get((route, connection, "collecting"), 0))
    return [held, collecting]


READERS: dict[str, Reader] = {"redis": _redis_state, "database": _database_state}


class SharedState(Collector):
    """The gauges read from Redis and the database, each part under READ_SECONDS."""

    def __init__(self, hub: Hub, pool: ThreadPoolExecutor) -> None:
        self.hub, self.pool = hub, pool

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily("cxhub_backend_up", "1 when the scrape could read this backend, else 0",
                               labels=["backend"])
        took = GaugeMetricFamily("cxhub_scrape_read_seconds", "Time this scrape spent reading a backend",
                                 labels=["backend"])
        pending = {name: (time.perf_counter(), self.pool.submit(read, self.hub)) for name, read in READERS.items()}
        for name, (started, future) in pending.items():
            try:
                families = future.result(timeout=max(0.0, READ_SECONDS - (time.perf_counter() - started)))
            except FutureTimeout:
                families, ok = [], False
            except Exception:  # down, or a query that failed: the part is left out, the scrape answers
                families, ok = [], False
            else:
                ok = True
            up.add_metric([name], 1 if ok else 0)
            took.add_metric([name], time.perf_counter() - started)
            yield from families
        yield up
        yield took


def _pool() -> ThreadPoolExecutor:
    pool = current_app.extensions.get(POOL)
    if pool is None:  # two threads: a backend that hangs holds one each, never more
        pool = current_app.extensions[POOL] = ThreadPoolExecutor(max_workers=len(READERS),
                                                                  thread_name_prefix="cxhub-metrics")
    return pool


@blueprint.get("/metrics")
def metrics() -> Response:
    token = current_app.config.get("CXHUB_METRICS_TOKEN")
    if not token:
        raise ApiError(404, "metrics_disabled", "the metrics are off; set CXHUB_METRICS_TOKEN to turn them on")
    if not token_matches(request.headers.get("Authorization"), token):
        raise ApiError(401, "unauthorized", "send Authorization: Bearer <metrics token>",
                       headers={"WWW-Authenticate": "Bearer"})
    state = CollectorRegistry(auto_describe=False)
    state.register(SharedState(current_hub(), _pool()))
    return Response(counters_text() + generate_latest(state), content_type=CONTENT_TYPE)
