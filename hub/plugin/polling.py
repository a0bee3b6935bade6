"""Helpers for plugins that poll a vendor's API (`cxhub_poll`) and must agree with their webhooks."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone
from typing import Any

from hub.plugin.mapping import parse_time


def poll_window(cursor: str | None, *, first_look_back: timedelta,
                overlap: timedelta = timedelta(minutes=10)) -> tuple[datetime, datetime]:
    """Where a poll reads from: `(since, start)`, with `start` = `since` less `overlap`.

    `since` is the cursor (an ISO 8601 time, as `PollResult.cursor` keeps it), or, before the
    first poll, now less `first_look_back`. The overlap catches what the vendor lists late;
    what it finds again is recognised by its event id and routed nothing.
    """
    since = parse_time(cursor, "cursor") if cursor else datetime.now(timezone.utc) - first_look_back
    return since, since - overlap


def content_digest(*values: Any) -> str:
    """16 hex digits identifying what an edited object says (for a `vendor_event_id`).

    A webhook of an edit and a poll that reads the edited object both know what it says, not
    always when it changed: the same digest makes them one event, and a further edit a new one.
    """
    text = json.dumps(list(values), ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
