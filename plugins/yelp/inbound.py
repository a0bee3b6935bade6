"""Yelp review webhooks: the `GET ?verification=` handshake, and `data.updates[]` batches.

Yelp signs nothing: the source's `token:` (checked by the core) is what keeps strangers out.
Before it sends anything, Yelp checks the URL with `GET <url>?verification=<alphanumeric>` and
expects `{"verification": "<the same string>"}` back. A notification is
`{"time", "object": "business", "data": {"id": <business id>, "updates": [...]}}`; each update
names one review by id (`NEW_REVIEW_EVENT`, `REVIEW_EDITED_EVENT`, `REVIEW_REMOVED_EVENT`) but
carries no text, so a new or edited review is stored thin and its text, rating and reviewer
are read from the API after the 202 (plugins/yelp/enrich.py). An update that cannot be read is
quarantined on its own; the others are kept.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any, Mapping

from hub.plugin import (
    Customer,
    EventDraft,
    InboundRequest,
    Link,
    Parsed,
    Rejection,
    Reply,
    RequestRejected,
    Source,
    UnrecognizedPayload,
    as_id,
    as_text,
    parse_time,
    require,
    require_id,
)
from plugins.yelp.reviews import SYSTEM

VERIFICATION = re.compile(r"[A-Za-z0-9]{1,256}")
TOKEN_PARAMETER = "token"  # the source token, checked by the core before the plugin is called
NEW, EDITED, REMOVED = "NEW_REVIEW_EVENT", "REVIEW_EDITED_EVENT", "REVIEW_REMOVED_EVENT"
EVENT_TYPES = {NEW: "cx.review.created", EDITED: "cx.review.updated", REMOVED: "cx.review.deleted"}


class BadHandshake(RequestRejected):
    """A GET that is not Yelp's verification request: answered 400, nothing stored."""

    status = 400
    code = "bad_handshake"


class MethodNotAllowed(RequestRejected):
    """Yelp sends only GET (the handshake) and POST (notifications)."""

    status = 405
    code = "method_not_allowed"


def parse(source: Source, request: InboundRequest) -> Parsed:
    if request.method == "GET":
        return Parsed(reply=handshake(request))
    if request.method != "POST":
        raise MethodNotAllowed(f"a Yelp source takes GET ?verification= and POST notifications, not {request.method}")
    payload = request.json()
    if not isinstance(payload, dict) or payload.get("object") != "business" \
            or not isinstance(payload.get("data"), dict):
        raise UnrecognizedPayload('expected a Yelp webhook: {"object": "business", "data": {"id", "updates"}}')
    data = payload["data"]
    business_id = require_id(data, "id", "data.id (the business id)")
    sent = parse_time(require(payload, "time"), "time")
    if not isinstance(data.get("updates"), list):
        raise UnrecognizedPayload("data.updates must be a list")
    events, rejected = [], []
    for position, update in enumerate(data["updates"]):
        try:
            events.append(_event(business_id, sent, update))
        except UnrecognizedPayload as error:
            alone = {**payload, "data": {**data, "updates": [update]}}
            rejected.append(Rejection(json.dumps(alone, ensure_ascii=False).encode(),
                                      f"data.updates[{position}]: {error.message}"))
    return Parsed(events=events, rejected=rejected)


def handshake(request: InboundRequest) -> Reply:
    """Echo Yelp's verification string; refuse a GET that carries anything else."""
    others = sorted(name for name in request.query if name not in ("verification", TOKEN_PARAMETER))
    if others:
        raise BadHandshake(f"a Yelp verification request carries only ?verification=, not {', '.join(others)}")
    verification = request.query.get("verification")
    if verification is None:
        raise BadHandshake("a GET to a Yelp source is the verification request: ?verification= is missing")
    if not VERIFICATION.fullmatch(verification):
        raise BadHandshake("?verification= must be 1 to 256 letters and digits, as Yelp sends it")
    return Reply(200, json.dumps({"verification": verification}), content_type="application/json")


def _event(business_id: str, sent: datetime, update: Any) -> EventDraft:
    if not isinstance(update, dict):
        raise UnrecognizedPayload(f"an update must be an object, got {type(update).__name__}")
    kind = update.get("event_type")
    if not isinstance(kind, str) or kind not in EVENT_TYPES:
        raise UnrecognizedPayload(f"unknown event_type {kind!r} (known: {', '.join(EVENT_TYPES)})")
    review_id = require_id(update, "review_id")
    attributes: dict[str, str] = {"business_id": business_id, "event_type": kind}
    language = as_text(update.get("language"))
    if language:
        attributes["language"] = language
    return EventDraft(
        type=EVENT_TYPES[kind],
        vendor_event_id=vendor_event_id(update, review_id, kind, sent),
        time=sent,
        link=Link(system=SYSTEM, id=review_id, type="review"),
        customer=Customer(id=as_id(update.get("user_id")) or None),
        attributes=attributes,
        update=kind == EDITED,
        enrich=kind != REMOVED,  # a removed review can no longer be read
    )


def vendor_event_id(update: Mapping[str, Any], review_id: str, kind: str, sent: datetime) -> str:
    """The update's `event_id` when it has one; else one made so that a resent batch is a duplicate.

    A review is created and removed once; it can be edited many times, so an edit is also
    known by the batch's `time` (a resend of the same batch carries the same time).
    """
    event_id = as_id(update.get("event_id"))
    if event_id:
        return event_id
    if kind == EDITED:
        return f"review:{review_id}:edited:{sent.isoformat()}"
    return f"review:{review_id}:{'created' if kind == NEW else 'removed'}"
