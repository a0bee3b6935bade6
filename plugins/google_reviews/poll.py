"""Polling `accounts.locations.reviews.list` of the Business Profile API (v4).

`GET /v4/accounts/{account_id}/locations/{location_id}/reviews?pageSize=50&orderBy=updateTime desc`
with `Authorization: Bearer <access_token>`, following `nextPageToken` until a page reaches
reviews last updated before the cursor (at most 50 pages). The cursor is the newest
`updateTime` seen; each poll looks back `OVERLAP` before it.

A review gets the event ids a notification's enrichment gives it (plugins/google_reviews/reviews.py),
so a review or an edit that both bring is one event, routed once.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from hub.plugin import EventDraft, GiveUp, PollResult, Source, UnrecognizedPayload, parse_time, poll_window
from plugins.google_reviews import reviews

log = logging.getLogger("cxhub.plugins.google_reviews")
PAGE_SIZE = 50
MAX_PAGES = 50
OVERLAP = timedelta(minutes=10)


def poll(source: Source, cursor: str | None) -> PollResult:
    settings = source.settings
    if source.api is None:
        raise GiveUp(f"source {source.name!r} has no api_url")
    since, start = poll_window(cursor, first_look_back=timedelta(hours=settings.get("backfill_hours", 24)),
                               overlap=OVERLAP)
    path = f"v4/accounts/{settings['account_id']}/locations/{settings['location_id']}/reviews"
    headers = {"Authorization": f"Bearer {settings['access_token'].reveal()}"}
    params: dict[str, Any] = {"pageSize": PAGE_SIZE, "orderBy": "updateTime desc"}
    events: list[EventDraft] = []
    newest = since
    for _ in range(MAX_PAGES):
        document = source.api.get_json(path, params=params, headers=headers)
        items = document.get("reviews", []) if isinstance(document, dict) else None
        if not isinstance(items, list):
            raise GiveUp(f"GET {path} answered without a 'reviews' list")
        reached_the_cursor = False
        for review in items:
            try:
                changed = parse_time(review.get("updateTime") or review.get("createTime")
                                     if isinstance(review, dict) else None, "updateTime")
                if changed < start:
                    reached_the_cursor = True
                    continue
                if parse_time(review.get("createTime"), "createTime") >= start:
                    events.append(reviews.created(review, settings))
                if reviews.was_edited(review):
                    events.append(reviews.updated(review, settings))
            except UnrecognizedPayload as error:  # one unreadable review does not stop the poll
                log.warning("source %s: skipped a review the API listed: %s", source.name, error.message)
                continue
            newest = max(newest, changed)
        token = document.get("nextPageToken")
        if reached_the_cursor or not token:
            break
        params = {**params, "pageToken": token}
    return PollResult(events=events, cursor=newest.isoformat())
