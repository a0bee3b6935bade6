"""The text, rating and reviewer of a Yelp review, read from the API after the 202.

One call, `GET /v3/businesses/{business_id}/reviews?sort_by=newest` with
`Authorization: Bearer <api_key>`, which answers `{"reviews": [{"id", "url", "text", "rating",
"time_created", "user": {"id", "name"}}], "total"}`: the business's latest reviews. The review
the webhook named is picked by id. The API's 401 (bad key) and 404 (unknown business), and a
review that is not among those returned, give up (listed by `cxhub enrichment list`); 429 and
5xx are retried.
"""

from __future__ import annotations

from typing import Any, Mapping

from hub.plugin import EventDraft, GiveUp, Source, as_id, parse_time
from plugins.yelp import reviews


def enrich(source: Source, event: Mapping[str, Any]) -> EventDraft:
    data = event["data"]
    business_id, review_id = data["attributes"]["business_id"], data["link"]["id"]
    review = next((item for item in reviews.fetch(source, business_id) if as_id(item.get("id")) == review_id), None)
    if review is None:
        raise GiveUp(f"review {review_id} is not among the reviews the API returns for business {business_id}")
    return reviews.draft(review, type=event["type"], vendor_event_id=data["vendor_event_id"],
                         time=parse_time(event["time"]), attributes=data["attributes"],
                         update=bool(data.get("update")), user_id=data["customer"].get("id"))
