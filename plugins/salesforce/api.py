"""Calls to the Salesforce REST API, pinned to the connection's API version, errors turned into decisions.

Every call goes through `connection.http`, bound to `instance_url`. A connection has exactly one
of the `access_token` setting (sent here as `Authorization: Bearer`) and an `oauth:` block (the
core adds the bearer token it got by the JWT bearer or client credentials flow, and renews it
once on a 401 before raising AuthFailed itself).

Salesforce answers errors as a JSON array, `[{"message": ..., "errorCode": ..., "fields": [...]}]`:
401 (INVALID_SESSION_ID) means the credentials no longer work for any delivery: AuthFailed
pauses the connection; 403 REQUEST_LIMIT_EXCEEDED (the org's daily API allowance) is retried
later; other 4xx dead-letter the delivery with Salesforce's own message. 5xx, 429 and
transport errors are retried by the client.
"""

from __future__ import annotations

from typing import Any, Mapping

import orjson
import requests

from hub.plugin import AuthFailed, Connection, GiveUp, RetryLater

LIMIT_RETRY_SECONDS = 900.0  # the daily allowance is a rolling 24 hours: look again in a quarter of an hour


def path(connection: Connection, resource: str) -> str:
    """`services/data/vXX.X/<resource>`, relative to instance_url."""
    return f"services/data/{connection.settings['api_version']}/{resource}"


def call(connection: Connection, method: str, resource: str, *, what: str, **kwargs: Any) -> requests.Response:
    """Send one REST API request; `what` names its object in error messages ("the new case")."""
    assert connection.http is not None  # the plugin declares a url_setting, so the core always gives a client
    headers = {"Accept": "application/json", **auth_headers(connection.settings), **kwargs.pop("headers", {})}
    try:
        return connection.http.request(method, path(connection, resource), headers=headers, **kwargs)
    except GiveUp as error:
        detail = error_detail(error.body) or error.message
        if error.status_code == 401:
            raise AuthFailed(f"Salesforce refused the connection's credentials (401): {detail}; fix them, then "
                             "resume the connection", status_code=401) from None
        if error.status_code == 403 and "REQUEST_LIMIT_EXCEEDED" in detail:
            raise RetryLater(f"the org's API request limit is used up: {detail}", status_code=403,
                             after=LIMIT_RETRY_SECONDS) from None
        if error.status_code == 404:
            raise GiveUp(f"{what} was not found in Salesforce: {detail}", status_code=404) from None
        raise GiveUp(f"Salesforce refused {what} ({error.status_code}): {detail}", status_code=error.status_code) from None


def auth_headers(settings: Mapping[str, Any]) -> dict[str, str]:
    token = settings.get("access_token")
    return {"Authorization": f"Bearer {token.reveal()}"} if token else {}


def error_detail(body: str | None) -> str | None:
    """`ERROR_CODE: message (fields: A, B)` for each error of Salesforce's error array, or None if it is not one."""
    try:
        document = orjson.loads(body or "")
    except orjson.JSONDecodeError:
        return None
    if not isinstance(document, list) or not document:
        return None
    parts = []
    for item in document:
        if not isinstance(item, dict):
            return None
        text = f"{item.get('errorCode', 'ERROR')}: {item.get('message', '')}".strip()
        if item.get("fields"):
            text += f" (fields: {', '.join(map(str, item['fields']))})"
        parts.append(text)
    return "; ".join(parts)


def json_object(response: requests.Response, what: str) -> Mapping[str, Any]:
    try:
        document = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        document = None
    if not isinstance(document, dict):
        raise GiveUp(f"Salesforce answered {response.status_code} for {what} without a JSON object")
    return document


def soql_string(value: str) -> str:
    """A SOQL string literal: quotes and backslashes escaped as SOQL's quoted-string escapes require."""
    escaped = value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\r", "\\r")
    return f"'{escaped}'"
