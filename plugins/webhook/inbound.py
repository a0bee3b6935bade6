"""The generic source: Standard Webhooks or a configured HMAC scheme, fields found by the configured mapping."""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone
from typing import Any, Mapping

from hub.plugin import (
    Customer,
    EventDraft,
    InboundRequest,
    InvalidSignature,
    Link,
    Score,
    Source,
    UnrecognizedPayload,
    active_secrets,
    as_email,
    as_id,
    as_text,
    as_url,
    check_timestamp,
    dig,
    parse_time,
    require_id,
    signed_message,
    signed_parts,
    verify_hmac,
    verify_standard_webhook,
)
from plugins.webhook.forms import nest_form
from plugins.webhook.settings import id_header, timestamp_header

OFFSET = re.compile(r"\s*([+-]\d{2}):?(\d{2})$")  # "13:57:26 -0700" (Ruby's Time#to_s) -> "13:57:26-07:00"


def verify(source: Source, request: InboundRequest) -> None:
    signature = source.settings["signature"]
    if signature["scheme"] == "standard_webhooks":
        verify_standard_webhook(active_secrets(source.settings), request.body, request.headers)
    elif signature["scheme"] == "hmac":
        verify_configured_hmac(signature, active_secrets(source.settings), request)
    # scheme "none": the core has checked the source token (the config cannot load without one)


def verify_configured_hmac(signature: Mapping[str, Any], secrets: list[str], request: InboundRequest) -> None:
    """Check the timestamp (if a header carries one), rebuild the signed bytes, compare the HMAC."""
    timestamp = ident = ""
    if signature["timestamp_header"]:
        timestamp = request.header(signature["timestamp_header"]) or ""
        check_timestamp(timestamp, tolerance=signature["tolerance_seconds"], header=signature["timestamp_header"])
    if signature["id_header"]:
        ident = request.header(signature["id_header"]) or ""
        if not ident and "id" in signed_parts(signature["signed"]):
            raise InvalidSignature(f"the {signature['id_header']} header is missing")
    message = signed_message(signature["signed"], body=request.body, timestamp=timestamp, id=ident)
    verify_hmac(secrets, message, request.header(signature["header"]), header=signature["header"],
                prefix=signature["prefix"], encoding=signature["encoding"], algorithm=signature["algorithm"])


def parse(source: Source, request: InboundRequest) -> list[EventDraft]:
    settings, mapping = source.settings, source.settings["mapping"]
    payload = nest_form(request.form()) if settings["body"] == "form" else request.json()
    if not isinstance(payload, dict):
        raise UnrecognizedPayload("the body must be a JSON object")
    return [EventDraft(
        type=settings["event_type"],
        vendor_event_id=_event_id(payload, mapping["event_id"], request, settings),
        time=_time(payload, mapping["time"], request, settings),
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


def _event_id(payload: Any, paths: list[str] | None, request: InboundRequest, settings: Mapping[str, Any]) -> str:
    """The mapped fields joined with ':' (`[question.id, count]` tells an update from a resend), else the id header."""
    if paths:
        return ":".join(require_id(payload, path) for path in paths)
    header = id_header(settings) or "webhook-id"  # the settings guarantee one when no path is mapped
    return request.require_header(header, "event id (or set mapping.event_id)")


def _time(payload: Any, path: str | None, request: InboundRequest, settings: Mapping[str, Any]) -> datetime:
    """The mapped field, else the signed timestamp header, else (a scheme without one) the time it is parsed."""
    if path:
        value = dig(payload, path)
        if isinstance(value, str) and re.fullmatch(r"\d{9,11}(\.\d+)?", value.strip()):
            value = float(value)  # Unix seconds sent as text
        elif isinstance(value, str) and re.search(r"\d:\d\d", value):
            value = OFFSET.sub(r"\1:\2", value.strip())
        return parse_time(value, f"time at {path!r}")
    header = timestamp_header(settings)
    if header:  # the scheme signs a timestamp: it is the event's time, and a request without it is incomplete
        stamp = request.require_header(header, "event time (or set mapping.time)")
        return parse_time(_number(stamp), f"the {header} header")
    return datetime.now(timezone.utc)


def _optional(payload: Any, path: str | None) -> Any:
    return dig(payload, path) if path else None


def _number(value: Any) -> Any:
    """Numbers sent as text (form fields always are, some JSON senders too) as numbers; anything else as is."""
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value
        if math.isfinite(number):
            return int(number) if number.is_integer() else number
    return value


def _score(payload: Any, path: str | None, scale: Mapping[str, Any]) -> Score | None:
    value = _number(_optional(payload, path))
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UnrecognizedPayload(f"score at {path!r} must be a number, got {value!r}")
    try:
        return Score(scale["type"], value, scale["min"], scale["max"])
    except ValueError as error:
        raise UnrecognizedPayload(str(error)) from None
