"""Interactivity requests: clicks on the buttons of the hub's own messages, as `cx.ticket.updated`.

Slack posts them form-encoded, the JSON in one `payload=` field, and wants an empty HTTP 200
within three seconds (anything else shows the user an error), so every interactivity request
the hub takes is answered that way, ignored ones included: shortcuts, modals, legacy
attachment buttons and actions outside a message are accepted and ignored.

A `block_actions` payload has no event id. Each button in it becomes one event whose id is
made of what identifies that click: the message (channel and ts), the button's `action_id`,
the user and the click's `action_ts` (microseconds). A resend of the request is then a
duplicate, and a second click, even on the same button, a new event. `trigger_id` is not
used: Slack calls it short-lived and says nothing of its uniqueness.

The event's object is the message the button is on (`<channel>:<ts>`), the case the hub
posted it for, and every click is an update of it (`data.update`). The `response_url` is a
credential (it lets anyone post to the channel for a while) and is left out of the event.

With a `bot_token` in the source's settings, each click is stored thin and enriched with the
clicker's email and name (`data.attributes.actor_*`, see `enrich.py`) before it is routed.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping

from hub.plugin import (
    Customer,
    EventDraft,
    InboundRequest,
    Link,
    Parsed,
    Reply,
    Source,
    UnrecognizedPayload,
    as_id,
    as_list,
    as_text,
    dig,
    require_id,
)
from plugins.slack.events import slack_time

ACKNOWLEDGED = Reply(200)


def parse(source: Source, request: InboundRequest) -> Parsed:
    fields = request.form()
    if len(fields.get("payload") or []) != 1:
        raise UnrecognizedPayload("expected a Slack interactivity request: a form with one payload field")
    payload = replace(request, body=fields["payload"][0].encode("utf-8"), content_type="application/json").json()
    if not isinstance(payload, dict):
        raise UnrecognizedPayload("the payload field must hold a JSON object")
    if payload.get("type") != "block_actions":
        return Parsed(reply=ACKNOWLEDGED)
    channel = as_id(dig(payload, "container.channel_id")) or as_id(dig(payload, "channel.id"))
    message_ts = as_id(dig(payload, "container.message_ts")) or as_id(dig(payload, "message.ts"))
    if not channel or not message_ts:
        return Parsed(reply=ACKNOWLEDGED)  # an action in a modal or the app's home: on no message the hub posted
    user = require_id(payload, "user.id")
    enrich = source.api is not None  # with a bot token: who clicked comes from users.info, after the 200
    events = [_click(payload, action, channel=channel, message_ts=message_ts, user=user, enrich=enrich)
              for action in as_list(payload.get("actions")) if isinstance(action, dict) and action.get("type") == "button"]
    return Parsed(events=events, reply=ACKNOWLEDGED)


def _click(payload: Mapping[str, Any], action: Mapping[str, Any], *, channel: str, message_ts: str,
           user: str, enrich: bool) -> EventDraft:
    action_id, action_ts = require_id(action, "action_id"), require_id(action, "action_ts")
    attributes = {
        "slack_event_type": "block_actions", "action_id": action_id, "value": as_id(action.get("value")),
        "block_id": as_id(action.get("block_id")), "button": as_text(dig(action, "text.text")),
        "channel": channel, "ts": message_ts, "thread_ts": as_id(dig(payload, "message.thread_ts")),
        "user": user, "team_id": as_id(dig(payload, "team.id")),
    }
    return EventDraft(
        type="cx.ticket.updated",
        vendor_event_id=f"block_actions:{channel}:{message_ts}:{action_id}:{user}:{action_ts}",
        time=slack_time(action_ts, "action_ts"),
        link=Link(system="slack", id=f"{channel}:{message_ts}", type="message"),
        customer=Customer(id=user, name=as_text(dig(payload, "user.name")) or as_text(dig(payload, "user.username"))),
        attributes={key: value for key, value in attributes.items() if value},
        update=True,
        enrich=enrich,
    )
