"""Trustpilot service-review webhooks: `{"events": [{"eventName", "version", "eventData"}, ...]}`.

Trustpilot signs nothing: the source's `token:` is what keeps strangers out. Each element of
`events` becomes one event; an element that cannot be read is quarantined on its own and the
others are kept.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Mapping

from hub.plugin import EventDraft, InboundRequest, Parsed, Rejection, Source, UnrecognizedPayload
from plugins.trustpilot import reviews

BY_EVENT_NAME: dict[str, Callable[[Mapping[str, Any]], EventDraft]] = {
    "service-review-created": reviews.created,
    "service-review-updated": reviews.updated,
    "service-review-deleted": reviews.deleted,
}


def parse(source: Source, request: InboundRequest) -> Parsed:
    payload = request.json()
    if not isinstance(payload, dict) or not isinstance(payload.get("events"), list):
        raise UnrecognizedPayload("expected a Trustpilot webhook: an object with an 'events' list")
    events, rejected = [], []
    for position, element in enumerate(payload["events"]):
        try:
            events.append(_event(element))
        except UnrecognizedPayload as error:
            alone = json.dumps({"events": [element]}, ensure_ascii=False).encode()
            rejected.append(Rejection(alone, f"events[{position}]: {error.message}"))
    return Parsed(events=events, rejected=rejected)


def _event(element: Any) -> EventDraft:
    if not isinstance(element, dict):
        raise UnrecognizedPayload(f"an event must be an object, got {type(element).__name__}")
    name = element.get("eventName")
    build = BY_EVENT_NAME.get(name) if isinstance(name, str) else None
    if build is None:
        raise UnrecognizedPayload(f"unknown eventName {name!r} (known: {', '.join(BY_EVENT_NAME)})")
    data = element.get("eventData")
    if not isinstance(data, dict):
        raise UnrecognizedPayload("eventData must be an object")
    return build(data)
