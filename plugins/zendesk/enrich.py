"""The requester of a ticket event, fetched from the Users API after the 202.

Zendesk's ticket events carry `detail.requester_id` but no email. With API credentials in the
source's settings, the event is stored thin and a worker asks `GET /api/v2/users/{id}.json`
for the requester's email and name; the event is routed once it has them, so a route can write
to the customer. A requester deleted since (404) leaves the event as it came, with the id only:
the ticket's change still matters. Refused credentials (401, 403) fail the enrichment, which
`cxhub enrichment retry` tries again once they are fixed; 429 and 5xx are retried.
"""

from __future__ import annotations

from typing import Any, Mapping

from hub.plugin import GiveUp, PauseConnection, Source
from plugins.zendesk.api import fetch_user


def requester(source: Source, event: Mapping[str, Any]) -> dict[str, Any]:
    data = event["data"]
    requester_id = data["customer"]["id"]
    if not requester_id:
        return dict(event)
    try:
        user = fetch_user(source.api, source.settings, requester_id)
    except ValueError as error:  # not a Zendesk user id: nothing to ask
        raise GiveUp(str(error)) from None
    except PauseConnection as error:  # for a source there is no connection to pause: the enrichment fails
        raise GiveUp(f"Zendesk refused the source's API credentials ({error.status_code}); fix them, then "
                     "cxhub enrichment retry", status_code=error.status_code) from None
    except GiveUp as error:
        if error.status_code == 404:
            return dict(event)
        raise
    customer = {"id": user.id or requester_id, "email": user.email or data["customer"]["email"],
                "name": user.name or data["customer"]["name"]}
    return {**event, "data": {**data, "customer": customer}}
