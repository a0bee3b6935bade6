"""What an event about a case's tickets means for the case: a first response, the close, or nothing.

By the system of the object the event is about (`data.link.system`), as each tracker reports it:

| system | first response | close |
|---|---|---|
| jira | a comment (`cx.message.received`); the issue moved to a status of the "in progress" category | a status of the "done" category |
| slack | a reply in the alert's thread (`cx.message.received`); a click on a button whose `action_id` is `take` | a click on `resolved` |
| zendesk | status changed to open, pending or on-hold; a public comment by someone other than the requester | status solved or closed |
| intercom | an admin's reply (`author_type` admin) | the conversation closed (`state` closed) |

The moment that counts is when the hub received the report (`received_at`), the same clock the
SLA runs on. `who` is the person the event names (a Slack click's user, enriched to an email when
the source has a bot token): a "take" makes them the case's owner.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

TAKE_ACTIONS = frozenset({"take"})
RESOLVE_ACTIONS = frozenset({"resolved", "resolve"})


@dataclass(frozen=True)
class Signal:
    kind: str  # "response" or "close"
    who: str | None = None  # a new owner (a "take")


def signal_of(event: Mapping[str, Any]) -> Signal | None:
    data = event.get("data") or {}
    system = (data.get("link") or {}).get("system")
    attributes = data.get("attributes") or {}
    kind = event.get("type")
    if system == "jira":
        if kind == "cx.message.received":
            return Signal("response")
        category = attributes.get("status_category")
        return Signal("close") if category == "done" else Signal("response") if category == "in progress" else None
    if system == "slack":
        if kind == "cx.message.received":
            return Signal("response")
        action = attributes.get("action_id")
        customer = data.get("customer") or {}
        if action in TAKE_ACTIONS:
            return Signal("response", customer.get("email") or customer.get("name") or customer.get("id"))
        return Signal("close") if action in RESOLVE_ACTIONS else None
    if system == "zendesk":
        status = attributes.get("status")
        if status in ("solved", "closed"):
            return Signal("close")
        if attributes.get("change") == "status" and status in ("open", "pending", "hold"):
            return Signal("response")
        author, requester = attributes.get("comment_author_id"), (data.get("customer") or {}).get("id")
        if attributes.get("change") == "comment" and attributes.get("comment_public") == "true" and author != requester:
            return Signal("response")
        return None
    if system == "intercom":
        if attributes.get("state") == "closed" and kind == "cx.ticket.updated":
            return Signal("close")
        return Signal("response") if kind == "cx.message.received" and attributes.get("author_type") == "admin" else None
    return None
