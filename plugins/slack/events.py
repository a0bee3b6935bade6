"""Events API `event_callback`s as canonical events: replies in threads, mentions, reactions.

- `message` with a `thread_ts` other than its own `ts` (a reply in a thread) and `app_mention`
  become `cx.message.received`. Top-level channel messages are ignored: they are not answers
  to anything the hub posted.
- `reaction_added` on a message becomes `cx.message.received` whose text is the emoji code.
- Messages of bots (`bot_id`, subtype `bot_message`), among them the hub's own posts, which
  Slack sends back as events, are ignored, as are edits, deletions and other subtypes, and
  every other event type.
- With `bot_user_id` set, only replies in threads started by that user and reactions to its
  messages count, that is the hub's own threads; mentions always count.

The event id is the envelope's `event_id`, so a Slack retry (`X-Slack-Retry-Num`) is a
duplicate. An event's object is the message it is about (`<channel>:<ts>`), the reacted-to
message for a reaction: a reply that is both a `message` and an `app_mention` is then one
message, and a route runs for it once.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Mapping

from hub.plugin import Customer, EventDraft, Link, Source, UnrecognizedPayload, as_id, as_text, require_id

MESSAGE_SUBTYPES = (None, "thread_broadcast", "file_share")  # what a person writes; others are edits, joins, ...
TS = re.compile(r"^\d{1,20}(\.\d{1,20})?$")


def event_draft(source: Source, envelope: Mapping[str, Any], event: Mapping[str, Any]) -> EventDraft | None:
    """The canonical event for one inner event, or None for one the hub ignores."""
    kind = event.get("type")
    if kind in ("message", "app_mention"):
        return _message(source, envelope, event, mention=kind == "app_mention")
    if kind == "reaction_added":
        return _reaction(source, envelope, event)
    return None


def _message(source: Source, envelope: Mapping[str, Any], event: Mapping[str, Any], *,
             mention: bool) -> EventDraft | None:
    user = as_id(event.get("user"))
    bot_user = source.settings["bot_user_id"]
    if event.get("bot_id") or event.get("subtype") not in MESSAGE_SUBTYPES or not user or user == bot_user:
        return None
    channel, ts = require_id(event, "channel"), require_id(event, "ts")
    thread_ts = as_id(event.get("thread_ts"))
    parent_user = as_id(event.get("parent_user_id"))
    if not mention and (not thread_ts or thread_ts == ts or (bot_user and parent_user != bot_user)):
        return None
    return _draft(envelope, event, channel=channel, ts=ts, user=user, text=as_text(event.get("text")),
                  time=slack_time(ts, "ts"), parent=message_link(channel, thread_ts) if thread_ts else None,
                  extra={"thread_ts": thread_ts, "parent_user_id": parent_user, "subtype": event.get("subtype")})


def _reaction(source: Source, envelope: Mapping[str, Any], event: Mapping[str, Any]) -> EventDraft | None:
    item = event.get("item")
    user = as_id(event.get("user"))
    bot_user = source.settings["bot_user_id"]
    if not isinstance(item, dict) or item.get("type") != "message" or not user or user == bot_user:
        return None
    item_user = as_id(event.get("item_user"))
    if bot_user and item_user != bot_user:
        return None
    reaction = require_id(event, "reaction")
    return _draft(envelope, event, channel=require_id(item, "channel"), ts=require_id(item, "ts"), user=user,
                  text=f":{reaction}:", time=slack_time(event.get("event_ts"), "event_ts"), extra={"reaction": reaction, "item_user": item_user})


def _draft(envelope: Mapping[str, Any], event: Mapping[str, Any], *, channel: str, ts: str, user: str,
           text: str | None, time: datetime, extra: Mapping[str, Any], parent: Link | None = None) -> EventDraft:
    attributes = {"slack_event_type": str(event["type"]), "channel": channel, "ts": ts, "user": user,
                  "team_id": as_id(envelope.get("team_id")), **extra}
    return EventDraft(
        type="cx.message.received",
        vendor_event_id=require_id(envelope, "event_id"),
        time=time,
        link=message_link(channel, ts),
        parent=parent,
        customer=Customer(id=user),
        text=text,
        attributes={key: str(value) for key, value in attributes.items() if value},
    )


def message_link(channel: str, ts: str) -> Link:
    """A Slack message as the source and the actions name it: `<channel>:<ts>` (a thread is its first message)."""
    return Link(system="slack", id=f"{channel}:{ts}", type="message")


def slack_time(value: Any, what: str) -> datetime:
    """A Slack timestamp (`1360782804.083113`, seconds with microseconds) as an aware datetime."""
    text = as_id(value)
    try:
        if text and TS.match(text):
            return datetime.fromtimestamp(float(text), tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        pass
    raise UnrecognizedPayload(f"{what} is not a Slack timestamp: {value!r}")
