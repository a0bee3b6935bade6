"""One Google Business Profile review in canonical terms, whether a poll or a notification brought it.

Event ids, the same from both paths so a review is routed once:

- created: `review:<reviewId>:created`;
- updated: `review:<reviewId>:updated:<digest>`, the digest of the stars and comment after
  the edit, so the same edit read twice (a notification, then a poll) is one event.
"""

from __future__ import annotations

from typing import Any, Mapping

from hub.plugin import (
    Customer,
    EventDraft,
    Link,
    Score,
    UnrecognizedPayload,
    as_text,
    content_digest,
    parse_time,
    require,
    require_id,
)

STARS = {"ONE": 1, "TWO": 2, "THREE": 3, "FOUR": 4, "FIVE": 5}
MAPS_URL = "https://search.google.com/local/reviews?placeid={location}"


def created(review: Mapping[str, Any]) -> EventDraft:
    review_id = require_id(review, "reviewId")
    return _draft("cx.review.created", f"review:{review_id}:created", review, review_id,
                  require(review, "createTime"))


def updated(review: Mapping[str, Any]) -> EventDraft:
    review_id = require_id(review, "reviewId")
    digest = content_digest(stars_of(review), as_text(review.get("comment")))
    return _draft("cx.review.updated", f"review:{review_id}:updated:{digest}", review, review_id,
                  review.get("updateTime") or require(review, "createTime"))


def was_edited(review: Mapping[str, Any]) -> bool:
    """Google sets updateTime to createTime until the review changes."""
    return bool(review.get("updateTime")) and \
        parse_time(review["updateTime"], "updateTime") != parse_time(require(review, "createTime"), "createTime")


def stars_of(review: Mapping[str, Any]) -> int:
    """`starRating` is an enum name (`ONE` ... `FIVE`); `STAR_RATING_UNSPECIFIED` or anything else is refused."""
    rating = review.get("starRating")
    stars = STARS.get(rating) if isinstance(rating, str) else None
    if stars is None:
        raise UnrecognizedPayload(f"starRating must be ONE to FIVE, got {review.get('starRating')!r}")
    return stars


def _draft(kind: str, vendor_event_id: str, review: Mapping[str, Any], review_id: str, moment: Any) -> EventDraft:
    reviewer, reply = _object(review.get("reviewer")), _object(review.get("reviewReply"))
    anonymous = bool(reviewer.get("isAnonymous"))
    attributes = {"review_name": as_text(review.get("name")), "anonymous": "true" if anonymous else "false",
                  "reply": as_text(reply.get("comment"))}
    return EventDraft(type=kind, vendor_event_id=vendor_event_id, time=parse_time(moment, "updateTime"),
                      link=Link(system="google", id=review_id, type="review"),
                      customer=Customer(name=None if anonymous else as_text(reviewer.get("displayName"))),
                      score=Score("rating", stars_of(review), 1, 5), text=as_text(review.get("comment")),
                      attributes={key: value for key, value in attributes.items() if value is not None})


def _object(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
