"""The email and name of a contact an event names, read from the CRM v3 objects API after the 202.

One call, `GET /crm/v3/objects/contacts/{id}?properties=email,firstname,lastname` with
`Authorization: Bearer <access_token>`, which answers `{"id", "properties": {"email",
"firstname", "lastname", ...}, "createdAt", "updatedAt", "archived"}`. A 401, 403 or 404 (the
contact was deleted, or the token lacks `crm.objects.contacts.read`) gives up: the event stays
thin and is listed by `cxhub enrichment list`; 429 and 5xx are retried.
"""

from __future__ import annotations

from typing import Any, Mapping

from hub.plugin import Customer, EventDraft, GiveUp, Link, Source, as_email, as_text, parse_time
from plugins.hubspot.api import CONTACT_FIELDS, CONTACTS, auth_headers


def enrich(source: Source, event: Mapping[str, Any]) -> EventDraft:
    data = event["data"]
    contact_id = data["customer"]["id"]
    if source.api is None:
        raise GiveUp("the source has no api_url")
    if not contact_id or not contact_id.isdigit():
        raise GiveUp(f"the event names no contact id to read (got {contact_id!r})")
    headers = {"Accept": "application/json", **auth_headers(source.settings)}
    contact = source.api.get_json(f"{CONTACTS}/{contact_id}", params={"properties": ",".join(CONTACT_FIELDS)},
                                  headers=headers)
    properties = contact.get("properties") if isinstance(contact, dict) else None
    if not isinstance(properties, dict):
        raise GiveUp(f"contact {contact_id} came without its properties")
    name = " ".join(part for part in (as_text(properties.get("firstname")), as_text(properties.get("lastname")))
                    if part) or None
    link = data["link"]
    return EventDraft(
        type=event["type"],
        vendor_event_id=data["vendor_event_id"],
        time=parse_time(event["time"]),
        link=Link(system=link["system"], id=link["id"], url=link.get("url"), type=link.get("type")),
        customer=Customer(id=contact_id, email=as_email(properties.get("email")), name=name),
        attributes=dict(data["attributes"]),
        update=bool(data.get("update")),
    )
