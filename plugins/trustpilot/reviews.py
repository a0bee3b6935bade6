"""One Trustpilot service review in canonical terms, the same whether a webhook or a poll brought it.

The event ids are what make a review seen by both one event:

- created: `service-review:<id>:created`. A review is created once.
- updated: `service-review:<id>:updated:<digest>`, the digest of the stars, title and text
  after the edit. Webhook and API both carry those, while only the API is sure to carry
  `updatedAt`, so an edit is known by what it says: the webhook of an edit and the poll that
  reads the edited review agree, and a resend is the same edit.
- deleted: `service-review:<id>:deleted`.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Mapping

from hub.plugin import (
    Customer,
    EventDraft,
    Link,
    Score,
    UnrecognizedPayload,
    as_email,
    as_id,
    as_list,
    as_text,
    content_digest,
    parse_time,
    require,
    require_id,
)

REVIEW_URL = "https://www.trustpilot.com/reviews/{id}"


def created(review: Mapping[str, Any]) -> EventDraft:
    review_id = require_id(review, "id", "eventData.id")
    return _draft("cx.review.created", f"service-review:{review_id}:created", review, review_id,
                  parse_time(require(review, "createdAt", "createdAt"), "createdAt"))


def updated(review: Mapping[str, Any]) -> EventDraft:
    review_id = require_id(review, "id", "eventData.id")
    stars = stars_of(review)
    digest = content_digest(stars, as_text(review.get("title")), as_text(review.get("text")))
    moment = review.get("updatedAt") or review.get("createdAt")
    time = parse_time(moment, "updatedAt") if moment else datetime.now(timezone.utc)
    return _draft("cx.review.updated", f"service-review:{review_id}:updated:{digest}", review, review_id, time)


def deleted(review: Mapping[str, Any]) -> EventDraft:
    """A deleted review's event carries what the vendor still sends (often only its id)."""
    review_id = require_id(review, "id", "eventData.id")
    moment = review.get("updatedAt") or review.get("deletedAt")
    time = parse_time(moment, "updatedAt") if moment else datetime.now(timezone.utc)
    return EventDraft(type="cx.review.deleted", vendor_event_id=f"service-review:{review_id}:deleted", time=time,
                      link=_link(review_id), customer=_customer(review), attributes=_attributes(review))


def edited_since(review: Mapping[str, Any], moment: datetime) -> bool:
    """Whether the API's copy of a review says it was changed after it was written, and after `moment`."""
    if not review.get("updatedAt"):
        return False
    changed = parse_time(review["updatedAt"], "updatedAt")
    return changed >= moment and changed != parse_time(require(review, "createdAt"), "createdAt")


def stars_of(review: Mapping[str, Any]) -> int:
    """Stars 1-5. Integers as documented; a float such as 4.0 is taken as 4, anything else refused."""
    stars = review.get("stars")
    if isinstance(stars, float) and stars.is_integer():
        stars = int(stars)
    if not isinstance(stars, int) or isinstance(stars, bool) or not 1 <= stars <= 5:
        raise UnrecognizedPayload(f"stars must be a whole number from 1 to 5, got {stars!r}")
    return stars


def _draft(kind: str, vendor_event_id: str, review: Mapping[str, Any], review_id: str,
           time: datetime) -> EventDraft:
    return EventDraft(type=kind, vendor_event_id=vendor_event_id, time=time, link=_link(review_id),
                      customer=_customer(review), score=Score("rating", stars_of(review), 1, 5),
                      text=as_text(review.get("text")), attributes=_attributes(review))


def _link(review_id: str) -> Link:
    return Link(system="trustpilot", id=review_id, url=REVIEW_URL.format(id=review_id), type="service_review")


def _customer(review: Mapping[str, Any]) -> Customer:
    """Webhooks name the consumer `name`, the API `displayName`; only private API reviews carry an email."""
    consumer = review.get("consumer")
    consumer = consumer if isinstance(consumer, Mapping) else {}
    email = as_email(review.get("referralEmail")) or as_email(review.get("referenceId"))
    return Customer(id=as_id(consumer.get("id")), email=email,
                    name=as_text(consumer.get("name")) or as_text(consumer.get("displayName")))


def _attributes(review: Mapping[str, Any]) -> dict[str, str]:
    found = {"title": as_text(review.get("title")), "language": as_text(review.get("language")),
             "reference_id": as_id(review.get("referenceId")) or None,
             "location_id": as_id(review.get("locationId")) or None,
             "verified": as_id(review.get("isVerified")),
             "tags": ", ".join(f"{tag.get('group')}: {tag.get('value')}" for tag in as_list(review.get("tags"))
                               if isinstance(tag, Mapping)) or None}
    return {key: value for key, value in found.items() if value is not None}
