"""Runs one enrichment: fetch a thin event's details through its plugin, then store and route it once.

The failure path, step by step:

1. The source is over its `api_rate_limit`: the job comes back when the window resets; nothing is counted.
2. The enrichment is not pending (done, failed, or claimed by a duplicate job): nothing happens.
3. The plugin raises `RetryLater` (429, 5xx, a timeout): the row goes back to pending and a job is
   scheduled after `backoff_delay` of the source's `api_retry`, never sooner than `Retry-After`;
   once `api_retry.max_attempts` are spent, the enrichment fails.
4. The plugin raises `GiveUp` (401, 404), returns an invalid event, or raises anything else:
   the enrichment fails. The thin event is kept; `cxhub enrichment retry` tries it again.
5. A worker that dies mid-enrichment leaves the row running past its lease, which only a live
   worker renews (`hub.delivery.leases`): the sweeper puts it back to pending and queues a job
   (`hub.enrichment.sweeper`).

When the plugin returns `FoundEvent(draft)` (the thin event only announced a change that has
its own identity), the draft is taken in under its own id like a polled event, and only then
is the thin announcement removed: a worker that dies between the two leaves the enrichment
running, the sweeper runs it again, and the second run finds the event held and removes the
announcement, routing nothing twice.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, Mapping

import orjson

from hub.config.model import EnrichmentPolicy
from hub.delivery.backoff import backoff_delay
from hub.delivery.leases import Leases
from hub.events.canonical import InvalidEvent, build_event, validate_event
from hub.events.storable import escape_unstorable
from hub.ingest.service import metric_rows, route_events, take_in
from hub.plugin.errors import DeliveryError, RetryLater
from hub.plugin.types import EventDraft, FoundEvent, Source
from hub.runtime import Hub
from hub.store import ClaimedEnrichment, now

log = logging.getLogger("cxhub.enrichment")
RATE_LIMIT_PREFIX = "api:"  # the limiter's key for a source's API calls, apart from its webhooks'


def enrichment_leases(hub: Hub) -> Leases:
    """A renewer of enrichment leases; a worker process makes one and shares it (`hub.enrichment.job`)."""
    return Leases(hub.store.enrichments.renew, hub.config.hub.delivery_lease_seconds, "enrichments")


class Enricher:
    def __init__(self, hub: Hub, leases: Leases | None = None) -> None:
        """`leases`: the process's, shared by its threads (`enrichment_leases`); by default one of its own."""
        self.hub = hub
        self.leases = leases or enrichment_leases(hub)

    def run(self, event_id: str, source_name: str) -> str:
        """Enrich one thin event; return what came of it ("done", "retrying", "failed", "waiting", "skipped")."""
        hub = self.hub
        policy = hub.config.enrichment.get(source_name)
        source = hub.config.sources.get(source_name)
        if policy is not None and policy.rate_limit is not None:
            verdict = hub.limiter.hit(RATE_LIMIT_PREFIX + source_name, policy.rate_limit)
            if not verdict.allowed:
                log.info("enrichment of %s waits %ds for source %s's api_rate_limit", event_id,
                         verdict.retry_after, source_name)
                hub.queue.schedule_enrichment(event_id, source_name, verdict.retry_after)
                return "waiting"
        claimed = hub.store.enrichments.claim(event_id, self.leases.lease)
        if claimed is None:
            return "skipped"
        self.leases.hold([event_id])
        try:
            return self.enrich_claimed(claimed, source, policy)
        finally:
            self.leases.let_go([event_id])

    def enrich_claimed(self, claimed: ClaimedEnrichment, source: Source | None,
                       policy: EnrichmentPolicy | None) -> str:
        """The rest of `run`, once this process holds the claim (and renews its lease)."""
        hub, event_id, source_name = self.hub, claimed.event_id, claimed.source
        if source is None or policy is None:
            return self.fail(event_id, f"source {source_name!r} is no longer configured to enrich events")
        thin = orjson.loads(claimed.event_body)
        try:
            event, found = self.enriched(source, thin)
        except RetryLater as error:
            used = claimed.attempts - claimed.budget_start
            if used >= policy.retry.max_attempts:
                return self.fail(event_id, f"gave up after {used} attempts: {error.message}")
            delay = backoff_delay(used, policy.retry, retry_after=error.after)
            hub.store.enrichments.release(event_id, escape_unstorable(error.message), now() + timedelta(seconds=delay))
            hub.queue.schedule_enrichment(event_id, source_name, delay)
            log.info("enrichment of %s (source %s) retrying in %.1fs: %s", event_id, source_name, delay, error.message)
            return "retrying"
        except DeliveryError as error:
            return self.fail(event_id, error.message)
        except InvalidEvent as error:
            return self.fail(event_id, f"plugin {source.plugin!r} produced an invalid event: {error}")
        except Exception as error:  # a plugin bug fails this enrichment only, never the worker
            log.exception("source %s: plugin %r raised while enriching %s", source_name, source.plugin, event_id)
            return self.fail(event_id, f"plugin error: {type(error).__name__}: {error}")
        if found:
            return self.found(event_id, source_name, event)
        deliveries = route_events(hub, [event])
        if not hub.store.enrichments.complete(event, deliveries, metric_rows(hub, [event])):
            return "skipped"  # the sweeper revived it meanwhile and another run finished first
        hub.queue.enqueue([delivery for delivery in deliveries if delivery.sent])
        hub.plugins.notify("cxhub_event_accepted", event=event)
        log.info("enrichment of %s (source %s) done: %d deliveries", event_id, source_name, len(deliveries))
        return "done"

    def enriched(self, source: Source, thin: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
        """The plugin's complete event, validated, and whether it is a found event with its own id.

        A plain result takes the thin event's id and vendor event id; a `FoundEvent` keeps its
        own (one naming the thin event itself is completed in place, like a plain result).
        """
        result = self.hub.plugins.plugins[source.plugin].call("cxhub_enrich_event", source=source, event=thin)
        found = isinstance(result, FoundEvent)
        if isinstance(result, FoundEvent) and isinstance(result.draft, EventDraft):
            event = build_event(source.name, result.draft)
            found = event["id"] != thin["id"]
        elif isinstance(result, EventDraft):
            event = build_event(source.name, result)
        elif isinstance(result, dict):
            event = dict(result)
        else:
            raise InvalidEvent(f"cxhub_enrich_event returned {type(result).__name__}, not an EventDraft, "
                               "a FoundEvent of one, or a dict")
        if not isinstance(event.get("data"), dict):
            raise InvalidEvent("data: the enriched event has no data object")
        event["source"] = thin["source"]
        if not found:
            event["id"] = thin["id"]
            event["data"] = {**event["data"], "vendor_event_id": thin["data"]["vendor_event_id"]}
        validate_event(event)
        return event, found

    def found(self, event_id: str, source_name: str, event: dict[str, Any]) -> str:
        """Take in the event a thin announcement led to under its own id, then remove the announcement."""
        recorded = take_in(self.hub, [event])
        if not self.hub.store.enrichments.supersede(event_id):
            return "skipped"  # the sweeper revived it meanwhile and another run finished first
        known = "new" if recorded.accepted else "already held"
        log.info("enrichment of %s (source %s) found event %s (%s); the announcement is removed",
                 event_id, source_name, event["id"], known)
        return "done"

    def fail(self, event_id: str, error: str) -> str:
        self.hub.store.enrichments.fail(event_id, escape_unstorable(error))
        log.warning("enrichment of %s failed; the event is kept (cxhub enrichment retry %s): %s",
                    event_id, event_id, error)
        return "failed"
