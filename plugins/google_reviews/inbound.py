"""Business Profile notifications, pushed by a Pub/Sub push subscription.

The body is Pub/Sub's push envelope, `{"message": {"data": <base64>, "messageId", ...},
"subscription"}`; `data` is the notification, `{"type", "reviewName", "locationName"}`. It
names the review only, so the plugin reads it (`GET /v4/{reviewName}`) while Pub/Sub waits.
`NEW_REVIEW` gives `cx.review.created` and `UPDATED_REVIEW` `cx.review.updated`, with the
event ids a poll gives the same review. Other notification types are acknowledged (200) and
nothing is stored, so Pub/Sub does not send them again.
"""

from __future__ import annotations

import base64
import binascii
import re

import orjson

from hub.plugin import EventDraft, InboundRequest, Source, UnrecognizedPayload, require
from plugins.google_reviews import reviews

REVIEW_ID = re.compile(r"[A-Za-z0-9_-]{1,512}")  # no dots or slashes: the name cannot lead elsewhere in the API
KINDS = {"NEW_REVIEW": reviews.created, "UPDATED_REVIEW": reviews.updated}


def parse(source: Source, request: InboundRequest) -> list[EventDraft]:
    envelope = request.json()
    encoded = require(envelope, "message.data", "message.data")
    try:
        notification = orjson.loads(base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError, TypeError, orjson.JSONDecodeError):
        raise UnrecognizedPayload("message.data is not base64 of a JSON notification") from None
    kind = notification.get("type") if isinstance(notification, dict) else None
    build = KINDS.get(kind) if isinstance(kind, str) else None
    if build is None:
        return []
    name = require(notification, "reviewName", "reviewName")
    expected = f"accounts/{source.settings['account_id']}/locations/{source.settings['location_id']}/reviews/"
    if not isinstance(name, str) or not name.startswith(expected) or not REVIEW_ID.fullmatch(name[len(expected):]):
        raise UnrecognizedPayload(f"reviewName {name!r} is not a review of this source's location")
    assert source.api is not None  # api_url has a default
    review = source.api.get_json(f"v4/{name}",
                                 headers={"Authorization": f"Bearer {source.settings['access_token'].reveal()}"})
    if not isinstance(review, dict):
        raise UnrecognizedPayload("the review the notification names is not an object")
    return [build(review)]
