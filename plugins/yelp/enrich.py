"""The text, rating and reviewer of a Yelp review, read from the API after the 202.

One call, `GET /v3/businesses/{business_id}/reviews` with `Authorization: Bearer <api_key>`,
which answers `{"reviews": [{"id", "url", "text", "rating", "time_created", "user": {"id",
"name"}}], "total"}`: the business's latest reviews. The review the webhook named is picked by
id. The API's 401 (bad key) and 404 (unknown business), and a review that is not among those
returned, give up (listed by `cxhub enrichment list`); 429 and 5xx are retried.
"""

from __future__ import annotations

from typing import Any, Mapping
from urllib.parse import quote

from hub.plugin import Customer, EventDraft, GiveUp, Link, Score, Source, as_id, as_list, as_text, as_url, parse_time

from plugins.yelp.inbound import SYSTEM


def enrich(source: Source, event: Mapping[str, Any]) -> EventDraft:
    data = event["data"]
    business_id, review_id = data["attributes"]["business_id"], data["link"]["id"]
    if source.api is None:
        raise GiveUp("the source has no api_url")
    headers = {"Authorization": f"Bearer {source.settings['api_key'].reveal()}", "Accept": "application/json"}
    answer = source.api.get_json(f"v3/businesses/{quote(business_id, safe='')}/reviews", headers=headers)
    reviews = as_list(answer.get("reviews")) if isinstance(answer, dict) else []
    review = next((item for item in reviews if isinstance(item, dict) and as_id(item.get("id")) == review_id), None)
    if review is None:
        raise GiveUp(f"review {review_id} is not among the reviews the API returns for business {business_id}")
    user = review.get("user")
    user = user if isinstance(user, dict) else {}
    return EventDraft(
        type=event["type"],
        vendor_event_id=data["vendor_event_id"],
        time=parse_time(event["time"]),
        link=Link(system=SYSTEM, id=review_id, url=as_url(review.get("url")), type="review"),
        customer=Customer(id=as_id(user.get("id")) or data["customer"].get("id"), name=as_text(user.get("name"))),
        score=_rating(review.get("rating")),
        text=as_text(review.get("text")),
        attributes=dict(data["attributes"]),
        update=bool(data.get("update")),
    )


def _rating(value: Any) -> Score | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 1 <= value <= 5:
        return None
    return Score("rating", value, 1, 5)
