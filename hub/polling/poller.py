"""One poll of one source: ask the plugin, take in what it found, then move the cursor.

The events go through `take_in`, the path webhooks take, so an object seen by a webhook and by
a poll (the plugin gives both the same vendor event id, hence the same event id) is stored
and routed once. The cursor is saved only after the events are stored: a poll cut off
half-way runs again from the previous cursor, and the store routes nothing twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from hub.events.canonical import InvalidEvent, build_event, validate_event
from hub.ingest.service import take_in
from hub.plugin.errors import GiveUp, RetryLater
from hub.plugin.types import EventDraft, PollResult
from hub.runtime import Hub

log = logging.getLogger("cxhub.poll")


class PollFailed(Exception):
    """A poll could not run or its vendor refused it; `retry_after` is set when the vendor asked to wait."""

    def __init__(self, message: str, *, retry_after: float | None = None, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message, self.retry_after, self.status_code = message, retry_after, status_code


@dataclass(frozen=True)
class PollOutcome:
    """What one poll found: every event (CloudEvents), which were new and which known, and the cursors."""

    source: str
    events: list[dict[str, Any]] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    cursor_before: str | None = None
    cursor_after: str | None = None


def poll_source(hub: Hub, name: str) -> PollOutcome:
    """Run one poll of source `name` now; raise PollFailed (nothing stored, cursor unchanged) on failure."""
    source = hub.config.sources.get(name)
    if source is None:
        raise PollFailed(f"no source named {name!r} is configured")
    plugin = hub.plugins.plugins[source.plugin]
    if not plugin.implements("cxhub_poll"):
        raise PollFailed(f"source {name!r} cannot poll: plugin {source.plugin!r} does not implement cxhub_poll")
    before = hub.store.cursors.read(name)
    try:
        result = plugin.call("cxhub_poll", source=source, cursor=before)
    except RetryLater as error:
        raise PollFailed(_vendor_message(error.message, error.status_code), retry_after=error.after,
                         status_code=error.status_code) from None
    except GiveUp as error:
        raise PollFailed(_vendor_message(error.message, error.status_code), status_code=error.status_code) from None
    events = _events(name, source.plugin, result)
    thin = {event["id"] for event, draft in zip(events, result.events) if draft.enrich}
    if thin and not plugin.implements("cxhub_enrich_event"):
        raise PollFailed(f"plugin {source.plugin!r} marked an event enrich=True but does not implement "
                         "cxhub_enrich_event; nothing was stored")
    recorded = take_in(hub, events, thin=thin) if events else None
    after = result.cursor if result.cursor is not None else before
    if after is not None and after != before:
        hub.store.cursors.save(name, after)
    return PollOutcome(name, events, recorded.accepted if recorded else [], recorded.duplicates if recorded else [],
                       before, after)


def _events(name: str, plugin: str, result: Any) -> list[dict[str, Any]]:
    if not isinstance(result, PollResult):
        raise PollFailed(f"plugin {plugin!r}: cxhub_poll must return a PollResult, got {type(result).__name__}")
    events = []
    for draft in result.events:
        if not isinstance(draft, EventDraft):
            raise PollFailed(f"plugin {plugin!r}: cxhub_poll returned {type(draft).__name__}, not an EventDraft")
        try:
            event = build_event(name, draft)
            validate_event(event)
        except InvalidEvent as error:
            raise PollFailed(f"plugin {plugin!r} produced an invalid event: {error}; nothing was stored") from None
        events.append(event)
    return events


def _vendor_message(message: str, status: int | None) -> str:
    if status in (401, 403):
        return f"the vendor's API refused the source's credentials ({status}); check its settings: {message}"
    if status == 429:
        return f"the vendor's API is rate limiting this source (429): {message}"
    return f"the vendor's API call failed: {message}"
