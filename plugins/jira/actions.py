"""`create_issue`: one Jira issue per delivery, never two.

The issue carries the label `cxhub-<idempotency key>`. When an attempt is a retry (the last
one may have created the issue and then timed out), the action first searches for that
label and returns the existing issue instead of creating another.
"""

from __future__ import annotations

from typing import Any, Mapping

from hub.plugin import ActionResult, Connection, Delivery
from plugins.jira.adf import text_to_adf

CREATE_PATH = "rest/api/3/issue"
SEARCH_PATH = "rest/api/3/search/jql"


def idempotency_label(delivery: Delivery) -> str:
    return f"cxhub-{delivery.idempotency_key}"


def _auth(connection: Connection) -> tuple[str, str]:
    return connection.settings["email"], connection.settings["api_token"].reveal()


def _browse_url(connection: Connection, key: str) -> str:
    return f"{connection.settings['base_url'].rstrip('/')}/browse/{key}"


def find_existing(connection: Connection, label: str) -> Mapping[str, Any] | None:
    body = {"jql": f'labels = "{label}"', "maxResults": 1, "fields": ["summary"]}
    assert connection.http is not None  # the plugin declares a url_setting, so the core always gives a client
    response = connection.http.post(SEARCH_PATH, json=body, auth=_auth(connection),
                                    headers={"Accept": "application/json"})
    issues = response.json().get("issues") or []
    return issues[0] if issues else None


def issue_fields(params: Mapping[str, Any], label: str) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "project": {"key": params["project"]},
        "summary": params["summary"].replace("\n", " ").strip(),
        "issuetype": {"name": params["issue_type"]},
        "description": text_to_adf(params["description"]),
        "labels": [*params["labels"], label],
    }
    if params["priority"]:
        fields["priority"] = {"name": params["priority"]}
    return fields


def create_issue(connection: Connection, params: Mapping[str, Any], delivery: Delivery) -> ActionResult:
    label = idempotency_label(delivery)
    if delivery.attempt > 1:
        existing = find_existing(connection, label)
        if existing:
            return ActionResult(external_id=existing["key"], url=_browse_url(connection, existing["key"]),
                                detail={"id": existing["id"], "reused": True})
    assert connection.http is not None  # the plugin declares a url_setting, so the core always gives a client
    response = connection.http.post(CREATE_PATH, json={"fields": issue_fields(params, label)},
                                    auth=_auth(connection), headers={"Accept": "application/json"})
    created = response.json()
    return ActionResult(external_id=created["key"], url=_browse_url(connection, created["key"]),
                        detail={"id": created["id"]})
