"""Calls to the Zendesk Support API with the connection's credentials, errors turned into decisions.

The shared HTTP client already retries transport errors, 429 (honouring Retry-After) and 5xx,
and gives up on other 4xx. On top of it: 401 and 403 mean the credentials no longer work for
any delivery, so the connection is paused with the reason; 404 means the ticket is gone (deleted
or merged away), and 422 that Zendesk refused the request; both say so in the dead letter.
"""

from __future__ import annotations

import base64
from typing import Any, Mapping

import requests

from hub.plugin import AuthFailed, Customer, GiveUp, HttpClient, as_email, as_id, as_text


def auth_headers(settings: Mapping[str, Any]) -> dict[str, str]:
    """Basic `{email}/token:{api_token}`, or `Bearer {oauth_token}`."""
    if settings.get("oauth_token"):
        return {"Authorization": f"Bearer {settings['oauth_token'].reveal()}"}
    pair = f"{settings['email']}/token:{settings['api_token'].reveal()}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}


def agent_url(settings: Mapping[str, Any], ticket_id: Any) -> str:
    """The ticket's page in the agent interface."""
    return f"{settings['endpoint']}/agent/tickets/{ticket_id}"


def call(client: HttpClient | None, settings: Mapping[str, Any], method: str, path: str, *,
         what: str, **kwargs: Any) -> requests.Response:
    """Send one API request; `what` names its object in error messages ("ticket 35436")."""
    assert client is not None  # the plugin declares a url_setting, so the core always gives a client
    headers = {"Accept": "application/json", **auth_headers(settings), **kwargs.pop("headers", {})}
    try:
        return client.request(method, path, headers=headers, **kwargs)
    except GiveUp as error:
        if error.status_code in (401, 403):
            raise AuthFailed(f"Zendesk refused the connection's credentials ({error.status_code}); fix them, "
                             f"then resume the connection: {error.message}",
                             status_code=error.status_code) from None
        if error.status_code == 404:
            raise GiveUp(f"{what} was not found in Zendesk (deleted?): {error.message}", status_code=404) from None
        if error.status_code == 422:
            raise GiveUp(f"Zendesk refused {what} as invalid: {error.message}", status_code=422) from None
        raise


def json_object(response: requests.Response, key: str) -> Mapping[str, Any]:
    """`response.json()[key]`, which a 2xx answer of the Support API always holds."""
    try:
        document = response.json()
    except ValueError:
        document = None
    value = document.get(key) if isinstance(document, dict) else None
    if not isinstance(value, dict):
        raise GiveUp(f"Zendesk answered {response.status_code} without a {key!r} object")
    return value


def fetch_user(client: HttpClient | None, settings: Mapping[str, Any], user_id: str) -> Customer:
    """The requester behind an id, from the Users API (`GET /api/v2/users/{id}.json`).

    The enrichment of ticket events after their 202 asks it (`plugins.zendesk.enrich`).
    """
    if not user_id.isascii() or not user_id.isdigit():
        raise ValueError(f"a Zendesk user id is a number, got {user_id!r}")
    user = json_object(call(client, settings, "GET", f"api/v2/users/{user_id}.json", what=f"user {user_id}"), "user")
    return Customer(id=as_id(user.get("id")) or user_id, email=as_email(user.get("email")),
                    name=as_text(user.get("name")))
