"""The Zendesk actions: `create_ticket` (once per delivery), `add_comment`, `update_ticket`.

`create_ticket` sends the delivery's idempotency key as Zendesk's `Idempotency-Key` header.
A retry after a lost answer sends the same key, and Zendesk answers with the ticket it already
created (`x-idempotency-lookup: hit`) instead of creating a second one.
"""

from __future__ import annotations

from typing import Any, Mapping

from hub.plugin import ActionResult, Connection, Delivery, GiveUp, Link, as_email, as_id, as_text, fit_text, full_text_location
from plugins.zendesk.api import agent_url, call, json_object
from plugins.zendesk.comment import comment_object

TICKETS_PATH = "api/v2/tickets.json"
SUBJECT_LIMIT = 255  # one line; Zendesk documents no subject limit that we found


def create_ticket(connection: Connection, params: Mapping[str, Any], event: Mapping[str, Any],
                  delivery: Delivery) -> ActionResult:
    ticket = ticket_fields(params, event)
    response = call(connection.http, connection.settings, "POST", TICKETS_PATH, what="the new ticket",
                    json={"ticket": ticket}, headers={"Idempotency-Key": delivery.idempotency_key})
    ticket_id = as_id(json_object(response, "ticket").get("id"))
    if not ticket_id:
        raise GiveUp(f"Zendesk answered {response.status_code} with a ticket without an id")
    lookup = response.headers.get("x-idempotency-lookup")
    url = agent_url(connection.settings, ticket_id)
    return ActionResult(external_id=ticket_id, url=url, detail={"idempotency_lookup": lookup} if lookup else {},
                        link=Link(system="zendesk", id=ticket_id, url=url, type="ticket"))


def ticket_fields(params: Mapping[str, Any], event: Mapping[str, Any]) -> dict[str, Any]:
    """The `ticket` object of Create Ticket; the requester defaults to the event's customer."""
    customer = (event.get("data") or {}).get("customer") or {}
    ticket: dict[str, Any] = {
        "subject": fit_text(params["subject"].replace("\n", " ").strip(), SUBJECT_LIMIT, short=True),
        "comment": comment_object(params["comment"], params["comment_format"], params["public"],
                                  full_text_at=full_text_location(event)),
    }
    email = params["requester_email"] or as_email(customer.get("email"))
    if email:
        name = params["requester_name"] or as_text(customer.get("name"))
        ticket["requester"] = {"email": email, **({"name": name} if name else {})}
    for key in ("priority", "type"):
        if params[key]:
            ticket[key] = params[key]
    if params["tags"]:
        ticket["tags"] = list(params["tags"])
    if params["custom_fields"]:
        ticket["custom_fields"] = [{"id": field["id"], "value": field["value"]} for field in params["custom_fields"]]
    return ticket


def add_comment(connection: Connection, params: Mapping[str, Any], event: Mapping[str, Any]) -> ActionResult:
    comment = comment_object(params["comment"], params["comment_format"], params["public"],
                             full_text_at=full_text_location(event))
    return _update(connection, params["ticket_id"], {"comment": comment})


UPDATE_FIELDS = ("status", "tags", "additional_tags", "remove_tags", "assignee_id", "assignee_email")


def update_ticket(connection: Connection, params: Mapping[str, Any]) -> ActionResult:
    changes = {key: params[key] for key in UPDATE_FIELDS if params.get(key) is not None}
    return _update(connection, params["ticket_id"], changes)


def _update(connection: Connection, ticket_id: int, ticket: Mapping[str, Any]) -> ActionResult:
    response = call(connection.http, connection.settings, "PUT", f"api/v2/tickets/{ticket_id}.json",
                    what=f"ticket {ticket_id}", json={"ticket": ticket})
    try:
        document = response.json()
    except ValueError:  # the change is made; only the audit id is missing from the result
        document = None
    audit = document.get("audit") if isinstance(document, dict) else None
    detail = {"audit_id": str(audit["id"])} if isinstance(audit, dict) and audit.get("id") is not None else {}
    return ActionResult(external_id=str(ticket_id), url=agent_url(connection.settings, ticket_id), detail=detail)
