"""Polling Yelp's API for new reviews of many businesses, for accounts without webhooks.

Each poll reads `GET /v3/businesses/{id}/reviews?sort_by=newest` for every id in
`business_ids`, and makes a `cx.review.created` of each review written since the cursor (less
`OVERLAP`, for reviews the API lists late). Its event id is the webhook's,
`review:<id>:created`, so a review both bring is one event, routed once. The API lists only the
latest few reviews of a business and no edit times, so a poll finds new reviews only: edits
and removals come by webhook. The cursor is the newest `time_created` seen.
"""

from __future__ import annotations

import logging
from datetime import timedelta, timezone

from hub.plugin import EventDraft, GiveUp, PollResult, Source, UnrecognizedPayload, as_id, poll_window
from plugins.yelp import reviews

log = logging.getLogger("cxhub.plugins.yelp")

OVERLAP = timedelta(hours=1)


def poll(source: Source, cursor: str | None) -> PollResult:
    business_ids = source.settings.get("business_ids") or []
    if not business_ids:
        raise GiveUp(f"source {source.name!r} needs business_ids to poll")
    since, start = poll_window(cursor, first_look_back=timedelta(hours=source.settings["backfill_hours"]),
                               overlap=OVERLAP)
    events: list[EventDraft] = []
    newest = since
    for business_id in business_ids:
        for review in reviews.fetch(source, business_id):
            review_id = as_id(review.get("id"))
            if not review_id:
                continue
            try:
                moment = reviews.written(review)
            except UnrecognizedPayload as error:  # one unreadable review does not stop the poll
                log.warning("source %s: skipped review %s: %s", source.name, review_id, error.message)
                continue
            if moment < start:
                continue
            events.append(reviews.draft(review, type="cx.review.created", time=moment,
                                        vendor_event_id=f"review:{review_id}:created",
                                        attributes={"business_id": business_id}))
            newest = max(newest, moment)
    return PollResult(events=events, cursor=newest.astimezone(timezone.utc).isoformat())
