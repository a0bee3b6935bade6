"""`create_issue`: one Jira issue per delivery, never two.

The issue carries the label `cxhub-<idempotency key>`. When an attempt is a retry (the last
one may have created the issue and then timed out), the action first searches for that
label and returns the existing issue instead of creating another.
"""

from __future__ import annotations

from typing import Any, Mapping

from hub.plugin import ActionResult, Connection, Delivery, fit_text, full_text_location
from plugins.jira.adf import text_to_adf

CREATE_PATH = "rest/api/3/issue"
SEARCH_PATH = "rest/api/3/search/jql"
SUMMARY_LIMIT = 255  # Jira's summary field
TEXT_FIELD_LIMIT = 32_767  # Jira Cloud's limit for a text field, the description included


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


def issue_fields(params: Mapping[str, Any], label: str, full_text_at: str | None = None) -> dict[str, Any]:
    """The issue's fields, cut to Jira's limits; a cut description says where the full text is."""
    fields: dict[str, Any] = {
        "project": {"key": params["project"]},
        "summary": fit_text(params["summary"].replace("\n", " ").strip(), SUMMARY_LIMIT, short=True),
        "issuetype": {"name": params["issue_type"]},
        "description": text_to_adf(fit_text(params["description"], TEXT_FIELD_LIMIT, full_text_at=full_text_at)),
        "labels": [*params["labels"], label],
    }
    if params["priority"]:
        fields["priority"] = {"name": params["priority"]}
    return fields


def create_issue(connection: Connection, params: Mapping[str, Any], event: Mapping[str, Any],
                 delivery: Delivery) -> ActionResult:
    label = idempotency_label(delivery)
    if delivery.attempt > 1:
        existing = find_existing(connection, label)
        if existing:
            return ActionResult(external_id=existing["key"], url=_browse_url(connection, existing["key"]),
                                detail={"id": existing["id"], "reused": True})
    assert connection.http is not None  # the plugin declares a url_setting, so the core always gives a client
    fields = issue_fields(params, label, full_text_location(event))
    response = connection.http.post(CREATE_PATH, json={"fields": fields},
                                    auth=_auth(connection), headers={"Accept": "application/json"})
    created = response.json()
    return ActionResult(external_id=created["key"], url=_browse_url(connection, created["key"]),
                        detail={"id": created["id"]})
