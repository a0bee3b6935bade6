"""The ingest pipeline for one request, independent of Flask so the CLI can reuse it."""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Collection, Mapping, NamedTuple, Sequence

from hub.events.canonical import InvalidEvent, UnstorableEvent, build_event, validate_event
from hub import instruments
from hub.events.storable import escape_unstorable
from hub.ingest.annotate import annotate
from hub.ingest.kept import kept_request
from hub.ingest.shadow import render_shadows
from hub.insights.answers import response_rows
from hub.noise.plan import plan_noise
from hub.plugin.errors import GiveUp, RequestRejected, RetryLater, UnrecognizedPayload
from hub.plugin.request import MAX_MEDIA_TYPE, InboundRequest
from hub.plugin.types import EventDraft, Parsed, Rejection, Reply, Source
from hub.pluginhost import PluginHost
from hub.routing.objects import ObjectLedger, subjects_by_source
from hub.routing.origins import OriginFinder
from hub.runtime import Hub
from hub.store import KeptRequest, NewDelivery, Recorded

log = logging.getLogger("cxhub.ingest")
REJECTED_ELEMENT_NAMESPACE = uuid.UUID("0b6f3f57-6a43-4f0e-9d0c-3c3f1e2a9b41")


@dataclass(frozen=True)
class Accepted:
    """The outcome of a request the hub took: new events, events seen before, and the plugin's reply."""

    accepted: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    reply: Reply | None = None
    quarantined: list[str] = field(default_factory=list)  # elements of a batch the plugin could not read


class Rejected(Exception):
    """The request is refused with `status`; nothing was stored (except a quarantine entry for 422).

    `reply` is the plugin's own body for the refusal (`RequestRejected(reply=...)`), sent instead
    of the JSON error.
    """

    def __init__(self, status: int, code: str, message: str, quarantine_id: str | None = None, *,
                 reply: Reply | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.quarantine_id = status, code, message, quarantine_id
        self.reply = reply


class ParsedEvents(NamedTuple):
    """A request parsed into CloudEvents, the plugin's reply, the batch elements it could not read,
    and the ids of the thin events among them (drafts with `enrich=True`)."""

    events: list[dict[str, Any]]
    reply: Reply | None
    rejected: list[Rejection]
    thin: frozenset[str] = frozenset()


def parse_events(plugins: PluginHost, source: Source, request: InboundRequest, *,
                 verify: bool = True, validate: bool = True) -> ParsedEvents:
    """Verify and parse a request into CloudEvents (no storing, no routing), validated unless told not to."""
    plugin = plugins.plugins[source.plugin]  # the config names only installed plugins
    if verify:
        plugin.call("cxhub_verify_request", source=source, request=request)
    parsed = plugin.call("cxhub_parse_request", source=source, request=request)
    if not isinstance(parsed, Parsed):
        parsed = Parsed(events=list(parsed or []))
    events, thin = [], set()
    for draft in parsed.events:
        if not isinstance(draft, EventDraft):
            raise InvalidEvent(f"plugin {source.plugin!r} returned {type(draft).__name__}, not an EventDraft")
        event = build_event(source.name, draft)
        if validate or draft.enrich:  # a thin event is stored by this process, never through the intake log
            validate_event(event)
        if draft.enrich:
            if not plugin.implements("cxhub_enrich_event"):
                raise InvalidEvent(f"plugin {source.plugin!r} marked an event enrich=True but does not implement "
                                   "cxhub_enrich_event")
            thin.add(event["id"])
        events.append(event)
    return ParsedEvents(events, parsed.reply, list(parsed.rejected), frozenset(thin))


def ingest(hub: Hub, source: Source, request: InboundRequest, *, replay: bool = False) -> Accepted:
    """Run the whole pipeline; raise Rejected, StoreUnavailable or RedisUnavailable.

    `replay=True` is for a request taken from quarantine: its signature was checked on arrival
    and is not checked again, and if it fails again it is not quarantined a second time.

    With `hub.accept_into: database` (and for every replay), events and their deliveries are
    committed in one transaction before the jobs are queued, so an accepted event is never
    lost: if queuing fails the caller answers 503, the vendor resends, and the resend queues
    the deliveries still waiting. With `accept_into: redis`, the events go to the intake log
    in one round trip instead, and intake consumers validate, store and queue them in batches.
    A request with thin events (to be enriched in a worker) is always stored the first way.
    Either way the request itself, credentials removed, is kept once beside its new events
    (unless `hub.keep_requests` is off): in the same statement, or by the intake consumer.
    """
    outcome = _ingest(hub, source, request, replay=replay)
    instruments.events_taken(source.name, len(outcome.accepted), len(outcome.duplicates))
    return outcome


def _ingest(hub: Hub, source: Source, request: InboundRequest, *, replay: bool) -> Accepted:
    into_log = hub.config.hub.accept_into == "redis" and not replay
    events, reply, rejected, thin = _parse_or_reject(hub, source, request, replay=replay, validate=not into_log)
    if rejected and not events and replay:
        raise Rejected(422, "unrecognized_payload", "; ".join(item.reason for item in rejected))
    quarantined = [kept for item in rejected if (kept := quarantine_element(hub, source, request, item))]
    if not events:
        return Accepted(reply=reply, quarantined=quarantined)
    if into_log and not thin:
        logged = hub.intake.append(source.name, request, events)
        return Accepted(logged.accepted, logged.duplicates, reply, quarantined)
    if into_log:  # parsed without validation, which only the thin events had
        for event in events:
            if event["id"] not in thin:
                _validate_or_reject(hub, source, request, event)
    came_in = kept_request(source.name, request) if hub.config.hub.keep_requests else None
    recorded = take_in(hub, events, thin=thin, kept={event["id"]: came_in for event in events} if came_in else None)
    return Accepted(recorded.accepted, recorded.duplicates, reply, quarantined)


def quarantine_element(hub: Hub, source: Source, request: InboundRequest, rejection: Rejection) -> str | None:
    """Quarantine one unreadable element of a batch by itself, under an id its content decides (None: full).

    The id comes from the source and the element's bytes, so a vendor resending the batch
    leaves one quarantine entry per broken element, not one per resend.
    """
    digest = hashlib.sha256(rejection.body).hexdigest()
    element_id = str(uuid.uuid5(REJECTED_ELEMENT_NAMESPACE, f"{source.name}\n{digest}"))
    alone = InboundRequest(method=request.method, path=request.path, body=rejection.body,
                           content_type=request.content_type, headers=request.headers, query=request.query,
                           body_to_keep=request.body_to_keep)
    log.warning("source %s: a batch element was quarantined (%s): %s", source.name, element_id, rejection.reason)
    return quarantine_request(hub, source.name, alone, f"batch element: {rejection.reason}", element_id)


def take_in(hub: Hub, events: Sequence[dict[str, Any]],
            received_at: Sequence[datetime] | None = None, *, thin: Collection[str] = (),
            kept: Mapping[str, KeptRequest] | None = None) -> Recorded:
    """Store valid events with their deliveries (new events only), queue the jobs, tell the plugins.

    Deliveries of events seen before that are still waiting are queued again: that is how a
    resend completes a request whose jobs could not be queued the first time. Events whose ids
    are in `thin` are stored unrouted and queued for enrichment instead (`take_in_thin`).
    `kept` maps event ids to the request each came in, stored with the new ones.
    """
    events, received_at = _first_of_each_id(events, received_at)  # a batch or a poll may name one event twice
    if thin:
        enriching = take_in_thin(hub, [event for event in events if event["id"] in thin], kept)
        routed = [position for position, event in enumerate(events) if event["id"] not in thin]
        if not routed:
            return enriching
        recorded = take_in(hub, [events[position] for position in routed],
                           [received_at[position] for position in routed] if received_at else None, kept=kept)
        return Recorded([*enriching.accepted, *recorded.accepted], [*enriching.duplicates, *recorded.duplicates])
    deliveries = route_events(hub, events)
    recorded = hub.store.ingest.record(events, deliveries, received_at, kept, response_rows=metric_rows(hub, events))
    accepted = set(recorded.accepted)
    waiting = hub.store.ingest.queued_for_events(recorded.duplicates) if recorded.duplicates else []
    hub.queue.enqueue([*(delivery for delivery in deliveries if delivery.sent and delivery.event_id in accepted),
                       *waiting])
    for event in events:
        if event["id"] in accepted:
            hub.plugins.notify("cxhub_event_accepted", event=event)
    return recorded


def take_in_thin(hub: Hub, events: Sequence[dict[str, Any]], kept: Mapping[str, KeptRequest] | None = None) -> Recorded:
    """Store thin events with a pending enrichment each, unrouted, and queue their enrichment jobs.

    A resend of an event whose enrichment is still pending queues its job again (a job lost
    because queuing failed the first time); the job itself is harmless when it runs twice.
    Routing and `cxhub_event_accepted` wait until the enrichment job has the whole event.
    """
    recorded = hub.store.enrichments.record(events, kept=kept)
    waiting = hub.store.enrichments.pending(recorded.duplicates) if recorded.duplicates else []
    source_of = {event["id"]: event["source"].rsplit("/", 1)[-1] for event in events}
    hub.queue.enqueue_enrichments([*((event_id, source_of[event_id]) for event_id in recorded.accepted), *waiting])
    return recorded


def route_events(hub: Hub, events: Sequence[dict[str, Any]]) -> list[NewDelivery]:
    """Mark each event an update or not (`data.update`), then name its deliveries.

    An event is an update when the plugin says so or when the store or this batch holds another
    event about the same object; a route that delivered for such another event does not run
    again unless it has `run_on_updates`. The store is asked once for the whole batch. The
    annotators (`hub.annotators`) add their fields to each event first, so routes can test them.
    A shadow route's deliveries come back rendered, to be recorded and never sent (`delivery.sent`).
    An event about an object a delivery created is stamped with its origin (`data.origin`),
    which conditions and templates see (hub.routing.origins).
    Noise control comes last (hub.noise.plan): digest actions collect, and a delivery over its
    route's budget or to a connection in its quiet hours is held instead of queued.
    """
    annotate(hub.plugins, hub.config.hub.annotators, events)
    ledger = ObjectLedger(hub.store.ingest.events_about(subjects_by_source(events)))
    origins = origin_finder(hub).find(events)
    deliveries: list[NewDelivery] = []
    for event in events:
        event["data"]["update"] = bool(event["data"].get("update")) or ledger.is_update(event)
        origin = origins.get(event["id"])
        planned = render_shadows(hub, event, hub.router.deliveries_for(event, ledger.routed(event), origin),
                                 origin)
        ledger.add(event, planned)
        deliveries.extend(planned)
    return plan_noise(hub, deliveries)


def origin_finder(hub: Hub) -> OriginFinder:
    """Looks origins up only in the systems the routes' actions create objects in (`ActionInfo.creates`)."""
    systems = set()
    for route in hub.router.routes:
        for spec in route.actions:
            connection = hub.config.connections.get(spec.connection)
            plugin = hub.plugins.get(connection.plugin) if connection else None
            action = plugin.info.actions.get(spec.action) if plugin else None
            if action is not None and action.creates:
                systems.add(action.creates)
    return OriginFinder(hub.store, systems)
def metric_rows(hub: Hub, events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The metrics' rows of the responses these events are about, stored with them (hub/insights/answers.py).

    A bug in making them must not refuse a webhook: the events are then stored uncounted (logged).
    """
    try:
        return response_rows(events, hub.config.metrics.form_attributes)
    except Exception:
        log.exception("the metrics could not read %d events; they are stored but not counted", len(events))
        return []


def _first_of_each_id(events: Sequence[dict[str, Any]], received_at: Sequence[datetime] | None
                      ) -> tuple[list[dict[str, Any]], list[datetime] | None]:
    """The first event of each id, and the moments each was received (kept in step)."""
    unique: dict[str, int] = {}
    for position, event in enumerate(events):
        unique.setdefault(event["id"], position)
    if len(unique) == len(events):
        return list(events), list(received_at) if received_at is not None else None
    return ([events[position] for position in unique.values()],
            [received_at[position] for position in unique.values()] if received_at is not None else None)


def _parse_or_reject(hub: Hub, source: Source, request: InboundRequest, *, replay: bool,
                     validate: bool) -> ParsedEvents:
    """Verify and parse, turning every way that can fail into Rejected (quarantining what may be replayed)."""
    try:
        return parse_events(hub.plugins, source, request, verify=not replay, validate=validate)
    except UnrecognizedPayload as error:
        kept = None if replay else _quarantine(hub, source, request, error.message)
        raise Rejected(error.status, error.code, error.message, kept, reply=error.reply) from None
    except RequestRejected as error:
        raise Rejected(error.status, error.code, error.message, reply=error.reply) from None
    except (RetryLater, GiveUp) as error:  # the follow-up call to the vendor's API failed
        retry = isinstance(error, RetryLater)
        message = f"fetching the details from the vendor's API failed: {error.message}"
        kept = None if replay else _quarantine(hub, source, request, message)
        raise Rejected(503 if retry else 422, "vendor_api_unavailable" if retry else "vendor_api_refused",
                       f"{message}; the request is kept in quarantine for replay", kept) from None
    except UnstorableEvent as error:
        message = f"this request's event cannot be stored: {error}"
        kept = None if replay else _quarantine(hub, source, request, message)
        raise Rejected(422, "unstorable_event", f"{message}; the request is kept in quarantine", kept) from None
    except InvalidEvent as error:
        message = invalid_event_message(source, error)
        log.error("source %s: %s", source.name, message)
        kept = None if replay else _quarantine(hub, source, request, message)
        raise Rejected(422, "invalid_event", message, kept) from None
    except Exception as error:  # a plugin bug: keep the request for replay once the plugin is fixed
        log.exception("source %s: plugin %r raised while verifying or parsing", source.name, source.plugin)
        kept = None if replay else _quarantine(hub, source, request, f"plugin error: {type(error).__name__}: {error}")
        raise Rejected(500, "plugin_error", f"the {source.plugin} plugin failed on this request; "
                                            "it is kept in quarantine for replay", kept) from None


def _validate_or_reject(hub: Hub, source: Source, request: InboundRequest, event: dict[str, Any]) -> None:
    try:
        validate_event(event)
    except InvalidEvent as error:
        message = invalid_event_message(source, error)
        log.error("source %s: %s", source.name, message)
        raise Rejected(422, "invalid_event", message, _quarantine(hub, source, request, message)) from None


def invalid_event_message(source: Source, error: InvalidEvent) -> str:
    return f"plugin {source.plugin!r} produced an invalid event: {error}"


def _quarantine(hub: Hub, source: Source, request: InboundRequest, error: str) -> str | None:
    return quarantine_request(hub, source.name, request, error)


def quarantine_request(hub: Hub, source: str, request: InboundRequest, error: str,
                       quarantine_id: str | None = None) -> str | None:
    """Keep a request for replay, without its credentials, and return its id (None: the quarantine is full).

    An identical request kept before is not kept again (its id is returned), nor is an id given
    twice. What the hub writes itself is made storable: the error (which may quote the payload)
    with NUL and lone surrogates escaped, the content type cut to its column. Headers and query
    are stored as JSON, whose escapes every backend keeps; the body as bytes.
    """
    request = request.without_credentials()
    content_type = escape_unstorable(request.content_type)[:MAX_MEDIA_TYPE]
    kept = hub.store.quarantine.keep(source=source, method=request.method, content_type=content_type,
                                     headers=request.headers, query=request.query, body=request.body,
                                     error=escape_unstorable(error), max_rows=hub.config.hub.quarantine_max_rows,
                                     quarantine_id=quarantine_id)
    instruments.quarantined(source, kept is not None)
    if kept is None:
        log.warning("source %s: the quarantine is full (hub.quarantine_max_rows: %d); request dropped: %s",
                    source, hub.config.hub.quarantine_max_rows, error)
    return kept
