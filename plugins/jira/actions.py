"""The Jira actions: `create_issue` (once per delivery), `add_comment` (once if it can tell), `transition_issue`.

`create_issue`: the issue carries the label `cxhub-<idempotency key>`. When an attempt is a
retry (the last one may have created the issue and then timed out), the action first searches
for that label and returns the existing issue instead of creating another.

`add_comment`: Jira has no idempotency key for comments, so each comment carries an entity
property (`cxhub-delivery`, value `{"key": <idempotency key>}`), invisible to readers. A retry
first reads the issue's most recent comments with their properties and returns the comment it
finds instead of posting another.

`transition_issue`: transitions are found by name through the issue's available transitions
(their ids differ per workflow); an issue already in the target status is left alone.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from hub.plugin import ActionResult, Connection, Delivery, GiveUp, Link, as_id, as_text, fit_text, full_text_location
from plugins.jira.adf import text_to_adf
from plugins.jira.api import browse_url, call, issue_path, json_document

CREATE_PATH = "rest/api/3/issue"
SEARCH_PATH = "rest/api/3/search/jql"
COMMENTS_BY_ID_PATH = "rest/api/3/comment/list"
SUMMARY_LIMIT = 255  # Jira's summary field
TEXT_FIELD_LIMIT = 32_767  # Jira Cloud's limit for a text field, the description and a comment's body included
COMMENT_PROPERTY = "cxhub-delivery"
RECENT_COMMENTS = 50  # how many of the newest comments a retry looks through for its own


def idempotency_label(delivery: Delivery) -> str:
    return f"cxhub-{delivery.idempotency_key}"


# --- create_issue -------------------------------------------------------------


def find_existing(connection: Connection, label: str) -> Mapping[str, Any] | None:
    body = {"jql": f'labels = "{label}"', "maxResults": 1, "fields": ["summary"]}
    response = call(connection, "POST", SEARCH_PATH, what="the issue search", json=body)
    issues = json_document(response).get("issues") or []
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
            return ActionResult(external_id=existing["key"], url=browse_url(connection, existing["key"]),
                                detail={"id": existing["id"], "reused": True},
                                link=issue_link(connection, existing["key"]))
    fields = issue_fields(params, label, full_text_location(event))
    response = call(connection, "POST", CREATE_PATH, what=f"project {params['project']}", json={"fields": fields})
    created = json_document(response)
    return ActionResult(external_id=created["key"], url=browse_url(connection, created["key"]),
                        detail={"id": created["id"]}, link=issue_link(connection, created["key"]))


def issue_link(connection: Connection, key: str) -> Link:
    """The issue as the jira source names it (`link.id` is the key), so its webhooks find this delivery."""
    return Link(system="jira", id=key, url=browse_url(connection, key), type="issue")


# --- add_comment ----------------------------------------------------------------


def comment_body(params: Mapping[str, Any], event: Mapping[str, Any], delivery: Delivery) -> dict[str, Any]:
    """Add comment's request body: the text cut to Jira's limit, as ADF, with the delivery's property."""
    text = fit_text(params["comment"], TEXT_FIELD_LIMIT, full_text_at=full_text_location(event))
    return {"body": text_to_adf(text),
            "properties": [{"key": COMMENT_PROPERTY, "value": {"key": delivery.idempotency_key}}]}


def find_comment(connection: Connection, issue: str, delivery: Delivery) -> str | None:
    """The id of a comment an earlier attempt of this delivery posted, among the issue's newest ones."""
    listing = call(connection, "GET", issue_path(issue, "comment"), what=f"issue {issue}",
                   params={"orderBy": "-created", "maxResults": RECENT_COMMENTS})
    ids = [comment_id for comment in json_document(listing).get("comments") or []
           if isinstance(comment, dict) and (comment_id := as_id(comment.get("id")))]
    if not ids:
        return None
    detailed = call(connection, "POST", COMMENTS_BY_ID_PATH, what=f"the comments of issue {issue}",
                    params={"expand": "properties"}, json={"ids": [int(i) if i.isdigit() else i for i in ids]})
    for comment in json_document(detailed).get("values") or []:
        for prop in (comment.get("properties") or []) if isinstance(comment, dict) else []:
            if (isinstance(prop, dict) and prop.get("key") == COMMENT_PROPERTY
                    and isinstance(prop.get("value"), dict) and prop["value"].get("key") == delivery.idempotency_key):
                return as_id(comment.get("id"))
    return None


def add_comment(connection: Connection, params: Mapping[str, Any], event: Mapping[str, Any],
                delivery: Delivery) -> ActionResult:
    issue = params["issue"]
    path = issue_path(issue, "comment")
    if delivery.attempt > 1 and (existing := find_comment(connection, issue, delivery)):
        return ActionResult(external_id=existing, url=browse_url(connection, issue),
                            detail={"issue": issue, "reused": True})
    response = call(connection, "POST", path, what=f"issue {issue}", json=comment_body(params, event, delivery))
    comment_id = as_id(json_document(response).get("id"))
    if not comment_id:
        raise GiveUp(f"Jira answered {response.status_code} with a comment without an id")
    return ActionResult(external_id=comment_id, url=f"{browse_url(connection, issue)}?focusedCommentId={comment_id}",
                        detail={"issue": issue})


# --- transition_issue -------------------------------------------------------------


def _object(value: Any) -> Mapping[str, Any]:
    """A JSON object of an answer, or an empty one in place of anything else."""
    return value if isinstance(value, dict) else {}


def _status_name(issue: Mapping[str, Any]) -> str | None:
    return as_text(_object(_object(issue.get("fields")).get("status")).get("name"))


def _target(transition: Mapping[str, Any]) -> str | None:
    to = transition.get("to")
    return as_text(to.get("name")) if isinstance(to, dict) else None


def choose_transition(transitions: Sequence[Mapping[str, Any]], wanted: str) -> Mapping[str, Any] | None:
    """The transition named `wanted`, else the one leading to the status named `wanted` (case-insensitive)."""
    folded = wanted.strip().casefold()
    by_name = [t for t in transitions if (as_text(t.get("name")) or "").casefold() == folded]
    by_status = [t for t in transitions if (_target(t) or "").casefold() == folded]
    matches = by_name or by_status
    return matches[0] if matches else None


def transition_issue(connection: Connection, params: Mapping[str, Any]) -> ActionResult:
    issue, wanted = params["issue"], params["transition"]
    what = f"issue {issue}"
    current = _status_name(json_document(call(connection, "GET", issue_path(issue), what=what,
                                              params={"fields": "status"})))
    url = browse_url(connection, issue)
    if current and current.casefold() == wanted.strip().casefold():
        return ActionResult(external_id=issue, url=url, detail={"status": current, "unchanged": True})
    listing = json_document(call(connection, "GET", issue_path(issue, "transitions"), what=what))
    transitions = [t for t in listing.get("transitions") or [] if isinstance(t, dict) and as_id(t.get("id"))]
    chosen = choose_transition(transitions, wanted)
    if chosen is None:
        available = "; ".join(f"{t.get('name')} (to {_target(t)})" for t in transitions) or "none"
        raise GiveUp(f"{what} has no transition or target status named {wanted!r} from status {current!r}; "
                     f"available: {available}")
    target = _target(chosen)
    if current and target and current.casefold() == target.casefold():
        return ActionResult(external_id=issue, url=url, detail={"status": current, "unchanged": True})
    call(connection, "POST", issue_path(issue, "transitions"), what=what,
         json={"transition": {"id": as_id(chosen["id"])}})
    return ActionResult(external_id=issue, url=url,
                        detail={"transition": as_text(chosen.get("name")), "from": current, "status": target})
