"""One Google Business Profile review in canonical terms, whether a poll or a notification brought it.

Identity. The review's resource name, `accounts/{a}/locations/{l}/reviews/{reviewId}`, is
the one id both paths know: a notification carries only that name, a poll lists the review
under it. The object an event is about (`link.id`, the CloudEvent `subject`) is its last
segment, the `reviewId`, so every event about one review is about one object, and the event
ids are:

- created: `review:<reviewId>:created` (a notification's thin event and a poll agree on it
  before anything is fetched, so the review is one event whichever comes first);
- updated: `review:<reviewId>:updated:<digest>`, the digest of the stars and comment after
  the edit. Only what the edited review says names the edit: an `UPDATED_REVIEW`
  notification names the review, not the edit, so its thin event is an announcement, and
  the enrichment hands back the edit it reads under this id (`FoundEvent`), the id a poll
  gives the same edit. The same edit read twice is one event, a further edit a new one.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from hub.plugin import (
    Customer,
    EventDraft,
    GiveUp,
    Link,
    Score,
    Source,
    UnrecognizedPayload,
    as_text,
    content_digest,
    parse_time,
    require,
)

STARS = {"ONE": 1, "TWO": 2, "THREE": 3, "FOUR": 4, "FIVE": 5}
SYSTEM = "google"
REVIEW_ID = re.compile(r"[A-Za-z0-9_-]{1,512}")  # no dots or slashes: a name cannot lead elsewhere in the API


def location_prefix(settings: Mapping[str, Any]) -> str:
    return f"accounts/{settings['account_id']}/locations/{settings['location_id']}/reviews/"


def review_id_of(name: Any, settings: Mapping[str, Any]) -> str:
    """The `reviewId` a review name ends with; UnrecognizedPayload unless it names a review of this location."""
    prefix = location_prefix(settings)
    if not isinstance(name, str) or not name.startswith(prefix) or not REVIEW_ID.fullmatch(name[len(prefix):]):
        raise UnrecognizedPayload(f"reviewName {name!r} is not a review of this source's location")
    return name[len(prefix):]


def fetch(source: Source, name: str) -> Mapping[str, Any]:
    """`GET /v4/{name}` (accounts.locations.reviews.get) with the source's bearer token."""
    if source.api is None:
        raise GiveUp(f"source {source.name!r} has no api_url")
    review = source.api.get_json(f"v4/{name}",
                                 headers={"Authorization": f"Bearer {source.settings['access_token'].reveal()}"})
    if not isinstance(review, dict):
        raise GiveUp(f"GET v4/{name} answered something other than a review object")
    if review.get("name") != name:
        raise GiveUp(f"GET v4/{name} answered the review {review.get('name')!r}")
    return review


def created(review: Mapping[str, Any], settings: Mapping[str, Any]) -> EventDraft:
    review_id = review_id_of(require(review, "name"), settings)
    return _draft("cx.review.created", f"review:{review_id}:created", review, review_id,
                  require(review, "createTime"))


def updated(review: Mapping[str, Any], settings: Mapping[str, Any]) -> EventDraft:
    review_id = review_id_of(require(review, "name"), settings)
    digest = content_digest(stars_of(review), as_text(review.get("comment")))
    return _draft("cx.review.updated", f"review:{review_id}:updated:{digest}", review, review_id,
                  review.get("updateTime") or require(review, "createTime"), update=True)


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


def _draft(kind: str, vendor_event_id: str, review: Mapping[str, Any], review_id: str, moment: Any,
           update: bool = False) -> EventDraft:
    reviewer, reply = _object(review.get("reviewer")), _object(review.get("reviewReply"))
    anonymous = bool(reviewer.get("isAnonymous"))
    attributes = {"review_name": as_text(review.get("name")), "anonymous": "true" if anonymous else "false",
                  "reply": as_text(reply.get("comment"))}
    return EventDraft(type=kind, vendor_event_id=vendor_event_id, time=parse_time(moment, "updateTime"),
                      link=Link(system=SYSTEM, id=review_id, type="review"),
                      customer=Customer(name=None if anonymous else as_text(reviewer.get("displayName"))),
                      score=Score("rating", stars_of(review), 1, 5), text=as_text(review.get("comment")),
                      attributes={key: value for key, value in attributes.items() if value is not None},
                      update=update)


def _object(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
