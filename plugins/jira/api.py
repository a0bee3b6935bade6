"""Calls to Jira Cloud's REST API v3 with the connection's credentials, errors turned into decisions.

The shared HTTP client already retries transport errors, 429 (honouring Retry-After) and 5xx,
and gives up on other 4xx. On top of it: 401 and 403 mean the credentials no longer work for
any delivery, so the connection is paused with the reason; 404 means the issue is gone (deleted,
or not visible to the account), and the dead letter says so.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

import requests

from hub.plugin import AuthFailed, Connection, GiveUp

# A key (`CX-42`; project keys start with a letter) or a numeric id: nothing that could leave the path.
ISSUE_REFERENCE = re.compile(r"^(?:[A-Za-z][A-Za-z0-9_]*-[0-9]+|[0-9]+)$")


def issue_path(issue: str, *rest: str) -> str:
    """`rest/api/3/issue/{issueIdOrKey}/...`, for a reference that is a key or an id."""
    if not ISSUE_REFERENCE.match(issue):
        raise GiveUp(f"{issue!r} is not a Jira issue key (like CX-42) or id")
    return "/".join(("rest/api/3/issue", issue, *rest))


def browse_url(connection: Connection, key: str) -> str:
    return f"{connection.settings['base_url'].rstrip('/')}/browse/{key}"


def call(connection: Connection, method: str, path: str, *, what: str, **kwargs: Any) -> requests.Response:
    """Send one API request with basic auth; `what` names its object in error messages ("issue CX-42")."""
    assert connection.http is not None  # the plugin declares a url_setting, so the core always gives a client
    auth = (connection.settings["email"], connection.settings["api_token"].reveal())
    try:
        return connection.http.request(method, path, auth=auth, headers={"Accept": "application/json"}, **kwargs)
    except GiveUp as error:
        if error.status_code in (401, 403):
            raise AuthFailed(f"Jira refused the connection's credentials ({error.status_code}); fix them, "
                             f"then resume the connection: {error.message}",
                             status_code=error.status_code) from None
        if error.status_code == 404:
            raise GiveUp(f"{what} was not found in Jira (deleted, or not visible to the account): {error.message}",
                         status_code=404) from None
        raise


def json_document(response: requests.Response) -> Mapping[str, Any]:
    """The JSON object a 2xx answer holds."""
    try:
        document = response.json()
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise GiveUp(f"Jira answered {response.status_code} without a JSON object")
    return document
