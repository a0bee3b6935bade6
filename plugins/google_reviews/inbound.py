"""Business Profile notifications, pushed by a Pub/Sub push subscription, answered before any API call.

The body is Pub/Sub's push envelope, `{"message": {"data": <base64>, "messageId",
"publishTime", ...}, "subscription"}` (Pub/Sub writes `messageId` and `publishTime` in both
camelCase and snake_case); `data` is the notification, `{"type", "reviewName",
"locationName"}`. It names the review only, and Pub/Sub waits for the answer (its ack
deadline), so the plugin stores a thin event at once and reads the review after the 202
(plugins/google_reviews/enrich.py), with the hub's retries:

- `NEW_REVIEW` is the thin `cx.review.created` with the id a poll gives the same review,
  `review:<reviewId>:created`, so whichever comes first is the one event.
- `UPDATED_REVIEW` names the review, not the edit, so its thin `cx.review.updated` (an update,
  `update=True`) is an announcement known by the Pub/Sub message (`review:<reviewId>:notified:
  <messageId>`: a redelivered message is a duplicate). The enrichment reads the edited review
  and hands back the edit under the id a poll gives it (`FoundEvent`), and the announcement is
  removed (see plugins/google_reviews/reviews.py).

A review name of another location is refused (422, quarantined), before anything is stored.
Other notification types are acknowledged (200) and nothing is stored, so Pub/Sub does not
send them again.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any, Mapping

import orjson

from hub.plugin import (
    EventDraft,
    InboundRequest,
    Link,
    Source,
    UnrecognizedPayload,
    as_id,
    parse_time,
    require,
)
from plugins.google_reviews import reviews

NEW, UPDATED = "NEW_REVIEW", "UPDATED_REVIEW"
NOTIFICATION = "notification"  # the attribute that tells the enrichment what the thin event announced


def parse(source: Source, request: InboundRequest) -> list[EventDraft]:
    envelope = request.json()
    message = require(envelope, "message", "message")
    if not isinstance(message, dict):
        raise UnrecognizedPayload("message must be an object (Pub/Sub's push envelope)")
    notification = _notification(require(message, "data", "message.data"))
    kind = notification.get("type")
    if kind not in (NEW, UPDATED):
        return []
    name = require(notification, "reviewName", "reviewName")
    review_id = reviews.review_id_of(name, source.settings)
    attributes = {"review_name": name, NOTIFICATION: kind}
    link = Link(system=reviews.SYSTEM, id=review_id, type="review")
    if kind == NEW:
        return [EventDraft(type="cx.review.created", vendor_event_id=f"review:{review_id}:created",
                           time=_published(message), link=link, attributes=attributes, enrich=True)]
    return [EventDraft(type="cx.review.updated", vendor_event_id=f"review:{review_id}:notified:{_message_id(message)}",
                       time=_published(message), link=link, attributes=attributes, update=True, enrich=True)]


def _notification(encoded: Any) -> Mapping[str, Any]:
    try:
        notification = orjson.loads(base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError, TypeError, orjson.JSONDecodeError):
        raise UnrecognizedPayload("message.data is not base64 of a JSON notification") from None
    if not isinstance(notification, dict):
        raise UnrecognizedPayload("message.data is not a JSON object (a Business Profile notification)")
    return notification


def _message_id(message: Mapping[str, Any]) -> str:
    value = as_id(message.get("messageId")) or as_id(message.get("message_id"))
    if not value:
        raise UnrecognizedPayload("message.messageId is missing (Pub/Sub names every message)")
    return value


def _published(message: Mapping[str, Any]) -> datetime:
    return parse_time(message.get("publishTime") or message.get("publish_time"), "message.publishTime")
