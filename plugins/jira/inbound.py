"""Jira Cloud admin webhooks with a secret: signature check and normalization of issue and comment events.

Signature: `X-Hub-Signature: sha256=<hex>`, HMAC-SHA256 of the raw body keyed with the secret
entered in the webhook's form (the WebSub form). The payload's own `timestamp` (milliseconds)
must be within `tolerance_seconds` of now, against replays; it is inside the signed body, and
Jira's retries keep it.

Event id: the `X-Atlassian-Webhook-Identifier` header, unique per delivery and the same on
every retry. Without it (a proxy dropped it, an older Jira), an id is derived from the event's
name, the issue id, the changelog or comment id and the timestamp, which a retry repeats too.
"""

from __future__ import annotations

from typing import Any, Mapping
from urllib.parse import urlsplit

from hub.plugin import (
    Customer,
    EventDraft,
    InboundRequest,
    InvalidSignature,
    Link,
    Source,
    UnrecognizedPayload,
    active_secrets,
    as_email,
    as_id,
    as_list,
    as_text,
    check_timestamp,
    parse_time,
    require,
    verify_hmac,
)
from plugins.jira.adf import adf_to_text

SIGNATURE_HEADER = "X-Hub-Signature"
IDENTIFIER_HEADER = "X-Atlassian-Webhook-Identifier"
ISSUE_EVENTS = ("jira:issue_updated", "jira:issue_deleted")
COMMENT_EVENTS = ("comment_created",)
# statusCategory.key -> the category's name in Jira's English interface
STATUS_CATEGORIES = {"new": "to do", "indeterminate": "in progress", "done": "done"}
DELETED = "deleted"


def verify(source: Source, request: InboundRequest) -> None:
    verify_hmac(active_secrets(source.settings), request.body, request.header(SIGNATURE_HEADER),
                header=SIGNATURE_HEADER, prefix="sha256=")
    payload = request.json()
    timestamp = payload.get("timestamp") if isinstance(payload, dict) else None
    if not isinstance(timestamp, (int, float)) or isinstance(timestamp, bool):
        raise InvalidSignature("the payload has no numeric 'timestamp' (milliseconds) to check against replays")
    check_timestamp(str(timestamp / 1000), tolerance=source.settings["tolerance_seconds"],
                    header="payload 'timestamp'")


def parse(source: Source, request: InboundRequest) -> list[EventDraft]:
    payload = request.json()
    kind = payload.get("webhookEvent") if isinstance(payload, dict) else None
    if not isinstance(kind, str) or not kind:
        raise UnrecognizedPayload("expected a Jira webhook (an object with a 'webhookEvent')")
    if kind not in ISSUE_EVENTS + COMMENT_EVENTS:
        return []  # an event cxhub does not map (issue created, worklogs, sprints...): accepted and ignored
    issue = _object(require(payload, "issue"))
    key = as_text(require(issue, "key", "issue.key"))
    if key is None:
        raise UnrecognizedPayload("issue.key must be a string, like CX-42")
    fields = _object(issue.get("fields"))
    comment = _object(payload.get("comment"))
    event_id = _event_id(request, payload, kind, issue, comment)
    time = parse_time(payload["timestamp"] / 1000, "timestamp")
    link = Link(system="jira", id=key, type="issue", url=_browse_url(issue, key))
    if kind in COMMENT_EVENTS:
        return [EventDraft(type="cx.message.received", vendor_event_id=event_id, time=time, link=link,
                           customer=_person(comment.get("author")), text=adf_to_text(comment.get("body")) or None,
                           attributes=_comment_attributes(kind, issue, fields, comment))]
    return [EventDraft(type="cx.ticket.updated", vendor_event_id=event_id, time=time, link=link,
                       customer=_person(fields.get("reporter")), update=True,
                       attributes=_issue_attributes(kind, payload, issue, fields))]


def _object(value: Any) -> Mapping[str, Any]:
    """A JSON object of the payload, or an empty one in place of anything else."""
    return value if isinstance(value, dict) else {}


def _event_id(request: InboundRequest, payload: Mapping[str, Any], kind: str, issue: Mapping[str, Any],
              comment: Mapping[str, Any]) -> str:
    identifier = request.header(IDENTIFIER_HEADER)
    if identifier and identifier.strip():
        return identifier.strip()
    detail = as_id(comment.get("id")) or as_id(_object(payload.get("changelog")).get("id")) or ""
    return f"{kind}:{as_id(issue.get('id')) or issue.get('key')}:{detail}:{payload['timestamp']}"


def _browse_url(issue: Mapping[str, Any], key: str) -> str | None:
    """The issue's page, on the site whose REST URL the payload gives (`issue.self`)."""
    parts = urlsplit(as_text(issue.get("self")) or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}/browse/{key}"


def _person(value: Any) -> Customer:
    user = _object(value)
    return Customer(id=as_id(user.get("accountId")) or as_id(user.get("key")), email=as_email(user.get("emailAddress")),
                    name=as_text(user.get("displayName")))


def _status(fields: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The issue's status name and its category (to do / in progress / done)."""
    status = _object(fields.get("status"))
    category = as_text(_object(status.get("statusCategory")).get("key"))
    return as_text(status.get("name")), STATUS_CATEGORIES.get(category or "")


def _issue_summary(issue: Mapping[str, Any], fields: Mapping[str, Any]) -> dict[str, str | None]:
    return {
        "issue_id": as_id(issue.get("id")),
        "summary": as_text(fields.get("summary")),
        "project": as_text(_object(fields.get("project")).get("key")),
        "issue_type": as_text(_object(fields.get("issuetype")).get("name")),
        "priority": as_text(_object(fields.get("priority")).get("name")),
        "labels": ",".join(str(label) for label in as_list(fields.get("labels"))) or None,
        "assignee_id": _person(fields.get("assignee")).id,
    }


def _issue_attributes(kind: str, payload: Mapping[str, Any], issue: Mapping[str, Any],
                      fields: Mapping[str, Any]) -> dict[str, str]:
    status, category = _status(fields)
    items = [_object(item) for item in as_list(_object(payload.get("changelog")).get("items"))]
    values: dict[str, str | None] = {"jira_event_type": kind,
                                     "jira_issue_event": as_text(payload.get("issue_event_type_name")),
                                     **_issue_summary(issue, fields), "status": status, "status_category": category}
    changed = [field for item in items if (field := as_text(item.get("field")))]
    if changed:
        values["changed"] = ",".join(dict.fromkeys(changed))
    for item in items:
        if item.get("field") == "status":
            values["status_from"] = as_text(item.get("fromString"))
            values["status_to"] = as_text(item.get("toString")) or status
    if kind == "jira:issue_deleted":
        values.update(status=DELETED, status_from=status, status_to=DELETED, status_category=None)
    return {key: value for key, value in values.items() if value}


def _comment_attributes(kind: str, issue: Mapping[str, Any], fields: Mapping[str, Any],
                        comment: Mapping[str, Any]) -> dict[str, str]:
    status, category = _status(fields)
    values: dict[str, str | None] = {
        "jira_event_type": kind, **_issue_summary(issue, fields), "status": status, "status_category": category,
        "comment_id": as_id(comment.get("id")), "comment_author_id": _person(comment.get("author")).id,
    }
    public = comment.get("jsdPublic")
    if isinstance(public, bool):
        values["comment_public"] = str(public).lower()
    return {key: value for key, value in values.items() if value}
