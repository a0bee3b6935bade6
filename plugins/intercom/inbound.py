"""Intercom webhooks (notification events): signature check and normalization of conversation topics.

Signature: `X-Hub-Signature: sha1=` + hex(HMAC-SHA1(client secret, raw body)). Intercom signs no
timestamp header; the notification's `created_at` is inside the signed body, so a notification
older (or later) than `max_age_seconds` is refused as a replay.

A notification wraps the object in `data.item`; its `id` (`notif_...`) stays the same when
Intercom delivers it again (`delivery_attempts` counts up), so it is the event id. Two shapes of
conversation are read: API 1.x (`user`, `conversation_message`) and 2.x (`contacts`, `source`).
"""

from __future__ import annotations

import time
from typing import Any, Mapping

from hub.plugin import (
    Customer,
    EventDraft,
    InboundRequest,
    InvalidSignature,
    Link,
    MalformedBody,
    Parsed,
    Reply,
    Source,
    UnrecognizedPayload,
    active_secrets,
    as_email,
    as_id,
    as_list,
    as_text,
    as_url,
    parse_time,
    require,
    verify_hmac,
)
from plugins.intercom.html_text import html_to_text

SIGNATURE_HEADER = "X-Hub-Signature"
PING_TOPIC = "ping"
# topic -> canonical type
TOPICS = {
    "conversation.user.created": "cx.conversation.created",
    "conversation.user.replied": "cx.message.received",
    "conversation.admin.replied": "cx.message.received",
    "conversation.admin.closed": "cx.ticket.updated",
}
CONTACT_TYPES = frozenset({"user", "lead", "contact"})  # authors who are the customer, not a teammate or bot


def verify(source: Source, request: InboundRequest) -> None:
    verify_hmac(active_secrets(source.settings), request.body, request.header(SIGNATURE_HEADER),
                header=SIGNATURE_HEADER, prefix="sha1=", algorithm="sha1")
    max_age = source.settings["max_age_seconds"]
    if max_age is not None:
        _check_age(request, max_age)


def _check_age(request: InboundRequest, max_age: int) -> None:
    """Refuse a signed notification sent long ago: a replay of a captured request."""
    try:
        payload = request.json()
    except MalformedBody:
        return  # parse() answers it with the reason
    created = payload.get("created_at") if isinstance(payload, dict) else None
    if isinstance(created, bool) or not isinstance(created, (int, float)):
        raise InvalidSignature("the notification has no created_at (Unix seconds) to check its age against")
    skew = abs(time.time() - created)
    if skew > max_age:
        raise InvalidSignature(f"the notification's created_at is {skew:.0f}s away from now "
                               f"(max_age_seconds {max_age}): a replay?")


def parse(source: Source, request: InboundRequest) -> Parsed:
    payload = request.json()
    if not isinstance(payload, dict) or payload.get("type") != "notification_event":
        raise UnrecognizedPayload("expected an Intercom webhook notification ('type': 'notification_event')")
    topic = require(payload, "topic")
    if topic == PING_TOPIC:
        return Parsed([], Reply(200, b"pong"))  # Intercom's test of the endpoint: nothing to store
    canonical_type = TOPICS.get(topic) if isinstance(topic, str) else None
    if canonical_type is None:
        return Parsed([])  # a topic cxhub does not map: accepted and ignored
    item = require(payload, "data.item")
    if not isinstance(item, dict) or item.get("type") != "conversation":
        raise UnrecognizedPayload(f"a {topic} notification must carry a conversation in data.item")
    return Parsed([_event(payload, topic, canonical_type, item)])


def _required_id(value: Any, what: str) -> str:
    """An id Intercom sends as a string (or a number); anything else means the payload is not Intercom's."""
    identifier = _id(value)
    if identifier is None:
        raise UnrecognizedPayload(f"the notification has no {what} (a string)")
    return identifier


def _id(value: Any) -> str | None:
    """A string or a number as an id; an empty string, a boolean, an object or a list is no id."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    return as_id(value) or None


def _event(payload: Mapping[str, Any], topic: str, canonical_type: str, item: Mapping[str, Any]) -> EventDraft:
    conversation_id = _required_id(item.get("id"), "data.item.id")
    event_id = _required_id(payload.get("id"), "id")
    url = as_url(_object(item.get("links")).get("conversation_web"))
    opening = _opening_message(item)
    part = _last_part(item) if canonical_type != "cx.conversation.created" else {}
    message = part or opening
    author = _object(message.get("author"))
    if canonical_type == "cx.message.received":
        # Each message is its own object: a conversation's second reply is not an update of its first.
        part_id = _id(part.get("id")) or event_id
        link = Link(system="intercom", id=part_id, url=url, type="conversation_part")
        parent: Link | None = Link(system="intercom", id=conversation_id, url=url, type="conversation")
    else:
        link, parent = Link(system="intercom", id=conversation_id, url=url, type="conversation"), None
    moment = message.get("created_at") or (item.get("created_at") if canonical_type == "cx.conversation.created"
                                           else item.get("updated_at")) or payload.get("created_at")
    return EventDraft(
        type=canonical_type,
        vendor_event_id=event_id,
        time=parse_time(moment, "the message's created_at"),
        link=link,
        parent=parent,
        customer=_customer(item, opening, author),
        text=_text(message.get("body")),
        attributes=_attributes(payload, topic, item, conversation_id, opening, part, author),
    )


def _opening_message(item: Mapping[str, Any]) -> Mapping[str, Any]:
    """The message that opened the conversation: `source` (API 2.x) or `conversation_message` (1.x)."""
    return _object(item.get("source")) or _object(item.get("conversation_message"))


def _last_part(item: Mapping[str, Any]) -> Mapping[str, Any]:
    """The part the notification is about: the last of `conversation_parts` (Intercom sends the new ones)."""
    parts = [part for part in as_list(_object(item.get("conversation_parts")).get("conversation_parts"))
             if isinstance(part, dict)]
    return parts[-1] if parts else {}


def _customer(item: Mapping[str, Any], opening: Mapping[str, Any], author: Mapping[str, Any]) -> Customer:
    """The conversation's contact: `user` (1.x) or the first of `contacts` (2.x), with what authors tell of it."""
    contact = _object(item.get("user"))
    if not contact:
        listed = _object(item.get("contacts")).get("contacts")
        contacts = listed if isinstance(listed, list) else as_list(item.get("contacts"))
        contact = next((entry for entry in contacts if isinstance(entry, dict)), {})
    contact_id = _id(contact.get("id"))
    known = [contact] + [person for person in (author, _object(opening.get("author")))
                         if person.get("type") in CONTACT_TYPES and (contact_id is None or
                                                                      _id(person.get("id")) == contact_id)]
    email = next((found for person in known if (found := as_email(person.get("email")))), None)
    name = next((found for person in known if (found := as_text(person.get("name")))), None)
    if contact_id is None:
        contact_id = next((found for person in known[1:] if (found := _id(person.get("id")))), None)
    return Customer(id=contact_id, email=email, name=name)


def _text(body: Any) -> str | None:
    return as_text(html_to_text(body)) if isinstance(body, str) else None


def _object(value: Any) -> Mapping[str, Any]:
    """A JSON object of the payload, or an empty one in place of anything else."""
    return value if isinstance(value, dict) else {}


def _attributes(payload: Mapping[str, Any], topic: str, item: Mapping[str, Any], conversation_id: str,
                opening: Mapping[str, Any], part: Mapping[str, Any], author: Mapping[str, Any]) -> dict[str, str]:
    assignee = _object(item.get("assignee"))
    values: dict[str, str | None] = {
        "intercom_topic": topic,
        "conversation_id": conversation_id,
        "app_id": _id(payload.get("app_id")),
        "state": as_text(item.get("state")),
        "subject": _text(opening.get("subject")),
        "author_type": as_text(author.get("type")),
        "author_id": _id(author.get("id")),
        "author_name": as_text(author.get("name")),
        "part_type": as_text(part.get("part_type")),
        "part_id": _id(part.get("id")),
        "assignee_id": _id(assignee.get("id")) or _id(item.get("admin_assignee_id")),
        "delivered_as": as_text(opening.get("delivered_as")),
        "tags": ",".join(name for tag in as_list(_object(item.get("tags")).get("tags"))
                         if isinstance(tag, dict) and (name := as_text(tag.get("name")))) or None,
    }
    return {key: value for key, value in values.items() if value}
