"""The hub's Prometheus counters and histograms, recorded where things happen and exposed by `hub.metrics`.

Why in-process prometheus-client metrics (and not counts in Redis): an increment is a few
hundred nanoseconds under a lock, with no round trip on the ingest path, and it keeps counting
while Redis or the database is down, which is when operators look. Several processes on one
machine (gunicorn workers, `cxhub worker` processes) share one `PROMETHEUS_MULTIPROC_DIR`:
prometheus-client then keeps each process's values in a memory-mapped file there, and any
process's `/metrics` sums them all. prometheus-client reads that variable when it is first
imported, so it must be set in the environment before the process starts.

Label values are bounded: source and connection names come from the config (an unknown
source in a URL counts under `UNKNOWN`), statuses and outcomes from fixed vocabularies.
Never label with an event, delivery or customer id.
"""

from __future__ import annotations

from typing import Collection

from prometheus_client import Counter, Histogram

UNKNOWN = "(unknown)"  # never a configured name: config names are identifiers without parentheses

WEBHOOK_REQUESTS = Counter("cxhub_webhook_requests", "Webhook requests answered, by source and HTTP status",
                           ["source", "status"])
EVENTS = Counter("cxhub_events", "Events taken in from webhooks, polls and replays, by source and outcome "
                 "(accepted, duplicate)", ["source", "outcome"])
QUARANTINED = Counter("cxhub_quarantined_requests", "Requests or batch elements put in quarantine, by source and "
                      "outcome (kept, dropped: the quarantine was full)", ["source", "outcome"])
ATTEMPTS = Counter("cxhub_delivery_attempts", "Delivery attempts finished, by connection and outcome "
                   "(succeeded, retry, failed, paused)", ["connection", "outcome"])
DEAD_LETTERED = Counter("cxhub_deliveries_dead_lettered", "Deliveries dead-lettered, by connection", ["connection"])
ATTEMPT_SECONDS = Histogram("cxhub_delivery_attempt_duration_seconds", "Duration of delivery attempts, by connection",
                            ["connection"], buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
ENRICHMENTS = Counter("cxhub_enrichments", "Enrichment jobs run, by source and result (done, retrying, failed, "
                      "waiting, skipped)", ["source", "result"])
POLLS = Counter("cxhub_polls", "Polls run, by source and result (ok, failed, skipped, error)", ["source", "result"])
POLLED_EVENTS = Counter("cxhub_polled_events", "Events a poll found, by source and outcome (accepted, duplicate)",
                        ["source", "outcome"])

ATTEMPT_OUTCOMES = frozenset({"succeeded", "retry", "failed", "paused"})
ENRICHMENT_RESULTS = frozenset({"done", "retrying", "failed", "waiting", "skipped"})
POLL_RESULTS = frozenset({"ok", "failed", "skipped", "error"})


def bounded(name: str, known: Collection[str]) -> str:
    """`name` if the config knows it, else UNKNOWN: what an attacker puts in a URL never becomes a label."""
    return name if name in known else UNKNOWN


def webhook_answered(source: str, status: int) -> None:
    WEBHOOK_REQUESTS.labels(source, str(status if 100 <= status <= 599 else 0)).inc()


def events_taken(source: str, accepted: int, duplicates: int) -> None:
    if accepted:
        EVENTS.labels(source, "accepted").inc(accepted)
    if duplicates:
        EVENTS.labels(source, "duplicate").inc(duplicates)


def quarantined(source: str, kept: bool) -> None:
    QUARANTINED.labels(source, "kept" if kept else "dropped").inc()


def attempt_finished(connection: str, outcome: str, seconds: float, dead: bool) -> None:
    ATTEMPTS.labels(connection, outcome if outcome in ATTEMPT_OUTCOMES else UNKNOWN).inc()
    ATTEMPT_SECONDS.labels(connection).observe(seconds)
    if dead:
        DEAD_LETTERED.labels(connection).inc()


def enrichment_ran(source: str, result: str) -> None:
    ENRICHMENTS.labels(source, result if result in ENRICHMENT_RESULTS else UNKNOWN).inc()


def poll_ran(source: str, result: str, accepted: int = 0, duplicates: int = 0) -> None:
    POLLS.labels(source, result if result in POLL_RESULTS else UNKNOWN).inc()
    if accepted:
        POLLED_EVENTS.labels(source, "accepted").inc(accepted)
    if duplicates:
        POLLED_EVENTS.labels(source, "duplicate").inc(duplicates)
