"""Acme webhooks: `X-Acme-Signature` is the hex HMAC-SHA256 of the raw body."""

from __future__ import annotations

from hub.plugin import (
    Customer,
    EventDraft,
    InboundRequest,
    Link,
    Score,
    Source,
    UnrecognizedPayload,
    active_secrets,
    as_id,
    parse_time,
    require,
    require_id,
    verify_hmac,
)

SIGNATURE_HEADER = "X-Acme-Signature"


def verify(source: Source, request: InboundRequest) -> None:
    verify_hmac(active_secrets(source.settings), request.body, request.header(SIGNATURE_HEADER),
                header=SIGNATURE_HEADER, encoding="hex")


def parse(source: Source, request: InboundRequest) -> list[EventDraft]:
    payload = request.json()
    if not isinstance(payload, dict) or payload.get("type") != "review.created":
        raise UnrecognizedPayload("expected a review.created event")
    review = require(payload, "review")
    try:
        score = Score("rating", require(review, "stars"), 1, 5)
    except (TypeError, ValueError) as error:
        raise UnrecognizedPayload(f"review.stars: {error}") from None
    return [EventDraft(
        type="cx.review.created",
        vendor_event_id=require_id(payload, "id"),
        time=parse_time(require(payload, "created_at"), "created_at"),
        link=Link(system="acme", id=require_id(review, "id"), url=review.get("url"), type="review"),
        customer=Customer(id=as_id(review.get("customer_id")), email=review.get("email"), name=review.get("name")),
        score=score,
        text=review.get("text"),
    )]
