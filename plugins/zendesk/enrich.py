"""The requester's email and name, read from the Users API after the 202 (a source with API credentials).

Ticket events name the requester by id only. One call, `GET /api/v2/users/{requester_id}.json`
with the source's credentials, gives `user.email` and `user.name`; the event keeps everything
else it had. A 401, 403 or 404 gives up (the event stays thin, listed by `cxhub enrichment
list`); 429 and 5xx are retried by the core.
"""

from __future__ import annotations

from typing import Any, Mapping

from hub.plugin import Customer, EventDraft, GiveUp, Link, PauseConnection, Source, parse_time
from plugins.zendesk.api import fetch_user


def enrich(source: Source, event: Mapping[str, Any]) -> EventDraft:
    data = event["data"]
    thin = data["customer"]
    requester_id = thin.get("id")
    if source.api is None:
        raise GiveUp("the source has no API credentials to read the requester with")
    if not requester_id or not requester_id.isascii() or not requester_id.isdigit():
        raise GiveUp(f"the event names no requester id to read (got {requester_id!r})")
    try:
        user = fetch_user(source.api, source.settings, requester_id)
    except PauseConnection as error:  # a source has no connection to pause: the enrichment fails with the reason
        raise GiveUp(f"Zendesk refused the source's API credentials ({error.status_code}); fix them, then "
                     "`cxhub enrichment retry`", status_code=error.status_code) from None
    link = data["link"]
    return EventDraft(
        type=event["type"],
        vendor_event_id=data["vendor_event_id"],
        time=parse_time(event["time"]),
        link=Link(system=link["system"], id=link["id"], url=link.get("url"), type=link.get("type")),
        customer=Customer(id=requester_id, email=user.email, name=user.name or thin.get("name")),
        text=data.get("text"),
        attributes=dict(data["attributes"]),
        update=bool(data.get("update")),
    )
