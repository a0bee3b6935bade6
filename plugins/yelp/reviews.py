"""One Yelp review from the API (`reviews[]` of `GET /v3/businesses/{id}/reviews`) in canonical terms.

Shared by the enrichment of a webhook's thin event and by the poll, so that a review reads the
same whichever brought it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping
from urllib.parse import quote
from zoneinfo import ZoneInfo

from hub.plugin import Customer, EventDraft, GiveUp, Link, Score, Source, as_id, as_list, as_text, as_url, parse_time

SYSTEM = "yelp"
YELP_TIME = ZoneInfo("America/Los_Angeles")  # the API's `time_created` is Pacific time, without a zone


def fetch(source: Source, business_id: str) -> list[Mapping[str, Any]]:
    """The business's reviews as the API lists them (the latest few), newest first."""
    if source.api is None:
        raise GiveUp("the source has no api_url")
    headers = {"Authorization": f"Bearer {source.settings['api_key'].reveal()}", "Accept": "application/json"}
    answer = source.api.get_json(f"v3/businesses/{quote(business_id, safe='')}/reviews",
                                 params={"sort_by": "newest"}, headers=headers)
    if not isinstance(answer, dict) or not isinstance(answer.get("reviews"), list):
        raise GiveUp(f"the reviews of business {business_id} came without a 'reviews' list")
    return [review for review in as_list(answer["reviews"]) if isinstance(review, dict)]


def written(review: Mapping[str, Any]) -> datetime:
    """When the review was written: `time_created` ("2016-08-29 00:41:13"), read as Pacific time."""
    value = review.get("time_created")
    moment = parse_time(value, "time_created")
    if isinstance(value, str) and datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is None:
        return moment.replace(tzinfo=YELP_TIME)
    return moment


def draft(review: Mapping[str, Any], *, type: str, vendor_event_id: str, time: datetime,
          attributes: Mapping[str, str], update: bool = False, user_id: str | None = None) -> EventDraft:
    user = review.get("user")
    user = user if isinstance(user, dict) else {}
    review_id = as_id(review.get("id"))
    assert review_id is not None
    return EventDraft(
        type=type,
        vendor_event_id=vendor_event_id,
        time=time,
        link=Link(system=SYSTEM, id=review_id, url=as_url(review.get("url")), type="review"),
        customer=Customer(id=as_id(user.get("id")) or user_id, name=as_text(user.get("name"))),
        score=_rating(review.get("rating")),
        text=as_text(review.get("text")),
        attributes=dict(attributes),
        update=update,
    )


def _rating(value: Any) -> Score | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 1 <= value <= 5:
        return None
    return Score("rating", value, 1, 5)
