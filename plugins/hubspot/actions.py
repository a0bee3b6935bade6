"""The HubSpot actions: `update_contact`, `add_note` and `create_ticket` (CRM v3 objects API).

* `update_contact`: the contact by `contact_id` (`PATCH /crm/v3/objects/contacts/{id}`), or by
  email (Search, then PATCH); with `create: true` a contact no one has the email of is created
  (`POST /crm/v3/objects/contacts`). HubSpot refuses a second contact with one email (409,
  "Existing ID: N"), so a retry after a lost answer updates the contact it created.
* `add_note`: `POST /crm/v3/objects/notes` with `hs_timestamp` and `hs_note_body`, associated in
  the same request with the contact and the deal, company or ticket given.
* `create_ticket`: `POST /crm/v3/objects/tickets` with subject, content, pipeline and stage,
  associated with the contact (when found) and the company or deal given.

HubSpot offers no idempotency key for creating records: a note or a ticket whose answer was
lost (a timeout after HubSpot made it) is made again by the retry.
"""

from __future__ import annotations

import html
import re
from typing import Any, Mapping

from hub.plugin import ActionResult, Connection, GiveUp, as_email, fit_text, full_text_location
from plugins.hubspot.api import (
    CONTACTS,
    NOTES,
    TICKETS,
    association,
    call,
    find_contact,
    json_object,
    record_id,
)

# HubSpot-defined (unlabelled) association types, from the v4 associations API's table of defaults.
NOTE_TO = {"contact": 202, "company": 190, "deal": 214, "ticket": 228}
TICKET_TO = {"contact": 16, "company": 26, "deal": 28}
TEXT_LIMIT = 65_536  # characters of a text property (hs_note_body, content, subject)
EXISTING_ID = re.compile(r"Existing ID: ?(\d+)")


def update_contact(connection: Connection, params: Mapping[str, Any], event: Mapping[str, Any]) -> ActionResult:
    properties = {name: property_value(value) for name, value in params["properties"].items()}
    email = params["email"] or _event_email(event)
    contact_id = params["contact_id"]
    if not contact_id:
        if not email:
            raise GiveUp("update_contact needs contact_id or an email, and the event has no customer email")
        contact_id = find_contact(connection.http, connection.settings, email)
    if contact_id:
        try:
            return _patch(connection, contact_id, properties)
        except GiveUp as error:
            if error.status_code != 404 or not (params["create"] and email):
                raise
    if not params["create"]:
        raise GiveUp("no HubSpot contact has the email given; set create: true to create it")
    if not email:
        raise GiveUp("creating a contact needs an email, and neither the params nor the event give one")
    return _create_contact(connection, email, properties)


def _patch(connection: Connection, contact_id: str, properties: Mapping[str, str]) -> ActionResult:
    response = call(connection.http, connection.settings, "PATCH", f"{CONTACTS}/{contact_id}",
                    what=f"contact {contact_id}", json={"properties": dict(properties)})
    return ActionResult(external_id=record_id(json_object(response, f"contact {contact_id}"), "the contact"),
                        detail={"created": "false"})


def _create_contact(connection: Connection, email: str, properties: Mapping[str, str]) -> ActionResult:
    try:
        response = call(connection.http, connection.settings, "POST", CONTACTS, what="the new contact",
                        json={"properties": {"email": email, **properties}})
    except GiveUp as error:
        existing = EXISTING_ID.search(error.message) if error.status_code == 409 else None
        if existing is None:
            raise
        return _patch(connection, existing.group(1), properties)  # made by an attempt whose answer was lost
    return ActionResult(external_id=record_id(json_object(response, "the new contact"), "the new contact"),
                        detail={"created": "true"})


def add_note(connection: Connection, params: Mapping[str, Any], event: Mapping[str, Any]) -> ActionResult:
    targets = {kind: params[f"{kind}_id"] for kind in ("deal", "company", "ticket") if params[f"{kind}_id"]}
    contact_id = _contact(connection, params, event, required=not targets)
    if contact_id:
        targets = {"contact": contact_id, **targets}
    note = {
        "properties": {"hs_timestamp": params["timestamp"] or event["time"],
                       "hs_note_body": note_body(params["body"], full_text_at=full_text_location(event))},
        "associations": [association(target, NOTE_TO[kind]) for kind, target in targets.items()],
    }
    response = call(connection.http, connection.settings, "POST", NOTES, what="the new note", json=note)
    return ActionResult(external_id=record_id(json_object(response, "the new note"), "the new note"),
                        detail={f"{kind}_id": target for kind, target in targets.items()})


def create_ticket(connection: Connection, params: Mapping[str, Any], event: Mapping[str, Any]) -> ActionResult:
    full_text_at = full_text_location(event)
    properties = {name: property_value(value) for name, value in params["properties"].items()}
    properties.update({"subject": fit_text(params["subject"].replace("\n", " ").strip(), TEXT_LIMIT, short=True),
                       "hs_pipeline": params["pipeline"], "hs_pipeline_stage": params["stage"]})
    if params["content"]:
        properties["content"] = fit_text(params["content"], TEXT_LIMIT, full_text_at=full_text_at)
    if params["priority"]:
        properties["hs_ticket_priority"] = params["priority"]
    targets = {kind: params[f"{kind}_id"] for kind in ("company", "deal") if params[f"{kind}_id"]}
    if params["associate_contact"]:
        contact_id = _contact(connection, params, event, required=False)
        if contact_id:
            targets = {"contact": contact_id, **targets}
    ticket = {"properties": properties,
              "associations": [association(target, TICKET_TO[kind]) for kind, target in targets.items()]}
    response = call(connection.http, connection.settings, "POST", TICKETS, what="the new ticket", json=ticket)
    return ActionResult(external_id=record_id(json_object(response, "the new ticket"), "the new ticket"),
                        detail={f"{kind}_id": target for kind, target in targets.items()})


def _contact(connection: Connection, params: Mapping[str, Any], event: Mapping[str, Any], *,
             required: bool) -> str | None:
    """The contact to associate: `contact_id`, else the one with the email (params, then the event's customer)."""
    if params["contact_id"]:
        return str(params["contact_id"])
    email = params["email"] or _event_email(event)
    found = find_contact(connection.http, connection.settings, email) if email else None
    if found is None and required:
        raise GiveUp("no HubSpot contact to put the note on: give contact_id, an email a contact has, or a "
                     "deal_id, company_id or ticket_id" if email else
                     "the note needs contact_id, email (the event has no customer email), deal_id, company_id or "
                     "ticket_id")
    return found


def _event_email(event: Mapping[str, Any]) -> str | None:
    return as_email(((event.get("data") or {}).get("customer") or {}).get("email"))


def property_value(value: Any) -> str:
    """A property value as HubSpot takes it: text; true/false; an empty string clears the property."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def note_body(text: str, *, full_text_at: str | None = None, limit: int = TEXT_LIMIT) -> str:
    """`hs_note_body` is rich text: the plain text escaped (a customer's `<b>` stays visible text), lines kept.

    Cut so that the escaped body fits in `limit` characters: escaping makes text longer, so the
    cut shrinks in proportion to the overshoot until it fits.
    """
    budget = limit
    for _ in range(20):
        body = html.escape(fit_text(text, budget, full_text_at=full_text_at)).replace("\n", "<br>")
        if len(body) <= limit:
            return body
        budget = min(budget - 1, budget * limit // len(body))
        if budget <= 0:
            break
    return ""
