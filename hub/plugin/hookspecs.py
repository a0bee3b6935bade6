"""Every hook a cxhub plugin can implement. One function per hook; the docstring is its contract.

Hooks marked "called on the owning plugin" are called only on the plugin that
declared the source or connection, so an implementation never has to check
whether the call is meant for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

import pluggy

if TYPE_CHECKING:
    from datetime import datetime

    from hub.plugin.request import InboundRequest
    from hub.plugin.types import (
        ActionResult,
        Connection,
        Delivery,
        EventDraft,
        FoundEvent,
        Parsed,
        PluginInfo,
        PollResult,
        Source,
    )

PROJECT = "cxhub"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def cxhub_plugin_info() -> PluginInfo:
    """Describe the plugin: its name, version, the source and connection it provides and its actions.

    Called once per plugin when the hub starts. Returns a `PluginInfo`.
    """


@hookspec(firstresult=True)
def cxhub_verify_request(source: Source, request: InboundRequest) -> None:
    """Check the request's signature before anything else reads the body. Called on the owning plugin.

    Return None to accept; raise `InvalidSignature` to answer 401 and store nothing.
    """


@hookspec(firstresult=True)
def cxhub_parse_request(source: Source, request: InboundRequest) -> Parsed | list[EventDraft]:
    """Turn a verified request into canonical event drafts. Called on the owning plugin.

    Return a list of `EventDraft`, or `Parsed(events, reply)` when the vendor expects a
    specific response (a handshake with no events, or an acknowledgement). Raise
    `UnsupportedMediaType` (415), `MalformedBody` (400) or `UnrecognizedPayload` (422,
    the request is quarantined for replay).
    """


@hookspec(firstresult=True)
def cxhub_poll(source: Source, cursor: str | None) -> PollResult:
    """Read the vendor's API for what is new since `cursor`. Called on the owning plugin, in a worker.

    Called every `poll.every` of a source (one process at a time) and by `cxhub poll SOURCE`.
    `cursor` is what the previous poll returned, None the first time. Return a `PollResult`:
    its events go through the same take-in as webhooks, so give an object seen by both the
    same `vendor_event_id` and it is routed once. Raise `RetryLater` (429, 5xx: the next poll
    waits at least `after`) or `GiveUp` (bad credentials).
    """


@hookspec(firstresult=True)
def cxhub_enrich_event(source: Source, event: Mapping[str, Any]) -> EventDraft | FoundEvent | dict[str, Any]:
    """Fetch the details of a thin event (a draft parsed with `enrich=True`). Called on the owning plugin, in a worker.

    `event` is the stored CloudEvent as parsed from the webhook; `source.api` is bound to the
    vendor's API. Return the complete `EventDraft` (or a complete CloudEvent dict): the core
    keeps the stored event's id, validates the result, stores it in place of the thin event
    and routes it, once. Return `FoundEvent(draft)` when the thin event only announced a
    change that has its own identity (the draft's `vendor_event_id`, as a poll would name it):
    the core takes the draft in under that id, routed once or recognised as held, and removes
    the thin announcement. Raise `RetryLater` (429, 5xx: retried with backoff, never sooner
    than `after`) or `GiveUp` (401, 404: kept as a failed enrichment an admin can retry).
    """


@hookspec(firstresult=True)
def cxhub_annotate_event(event: Mapping[str, Any]) -> dict[str, Any] | None:
    """Derive fields of `data` from an event of any source. Called on each plugin named in `hub.annotators`, in order.

    Called when an event is taken in, after it validated and before it is routed and stored
    (behind the 202 with `accept_into: redis`, after the enrichment of a thin event). Return the
    keys to add to `data` (only those the event schema lists as annotations, such as
    `sentiment`; a key the event already has is kept as it is) or None. Do not change `event`.
    Anything raised, or a value the schema refuses, is logged and the event goes on without it.
    """


@hookspec(firstresult=True)
def cxhub_run_action(
    connection: Connection, action: str, params: Mapping[str, Any], event: Mapping[str, Any], delivery: Delivery
) -> ActionResult | None:
    """Run `action` for one event against the connection's destination. Called on the owning plugin, in a worker.

    `params` are the route's parameters rendered and validated by the action's schema;
    `event` is the canonical CloudEvent (for a digest, `{"id", "type": "cxhub.digest", "time",
    "data": {}, "digest": {...}}`). Return an `ActionResult` (or None). Raise
    `RetryLater` for transient failures (retried with backoff) or `GiveUp` for permanent
    ones (dead-lettered at once); any other exception is treated as `GiveUp`.
    """


@hookspec
def cxhub_event_accepted(event: Mapping[str, Any]) -> None:
    """Called on every plugin after an event is durably stored and its deliveries are queued."""


@hookspec
def cxhub_delivery_succeeded(delivery: Mapping[str, Any], result: ActionResult | None) -> None:
    """Called on every plugin, in the worker, after an action succeeded."""


@hookspec
def cxhub_delivery_dead_lettered(delivery: Mapping[str, Any], error: str) -> None:
    """Called on every plugin, in the worker, when a delivery has failed for good."""


@hookspec
def cxhub_connection_paused(connection: str, until: datetime | None, error: str) -> None:
    """Called on every plugin, in the worker that paused it, when a connection is paused.

    Either its circuit breaker opened: deliveries wait in its queue, spending no attempts, until
    `until`, then one trial delivery decides whether it resumes. Or the destination said to stop
    (an action raised `PauseConnection`, such as a webhook receiver's 410 Gone, or `AuthFailed`:
    credentials that went bad, a token endpoint's `invalid_grant`): `until` is None and the
    connection stays paused until an admin resumes it. `error` says why. Use it to raise an alert.
    """


@hookspec
def cxhub_connection_resumed(connection: str) -> None:
    """Called on every plugin when a paused connection works again: in the worker whose delivery
    succeeded, or in the process of the admin who resumed it (`cxhub connections resume`)."""
