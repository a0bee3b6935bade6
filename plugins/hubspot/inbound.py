"""HubSpot webhook deliveries: the signature check, and the events a batch becomes.

A delivery is a JSON array of up to 100 events. Each element is its own event, in the legacy
format (`subscriptionType: "contact.creation"`, the object type before the dot) or the generic
one (`subscriptionType: "object.creation"` with `objectTypeId: "0-1"`). Contacts, companies, deals,
tickets and conversations become canonical events; the other CRM objects HubSpot can send
(products, line items, custom objects, engagements) carry no customer signal and are skipped. An
element that cannot be read is quarantined on its own, as a batch of that element alone, and the
others are kept.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any, Mapping
from urllib.parse import urlsplit

from hub.plugin import (
    Customer,
    EventDraft,
    InboundRequest,
    InvalidSignature,
    Link,
    Parsed,
    Rejection,
    Source,
    UnrecognizedPayload,
    as_text,
)
from plugins.hubspot import signatures
from plugins.hubspot.signatures import LEGACY_HEADER, TIMESTAMP_HEADER, V3_HEADER, VERSION_HEADER

SYSTEM = "hubspot"
OBJECT_TYPE_IDS = {"0-1": "contact", "0-2": "company", "0-3": "deal", "0-5": "ticket"}
TYPE_IDS = {name: type_id for type_id, name in OBJECT_TYPE_IDS.items()}
CRM_ACTIONS = ("creation", "deletion", "propertyChange", "merge", "restore", "associationChange")
ACTIONS = {
    "contact": (*CRM_ACTIONS, "privacyDeletion"),
    "company": CRM_ACTIONS, "deal": CRM_ACTIONS, "ticket": CRM_ACTIONS,
    "conversation": ("creation", "deletion", "privacyDeletion", "propertyChange", "newMessage"),
}
SKIPPED = ("product", "line_item")  # legacy CRM objects HubSpot sends that are no customer signal
CHANGES = ("propertyChange", "merge", "restore", "associationChange")
MAX_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z
MAX_ID = 64  # characters of an id: HubSpot's are 64-bit numbers, message ids 32 hex digits
MAX_KEY = 512  # characters of a vendor event id the store takes


def verify(source: Source, request: InboundRequest) -> None:
    """v3 when the request carries it; else v1 or v2, only if the source accepts them."""
    secret = source.settings["client_secret"].reveal()
    given = request.header(V3_HEADER)
    if given:
        timestamp = request.header(TIMESTAMP_HEADER)
        signatures.check_v3_timestamp(timestamp)
        assert timestamp is not None
        uri = called_uri(source, request)
        if not signatures.matches(signatures.v3_signature(secret, request.method, uri, request.body, timestamp), given):
            hint = "" if source.settings.get("public_url") else (
                "; behind a proxy, set public_url to the URL entered in HubSpot")
            raise InvalidSignature(f"the {V3_HEADER} signature does not match the method, URL, body and "
                                   f"timestamp{hint}")
        return
    if not source.settings.get("accept_legacy_signatures"):
        older = f"; this source accepts no {LEGACY_HEADER} (v1, v2) unless accept_legacy_signatures is on" \
            if request.header(LEGACY_HEADER) else ""
        raise InvalidSignature(f"the {V3_HEADER} header is missing{older}")
    _verify_legacy(secret, source, request)


def _verify_legacy(secret: str, source: Source, request: InboundRequest) -> None:
    given = request.header(LEGACY_HEADER)
    if not given:
        raise InvalidSignature(f"neither {V3_HEADER} nor {LEGACY_HEADER} is present")
    version = (request.header(VERSION_HEADER) or "").strip().lower()
    if version == "v1":
        expected = signatures.v1_signature(secret, request.body)
    elif version == "v2":
        expected = signatures.v2_signature(secret, request.method, called_uri(source, request), request.body)
    else:
        raise InvalidSignature(f"{VERSION_HEADER} must be v1 or v2 for {LEGACY_HEADER}")
    if not signatures.matches(expected, given.lower()):
        raise InvalidSignature(f"the {LEGACY_HEADER} ({version}) signature does not match")


def called_uri(source: Source, request: InboundRequest) -> str:
    """The URL HubSpot called: `public_url` (with the request's query when it has none), else the URL received."""
    public = source.settings.get("public_url")
    if not public:
        if not request.url:
            raise InvalidSignature("the URL this request was sent to is unknown; set public_url")
        return request.url
    query = urlsplit(request.url).query if request.url else ""
    return public if "?" in public or not query else f"{public}?{query}"


def parse(source: Source, request: InboundRequest) -> Parsed:
    batch = request.json()
    if not isinstance(batch, list):
        raise UnrecognizedPayload(f"expected a HubSpot webhook batch (a JSON array of events), got "
                                  f"{type(batch).__name__}")
    enrich = bool(source.settings.get("access_token"))
    events, rejected = [], []
    for position, element in enumerate(batch):
        try:
            draft = event(element, enrich=enrich)
        except UnrecognizedPayload as error:
            alone = json.dumps([element], ensure_ascii=False).encode()
            rejected.append(Rejection(alone, f"[{position}]: {error.message}"))
            continue
        if draft is not None:
            events.append(draft)
    return Parsed(events=events, rejected=rejected)


def event(element: Any, *, enrich: bool = False) -> EventDraft | None:
    """One element in canonical terms; None for an object type that is no customer signal."""
    if not isinstance(element, dict):
        raise UnrecognizedPayload(f"an event must be an object, got {type(element).__name__}")
    subscription = as_text(element.get("subscriptionType"))
    prefix, dot, action = (subscription or "").partition(".")
    if not dot or not action:
        raise UnrecognizedPayload(f"subscriptionType must be OBJECT.ACTION, got {subscription!r}")
    if prefix == "object":
        type_id = _required_text(element, "objectTypeId")
        kind = OBJECT_TYPE_IDS.get(type_id)
        if kind is None:
            return None  # a product, line item, engagement or custom object
    else:
        kind, type_id = prefix, TYPE_IDS.get(prefix, prefix)
        if kind in SKIPPED:
            return None
        if kind not in ACTIONS:
            raise UnrecognizedPayload(f"unknown subscriptionType {subscription!r}")
    if action not in ACTIONS[kind]:
        raise UnrecognizedPayload(f"unknown subscriptionType {subscription!r} (a {kind} event is one of "
                                  f"{', '.join(ACTIONS[kind])})")
    object_id = _id(element.get("objectId")) or (_id(element.get("fromObjectId"))
                                                   if action == "associationChange" else None)
    if not object_id:
        raise UnrecognizedPayload("objectId is missing or not an id")
    portal_id, event_id = _required_id(element, "portalId"), _required_id(element, "eventId")
    occurred = _occurred(element.get("occurredAt"))
    message_id = _id(element.get("messageId")) if action == "newMessage" else None
    return EventDraft(
        type=canonical_type(kind, action),
        vendor_event_id=vendor_event_id(element, subscription or "", type_id, object_id, portal_id, event_id),
        time=datetime.fromtimestamp(occurred / 1000, tz=timezone.utc),
        link=Link(system=SYSTEM, id=message_id or object_id, type="message" if message_id else kind),
        customer=Customer(id=object_id if kind == "contact" else None),
        attributes=attributes(element, subscription or "", kind, type_id, object_id, portal_id),
        update=action in CHANGES,
        enrich=enrich and kind == "contact" and action not in ("deletion", "privacyDeletion"),
    )


def canonical_type(kind: str, action: str) -> str:
    if kind == "conversation":
        return {"creation": "cx.conversation.created", "newMessage": "cx.message.received",
                "propertyChange": "cx.conversation.updated"}.get(action, "cx.conversation.deleted")
    if action == "creation":
        return f"cx.{kind}.created"
    return f"cx.{kind}.deleted" if action in ("deletion", "privacyDeletion") else f"cx.{kind}.updated"


def vendor_event_id(element: Mapping[str, Any], subscription: str, type_id: str, object_id: str, portal_id: str,
                    event_id: str) -> str:
    """What makes a resend of this element a duplicate, and two different elements two events.

    HubSpot documents `eventId` as not guaranteed to be unique, and real batches show one
    `eventId` on events about different objects. A resend repeats the element as it was except
    `attemptNumber`, so the key is everything that says which change this is: the account
    (`portalId`), the subscription, the object (its type and id: ids are unique only within a
    type), the property changed, the `eventId` and the moment (`occurredAt`). `attemptNumber` is
    left out: it is what changes between a delivery and its resend.
    """
    parts = [portal_id, subscription, _id(element.get("subscriptionId")) or "", type_id, object_id,
             as_text(element.get("propertyName")) or "", _id(element.get("messageId")) or "", event_id,
             str(element.get("occurredAt"))]
    key = ":".join(parts)
    # The store takes ids of up to 512 characters; a longer key (a long property name) is hashed,
    # which a resend, carrying the same parts, hashes alike.
    return key if len(key) <= MAX_KEY else "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def attributes(element: Mapping[str, Any], subscription: str, kind: str, type_id: str, object_id: str,
               portal_id: str) -> dict[str, str]:
    values: dict[str, str | None] = {
        "subscription_type": subscription,
        "object_type": kind,
        "object_type_id": type_id,
        "object_id": object_id,
        "portal_id": portal_id,
        "app_id": _id(element.get("appId")),
        "change_source": as_text(element.get("changeSource")),
        "change_flag": as_text(element.get("changeFlag")),
        "source_id": as_text(element.get("sourceId")),
        "property_name": as_text(element.get("propertyName")),
        "primary_object_id": _id(element.get("primaryObjectId")),
        "new_object_id": _id(element.get("newObjectId")),
        "merged_object_ids": ",".join(str(_id(item)) for item in element.get("mergedObjectIds") or []
                                      if _id(item)) if isinstance(element.get("mergedObjectIds"), list) else None,
        "association_type": as_text(element.get("associationType")),
        "from_object_id": _id(element.get("fromObjectId")),
        "to_object_id": _id(element.get("toObjectId")),
        "association_removed": _flag(element.get("associationRemoved")),
        "is_primary_association": _flag(element.get("isPrimaryAssociation")),
        "message_id": _id(element.get("messageId")),
        "message_type": as_text(element.get("messageType")),
    }
    if element.get("isSensitive") is True:
        values["is_sensitive"] = "true"  # a sensitive property's value is not kept
    elif "propertyValue" in element:
        value = element["propertyValue"]
        values["property_value"] = value if isinstance(value, str) else json.dumps(value)
    return {key: value for key, value in values.items() if value is not None and value != ""}


def _id(value: Any) -> str | None:
    """An id HubSpot sends as a number (or a string): as a string; anything else (or a huge one) is no id."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 10 ** MAX_ID:
        return str(value)
    if isinstance(value, str) and value.strip() and len(value.strip()) <= MAX_ID:
        return value.strip()
    return None


def _flag(value: Any) -> str | None:
    return str(value).lower() if isinstance(value, bool) else None


def _required_id(element: Mapping[str, Any], key: str) -> str:
    value = _id(element.get(key))
    if not value:
        raise UnrecognizedPayload(f"{key} is missing or not an id")
    return value


def _required_text(element: Mapping[str, Any], key: str) -> str:
    value = as_text(element.get(key))
    if not value:
        raise UnrecognizedPayload(f"{key} is missing")
    return value


def _occurred(value: Any) -> int:
    """`occurredAt`: Unix milliseconds."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_MS:
        raise UnrecognizedPayload(f"occurredAt must be Unix milliseconds, got {value!r}")
    return value
