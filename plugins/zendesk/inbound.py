"""Zendesk event-subscribed webhooks: signature check and normalization of ticket events.

Signature: `X-Zendesk-Webhook-Signature` = base64(HMAC-SHA256(secret, timestamp + raw body)),
where the timestamp is the `X-Zendesk-Webhook-Signature-Timestamp` header's value as sent and
the secret is the signing secret as Zendesk shows it. The timestamp (ISO 8601, e.g.
`2024-04-17T17:18:10Z`) must be within `tolerance_seconds` of now, against replays.

Ticket created, status changed, priority changed and comment added become canonical events.
Other `zen:event-type:` events (the ticket's other changes, users, articles...) are accepted
and ignored; a body that is not an event-subscribed payload (a trigger's own JSON) is kept in
quarantine with a message saying so.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Mapping

from hub.plugin import (
    Customer,
    EventDraft,
    InboundRequest,
    InvalidSignature,
    Link,
    Source,
    UnrecognizedPayload,
    active_secrets,
    as_id,
    as_list,
    as_text,
    check_timestamp,
    parse_time,
    require,
    require_id,
    verify_hmac,
)

SIGNATURE_HEADER = "X-Zendesk-Webhook-Signature"
TIMESTAMP_HEADER = "X-Zendesk-Webhook-Signature-Timestamp"
EVENT_PREFIX = "zen:event-type:"
TICKET_SUBJECT_PREFIX = "zen:ticket:"
# Zendesk event type -> (canonical type, what changed)
TICKET_EVENTS = {
    "ticket.created": ("cx.ticket.created", "created"),
    "ticket.status_changed": ("cx.ticket.updated", "status"),
    "ticket.priority_changed": ("cx.ticket.updated", "priority"),
    "ticket.comment_added": ("cx.ticket.updated", "comment"),
}
AGENT_URL = "https://{subdomain}.zendesk.com/agent/tickets/{ticket_id}"


def verify(source: Source, request: InboundRequest) -> None:
    timestamp = request.header(TIMESTAMP_HEADER)
    check_timestamp(_unix_seconds(timestamp), tolerance=source.settings["tolerance_seconds"], header=TIMESTAMP_HEADER)
    assert timestamp is not None  # check_timestamp refused a missing one
    verify_hmac(active_secrets(source.settings), timestamp.encode("utf-8") + request.body,
                request.header(SIGNATURE_HEADER), header=SIGNATURE_HEADER, encoding="base64")


def _unix_seconds(timestamp: str | None) -> str | None:
    """The header as Unix seconds: Zendesk sends ISO 8601; plain seconds are read as they are."""
    if not timestamp or timestamp.strip().replace(".", "", 1).isdigit():
        return timestamp
    try:
        moment = datetime.fromisoformat(timestamp.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidSignature(f"the {TIMESTAMP_HEADER} header is not an ISO 8601 timestamp") from None
    return str((moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp())


def parse(source: Source, request: InboundRequest) -> list[EventDraft]:
    payload = request.json()
    kind = payload.get("type") if isinstance(payload, dict) else None
    if not isinstance(kind, str) or not kind.startswith(EVENT_PREFIX):
        raise UnrecognizedPayload("expected a Zendesk event-subscribed webhook (a 'type' of 'zen:event-type:...'); "
                                  "for trigger or automation webhooks, use the webhook source")
    known = TICKET_EVENTS.get(kind[len(EVENT_PREFIX):])
    if known is None:
        return []  # an event type cxhub does not map: accepted and ignored
    canonical_type, change = known
    detail = require(payload, "detail")
    if not isinstance(detail, dict):
        raise UnrecognizedPayload("detail must be an object")
    ticket_id = _ticket_id(payload, detail)
    event = _object(payload.get("event"))
    comment = _object(event.get("comment"))
    subdomain = source.settings["subdomain"]
    return [EventDraft(
        type=canonical_type,
        vendor_event_id=require_id(payload, "id"),
        time=parse_time(require(payload, "time"), "time"),
        link=Link(system="zendesk", id=ticket_id, type="ticket",
                  url=AGENT_URL.format(subdomain=subdomain, ticket_id=ticket_id) if subdomain else None),
        customer=_requester(detail, comment),
        text=as_text(comment.get("body")) if change == "comment" else
        as_text(detail.get("description")) if change == "created" else None,
        attributes=_attributes(payload, detail, event, comment, change),
        enrich=source.api is not None and bool(as_id(detail.get("requester_id"))),  # the email comes after the 202
    )]


def _ticket_id(payload: Mapping[str, Any], detail: Mapping[str, Any]) -> str:
    """`detail.id`, or the number in `subject` (`zen:ticket:35436`); ids are numbers."""
    subject = as_text(payload.get("subject")) or ""
    ticket_id = as_id(detail.get("id")) or (subject[len(TICKET_SUBJECT_PREFIX):]
                                            if subject.startswith(TICKET_SUBJECT_PREFIX) else None)
    if not ticket_id or not ticket_id.isascii() or not ticket_id.isdigit():
        raise UnrecognizedPayload(f"expected a ticket id in detail.id or subject, got {ticket_id!r}")
    return ticket_id


def _requester(detail: Mapping[str, Any], comment: Mapping[str, Any]) -> Customer:
    """The requester's id; the name too when the requester wrote the comment.

    Ticket events carry no email: the Users API gives it (`api.fetch_user`).
    """
    requester_id = as_id(detail.get("requester_id")) or None
    author = _object(comment.get("author"))
    name = as_text(author.get("name")) if requester_id and as_id(author.get("id")) == requester_id else None
    return Customer(id=requester_id, name=name)


def _object(value: Any) -> Mapping[str, Any]:
    """A JSON object of the payload, or an empty one in place of anything else."""
    return value if isinstance(value, dict) else {}


def _lower(value: Any) -> str | None:
    """Zendesk writes enum values in capitals in these events (`SOLVED`); the REST API in lower case."""
    text = as_text(value)
    return text.lower() if text else None


def _attributes(payload: Mapping[str, Any], detail: Mapping[str, Any], event: Mapping[str, Any],
                comment: Mapping[str, Any], change: str) -> dict[str, str]:
    values: dict[str, str | None] = {
        "zendesk_event_type": payload["type"],
        "change": change,
        "status": _lower(detail.get("status")),
        "priority": _lower(detail.get("priority")),
        "ticket_type": _lower(detail.get("type")),
        "subject": as_text(detail.get("subject")),
        "via_channel": as_text(_object(detail.get("via")).get("channel")),
        "tags": ",".join(str(tag) for tag in as_list(detail.get("tags"))) or None,
        "assignee_id": as_id(detail.get("assignee_id")),
        "account_id": as_id(payload.get("account_id")),
    }
    if change in ("status", "priority"):  # the event says what changed: its current value wins over detail's
        values[change] = _lower(event.get("current")) or values[change]
        values[f"previous_{change}"] = _lower(event.get("previous"))
    if change == "comment":
        values["comment_id"] = as_id(comment.get("id"))
        public = comment.get("is_public")
        values["comment_public"] = str(public).lower() if isinstance(public, bool) else None
        values["comment_author_id"] = as_id(_object(comment.get("author")).get("id"))
    return {key: value for key, value in values.items() if value}
