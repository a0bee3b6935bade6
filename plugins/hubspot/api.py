"""Calls to HubSpot's CRM v3 API with the connection's credentials, errors turned into decisions.

The shared client retries transport errors, 429 (after `Retry-After`) and 5xx, and gives up on
other 4xx. On top of it: 401 and 403 mean the token no longer works (or lacks a scope) for any
delivery, so the plugin raises AuthFailed: the connection is paused with HubSpot's reason. With
no `access_token` the plugin sends no Authorization header: the connection's `oauth:` block
authenticates it (the core adds the bearer token, and renews it once on a 401 before it raises
AuthFailed itself).
"""

from __future__ import annotations

from typing import Any, Mapping

import requests

from hub.plugin import AuthFailed, GiveUp, HttpClient, Secret

CONTACTS = "crm/v3/objects/contacts"
NOTES = "crm/v3/objects/notes"
TICKETS = "crm/v3/objects/tickets"
CONTACT_FIELDS = ("email", "firstname", "lastname")


def auth_headers(settings: Mapping[str, Any]) -> dict[str, str]:
    """`Authorization: Bearer <access_token>` when the settings hold one (a private app's token)."""
    token = settings.get("access_token")
    return {"Authorization": f"Bearer {token.reveal()}"} if isinstance(token, Secret) else {}


def call(client: HttpClient | None, settings: Mapping[str, Any], method: str, path: str, *, what: str,
         **kwargs: Any) -> requests.Response:
    """One API request; `what` names its object in error messages ("contact 51")."""
    if client is None:
        raise GiveUp("the HubSpot connection has no api_url")
    headers = {"Accept": "application/json", **auth_headers(settings), **kwargs.pop("headers", {})}
    try:
        return client.request(method, path, headers=headers, **kwargs)
    except GiveUp as error:
        if error.status_code in (401, 403):
            raise AuthFailed(f"HubSpot refused the connection's credentials ({error.status_code}); fix the "
                             f"token or its scopes, then resume the connection: {error.message}",
                             status_code=error.status_code) from None
        if error.status_code == 404:
            raise GiveUp(f"{what} was not found in HubSpot: {error.message}", status_code=404) from None
        raise


def json_object(response: requests.Response, what: str) -> Mapping[str, Any]:
    try:
        document = response.json()
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise GiveUp(f"HubSpot answered {response.status_code} for {what} with a body that is not a JSON object")
    return document


def record_id(document: Mapping[str, Any], what: str) -> str:
    """The record's `id`: digits, as HubSpot's ids are (it goes into request paths)."""
    value = document.get("id")
    text = str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    if not (text.isascii() and text.isdigit()):
        raise GiveUp(f"HubSpot answered without a record id for {what}")
    return text


def find_contact(client: HttpClient | None, settings: Mapping[str, Any], email: str) -> str | None:
    """The id of the contact whose `email` is this one (Search: `POST /crm/v3/objects/contacts/search`)."""
    query = {"filterGroups": [{"filters": [{"propertyName": "email", "operator": "EQ", "value": email}]}],
             "properties": ["email"], "limit": 1}
    document = json_object(call(client, settings, "POST", f"{CONTACTS}/search", what="the contact search",
                                json=query), "the contact search")
    results = document.get("results")
    if not isinstance(results, list) or not results or not isinstance(results[0], dict):
        return None
    return record_id(results[0], "the contact found")


def association(to_id: str, type_id: int) -> dict[str, Any]:
    """One entry of a create request's `associations`: a HubSpot-defined (unlabelled) association."""
    return {"to": {"id": to_id}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}]}
