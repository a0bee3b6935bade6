"""The review a notification names, read from the Business Profile API after the 202.

One call, `GET /v4/{reviewName}` (accounts.locations.reviews.get) with `Authorization: Bearer
<access_token>`. The API's 401 (an expired token) and 404 (a review deleted since) give up:
the thin event stays, listed by `cxhub enrichment list` and retried by `cxhub enrichment
retry` once fixed; 429 and 5xx are retried with the source's `api_retry` backoff.

- `NEW_REVIEW`: the review completes the thin event in place (same id as a poll's).
- `UPDATED_REVIEW`: the thin event announced an edit it could not name; the edit read now is
  returned as a `FoundEvent` under the id a poll gives it, so an edit both bring is one event.
  A review that shows no edit (`updateTime` equal to `createTime`) can only be its creation,
  found under the creation's id.
"""

from __future__ import annotations

from typing import Any, Mapping

from hub.plugin import EventDraft, FoundEvent, GiveUp, Source, UnrecognizedPayload
from plugins.google_reviews import inbound, reviews


def enrich(source: Source, event: Mapping[str, Any]) -> EventDraft | FoundEvent:
    attributes = event["data"]["attributes"]
    name = attributes["review_name"]
    review = reviews.fetch(source, name)
    try:
        if attributes.get(inbound.NOTIFICATION) == inbound.UPDATED:
            edit = reviews.updated(review, source.settings) if reviews.was_edited(review) \
                else reviews.created(review, source.settings)
            return FoundEvent(edit)
        return reviews.created(review, source.settings)
    except UnrecognizedPayload as error:  # e.g. STAR_RATING_UNSPECIFIED: reading it again will not help
        raise GiveUp(f"the review {name} cannot be read: {error.message}") from None
