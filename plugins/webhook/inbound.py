"""The generic JSON source: Standard Webhooks signatures, fields found by the configured mapping."""

from __future__ import annotations

from typing import Any, Mapping

from hub.plugin import (
    Customer,
    EventDraft,
    InboundRequest,
    Link,
    Score,
    Source,
    UnrecognizedPayload,
    active_secrets,
    as_email,
    as_id,
    as_text,
    as_url,
    dig,
    parse_time,
    require_id,
    verify_standard_webhook,
)


def verify(source: Source, request: InboundRequest) -> None:
    verify_standard_webhook(active_secrets(source.settings), request.body, request.headers)


def parse(source: Source, request: InboundRequest) -> list[EventDraft]:
    payload = request.json()
    if not isinstance(payload, dict):
        raise UnrecognizedPayload("the body must be a JSON object")
    settings, mapping = source.settings, source.settings["mapping"]
    if mapping["event_id"]:
        event_id = require_id(payload, mapping["event_id"], "event id")
    else:
        event_id = request.require_header("webhook-id", "event id (or set mapping.event_id)")
    if mapping["time"]:
        moment = dig(payload, mapping["time"])
    else:
        moment = _unix(request.require_header("webhook-timestamp", "event time (or set mapping.time)"))
    return [EventDraft(
        type=settings["event_type"],
        vendor_event_id=event_id,
        time=parse_time(moment),
        link=Link(system=settings["system"], id=require_id(payload, mapping["object_id"]),
                  url=as_url(_optional(payload, mapping["object_url"])), type=mapping["object_type"]),
        customer=Customer(id=as_id(_optional(payload, mapping["customer_id"])),
                          email=as_email(_optional(payload, mapping["customer_email"])),
                          name=as_text(_optional(payload, mapping["customer_name"]))),
        score=_score(payload, mapping["score"], settings["score_scale"]),
        text=as_text(_optional(payload, mapping["text"])),
        attributes={key: str(value) for key, path in mapping["attributes"].items()
                    if (value := dig(payload, path)) is not None},
    )]


def _unix(value: str) -> float | str:
    """A webhook-timestamp header's Unix seconds (anything else is left for parse_time to refuse)."""
    try:
        return float(value)
    except ValueError:
        return value


def _optional(payload: Any, path: str | None) -> Any:
    return dig(payload, path) if path else None


def _score(payload: Any, path: str | None, scale: Mapping[str, Any]) -> Score | None:
    value = _optional(payload, path)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UnrecognizedPayload(f"score at {path!r} must be a number, got {value!r}")
    try:
        return Score(scale["type"], value, scale["min"], scale["max"])
    except ValueError as error:
        raise UnrecognizedPayload(str(error)) from None
