"""Polling Trustpilot's Business Units API for reviews that no webhook brought.

With an `access_token` the poll reads private reviews
(`GET /v1/private/business-units/{id}/reviews`, which carry the referral email and order
reference); with only an `api_key`, the public ones (`GET /v1/business-units/{id}/reviews`).
Both are read newest first (`orderBy=createdat.desc`, 100 a page, `page=1, 2, ...`) until a
page reaches reviews older than the cursor. Newest first makes page numbers safe: a review
written during the poll pushes the others one place later, so a page repeats a review rather
than skipping one. The cursor is the newest `createdAt` seen; each poll looks back
`OVERLAP` before it, for reviews the API lists late. An edit is found when its review is on a
page the poll reads (`updatedAt` after the cursor); edits of older reviews come by webhook.
"""

from __future__ import annotations

import logging
from datetime import timedelta, timezone
from typing import Any

from hub.plugin import EventDraft, GiveUp, PollResult, Source, UnrecognizedPayload, parse_time, poll_window
from plugins.trustpilot import reviews

log = logging.getLogger("cxhub.plugins.trustpilot")
PER_PAGE = 100
MAX_PAGES = 50
OVERLAP = timedelta(minutes=10)


def poll(source: Source, cursor: str | None) -> PollResult:
    settings = source.settings
    unit, api_key, token = settings.get("business_unit_id"), settings.get("api_key"), settings.get("access_token")
    if not unit or api_key is None or source.api is None:
        raise GiveUp(f"source {source.name!r} needs business_unit_id and api_key to poll")
    since, start = poll_window(cursor, first_look_back=timedelta(hours=settings.get("backfill_hours", 24)),
                               overlap=OVERLAP)
    headers = {"apikey": api_key.reveal(), "Accept": "application/json"}
    params: dict[str, Any] = {"orderBy": "createdat.desc", "perPage": PER_PAGE}
    if token is not None:
        path = f"v1/private/business-units/{unit}/reviews"
        headers["Authorization"] = f"Bearer {token.reveal()}"
        params["startDateTime"] = start.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")  # UTC, as documented
    else:
        path = f"v1/business-units/{unit}/reviews"
    events: list[EventDraft] = []
    newest = since
    for page in range(1, MAX_PAGES + 1):
        document = source.api.get_json(path, params={**params, "page": page}, headers=headers)
        items = document.get("reviews") if isinstance(document, dict) else None
        if not isinstance(items, list):
            raise GiveUp(f"GET {path} answered without a 'reviews' list")
        reached_the_cursor = False
        for review in items:
            try:
                written = parse_time(review.get("createdAt") if isinstance(review, dict) else None, "createdAt")
                found = [] if written < start else [reviews.created(review)]
                if reviews.edited_since(review, start):
                    found.append(reviews.updated(review))
            except UnrecognizedPayload as error:  # one unreadable review does not stop the poll
                log.warning("source %s: skipped a review the API listed: %s", source.name, error.message)
                continue
            reached_the_cursor = reached_the_cursor or written < start
            events.extend(found)
            newest = max(newest, written)
        if reached_the_cursor or len(items) < PER_PAGE:
            break
    return PollResult(events=events, cursor=newest.isoformat())
