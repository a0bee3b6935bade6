"""Intake consumers: take the intake log's entries in, in batches (see `hub.ingest.intake`).

A batch is validated event by event (an invalid event sends its request to quarantine, as a
422 would under `accept_into: database`), then stored, routed and queued through the same
`take_in` the request path uses, in one statement and one pipeline for the whole batch.
Entries are acknowledged only after that; on a database or Redis outage they stay pending
and the consumer tries them again once the outage is over.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid

from redis.exceptions import RedisError

from hub.events.canonical import InvalidEvent, validate_event
from hub.ingest.intake import Entry, consumer_name
from hub.ingest.kept import from_cleaned, intake_request_id
from hub.ingest.service import invalid_event_message, quarantine_request, take_in
from hub.redis_errors import RedisUnavailable
from hub.runtime import Hub
from hub.store import KeptRequest, StoreUnavailable

log = logging.getLogger("cxhub.intake")
QUARANTINE_NAMESPACE = uuid.UUID("0b3f7f55-3d0e-4a43-9a0c-7f1f1f9b6a51")
OUTAGES = (StoreUnavailable, RedisUnavailable, RedisError)  # wait and try again; anything else is a bug


def take_in_entries(hub: Hub, entries: list[Entry]) -> None:
    """Validate, store, route and queue a batch of entries, then acknowledge them.

    An outage propagates and the batch is tried again later. Any other failure is a bug that
    one entry may trigger (a value the database refuses, say): the batch is then taken in
    entry by entry, so the failing entry goes to quarantine for replay and blocks no other.
    """
    try:
        _take_in_batch(hub, entries)
    except OUTAGES:
        raise
    except Exception as error:
        if len(entries) > 1:
            log.exception("intake: a batch of %d failed; taking its entries in one at a time", len(entries))
            for entry in entries:
                take_in_entries(hub, [entry])
            return
        [entry] = entries
        log.exception("intake: entry %s of source %s failed; it goes to quarantine", entry.id, entry.source)
        _quarantine(hub, entry, f"the hub failed to take this request in: {type(error).__name__}: {error}")
        hub.intake.done([entry.id])


def _take_in_batch(hub: Hub, entries: list[Entry]) -> None:
    valid, received_at, invalid = [], [], []
    kept: dict[str, KeptRequest] = {}
    keep_requests = hub.config.hub.keep_requests
    for entry in entries:
        try:
            for event in entry.events:
                validate_event(event)
        except InvalidEvent as error:
            invalid.append((entry, error))
        else:
            valid.extend(entry.events)
            received_at.extend([entry.appended_at] * len(entry.events))
            if keep_requests:
                request = from_cleaned(entry.source, entry.request, intake_request_id(entry.id),
                                       removed_headers=entry.removed_headers, removed_query=entry.removed_query)
                for event in entry.events:
                    kept.setdefault(event["id"], request)  # an id in two entries is the first's (take_in keeps it)
    if valid:
        take_in(hub, valid, received_at, kept=kept)
    for entry, problem in invalid:
        source = hub.config.sources.get(entry.source)
        message = invalid_event_message(source, problem) if source else f"invalid event: {problem}"
        log.error("source %s: %s", entry.source, message)
        _quarantine(hub, entry, message)
    hub.intake.done([entry.id for entry in entries])


def _quarantine(hub: Hub, entry: Entry, message: str) -> None:
    # The id follows from the entry, so a batch tried twice keeps the request once.
    quarantine_request(hub, entry.source, entry.request, message,
                       quarantine_id=str(uuid.uuid5(QUARANTINE_NAMESPACE, entry.id)))


class IntakeConsumer:
    """One consumer of the intake log, run in a thread of `cxhub worker` (and of embedded `cxhub serve`)."""

    def __init__(self, hub: Hub, name: str | None = None) -> None:
        self.hub = hub
        self.name = name or consumer_name()
        self.retry_own = True  # first look at entries this consumer held before (none, unless it restarted)
        self.next_claim = 0.0

    def run(self, stopping: threading.Event) -> None:
        """Take entries in until `stopping` is set; wait out database and Redis outages."""
        while not stopping.is_set():
            try:
                self.step(block_ms=1000)
            except OUTAGES as error:
                self.retry_own = True
                wait = self.hub.config.hub.database_retry_seconds
                log.warning("intake: %s; trying the batch again in %.0fs", error, wait)
                stopping.wait(wait)
            except Exception:
                self.retry_own = True
                log.exception("intake: a batch failed; trying it again in 5s")
                stopping.wait(5)

    def step(self, *, block_ms: int | None) -> int:
        """Take in one batch: this consumer's unacknowledged entries, orphans, or new ones. Return its size."""
        intake = self.hub.intake
        if self.retry_own:
            entries = intake.read(self.name, block_ms=None, pending=True)
            self.retry_own = bool(entries)
        elif time.monotonic() >= self.next_claim:  # orphans are looked for twice per claim period
            claim_seconds = self.hub.config.hub.intake_claim_seconds
            self.next_claim = time.monotonic() + claim_seconds / 2
            entries = intake.claim_orphans(self.name, idle_ms=int(claim_seconds * 1000))
        else:
            entries = []
        if not entries:
            entries = intake.read(self.name, block_ms=block_ms)
        if entries:
            self.retry_own = True  # until acknowledged, these are this consumer's own
            take_in_entries(self.hub, entries)
            self.retry_own = False
        return len(entries)

    def drain(self) -> int:
        """Take in everything appended so far, in this thread (tests, `cxhub worker --burst`)."""
        self.hub.intake.create_group()
        total = 0
        while True:
            taken = self.step(block_ms=None)
            total += taken
            if not taken:
                return total
