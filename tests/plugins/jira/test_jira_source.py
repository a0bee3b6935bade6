"""The Jira source over real HTTP: captured webhooks signed as Jira signs them, and what it refuses."""

from __future__ import annotations

import re
import time

import orjson
import pytest
import requests

import plugins.jira as jira
import plugins.webhook as webhook
from hub.testing import assert_valid_event, hmac_signature
from tests.conftest import WHSEC, fixture_bytes

SECRET = "jira-webhook-secret-0123456789abcdef"
OLD_SECRET = "jira-webhook-secret-previous"
IDENTIFIER = "8d2f7a3e-0b61-4c38-9a0f-1c2f5f0e9b11"  # shaped like X-Atlassian-Webhook-Identifier
CONFIG = """
sources:
  jira:
    plugin: jira
    settings:
      secret: {$env: JIRA_SECRET}
      previous_secret: {$env: JIRA_OLD}
connections:
  out:
    plugin: webhook
    settings: {url: "%s", secret: {$env: OUT_SECRET}}
routes:
  - name: started
    when: {field: data.attributes.status_category, equals: in progress}
    actions:
      - {connection: out, action: forward}
"""


@pytest.fixture
def hub(make_hub, httpserver):
    hub = make_hub(CONFIG % httpserver.url_for("/out"), plugins=[jira, webhook],
                   env={"JIRA_SECRET": SECRET, "JIRA_OLD": OLD_SECRET, "OUT_SECRET": WHSEC})
    hub.base_url = hub.serve()
    return hub


def fresh(name: str, offset_seconds: float = 0) -> bytes:
    """A captured fixture with its `timestamp` (ms) moved to now: only those digits change."""
    now_ms = str(int((time.time() + offset_seconds) * 1000)).encode()
    body, count = re.subn(rb'("timestamp":\s*)\d+', rb"\g<1>" + now_ms, fixture_bytes(f"jira/{name}"), count=1)
    assert count == 1
    return body


def signed(body: bytes, *, secret: str = SECRET, identifier: str | None = IDENTIFIER) -> dict[str, str]:
    """The headers Jira sends: `X-Hub-Signature: sha256=<hex HMAC-SHA256 of the raw body>`."""
    headers = {"X-Hub-Signature": "sha256=" + hmac_signature(secret, body)}
    if identifier:
        headers["X-Atlassian-Webhook-Identifier"] = identifier
    return headers


def post(hub, body: bytes, headers: dict[str, str] | None = None) -> requests.Response:
    headers = signed(body) if headers is None else headers
    return requests.post(f"{hub.base_url}/hooks/jira", data=body, timeout=10,
                         headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": "Atlassian Webhook HTTP Client",
                                  "X-Atlassian-Webhook-Flow": "Primary", **headers})


def event_of(hub, response: requests.Response) -> dict:
    assert response.status_code == 202, response.text
    [event_id] = response.json()["accepted"]
    event = orjson.loads(hub.store.reads.event(event_id).body)
    assert_valid_event(event)
    return event


def test_a_status_change_is_a_ticket_update_with_the_transition_and_routes(hub, httpserver):
    httpserver.expect_request("/out", method="POST").respond_with_data("", status=204)
    body = fresh("issue_updated_status.json")
    event = event_of(hub, post(hub, body))
    assert (event["type"], event["subject"]) == ("cx.ticket.updated", "TEST-1")
    data = event["data"]
    assert data["vendor_event_id"] == IDENTIFIER
    assert data["update"] is True
    assert data["link"] == {"system": "jira", "id": "TEST-1", "type": "issue",
                            "url": "https://zulipp.atlassian.net/browse/TEST-1"}
    assert data["customer"] == {"id": "99:b8d8a054-2e12-4839-bd5f-5f2b7c5f5e3a", "email": "kolaszek@tlen.pl",
                                "name": "James Williams"}  # the reporter
    assert data["attributes"] == {
        "jira_event_type": "jira:issue_updated", "jira_issue_event": "issue_generic", "issue_id": "10000",
        "summary": "Fix That", "project": "ABC", "issue_type": "Task", "priority": "Medium",
        "status": "In Progress", "status_category": "in progress", "changed": "status",
        "status_from": "To Do", "status_to": "In Progress"}
    hub.drain()
    [(request, _)] = httpserver.log
    assert orjson.loads(request.data)["id"] == event["id"]


def test_a_comment_is_a_message_whose_text_is_the_comment(hub):
    event = event_of(hub, post(hub, fresh("comment_created.json")))
    data = event["data"]
    assert (event["type"], event["subject"]) == ("cx.message.received", "ZUL-1")
    assert data["text"] == "Leaving a comment here! :)"
    assert data["customer"] == {"id": "5a1b0e47748e770ed11f338c", "email": None, "name": "Eeshan Garg"}
    assert data["link"]["url"] == "https://zulipintegrations.atlassian.net/browse/ZUL-1"
    assert {key: data["attributes"][key] for key in ("status", "status_category", "comment_id",
                                                     "comment_author_id", "comment_public")} == {
        "status": "Backlog", "status_category": "to do", "comment_id": "10000",
        "comment_author_id": "5a1b0e47748e770ed11f338c", "comment_public": "true"}


def test_an_adf_comment_becomes_plain_text(hub):
    payload = orjson.loads(fresh("comment_created.json"))
    payload["comment"]["body"] = {"type": "doc", "version": 1, "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": "Hello "},
                                          {"type": "text", "text": "world", "marks": [{"type": "strong"}]},
                                          {"type": "hardBreak"}, {"type": "mention", "attrs": {"text": "@Ann"}}]},
        {"type": "bulletList", "content": [
            {"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "one"}]}]},
            {"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "two"}]}]}]},
        {"type": "blockquote", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "quoted"}]}]},
        {"type": "mediaSingle", "content": [{"type": "media", "attrs": {"id": "x"}}]}]}
    body = orjson.dumps(payload)
    assert event_of(hub, post(hub, body))["data"]["text"] == "Hello world\n@Ann\n\n- one\n- two\n\n> quoted"


def test_a_deleted_issue_is_an_update_to_status_deleted(hub):
    event = event_of(hub, post(hub, fresh("issue_deleted.json")))
    attributes = event["data"]["attributes"]
    assert (event["type"], event["subject"]) == ("cx.ticket.updated", "BUG-15")
    assert (attributes["status"], attributes["status_from"], attributes["status_to"]) == ("deleted", "Open", "deleted")
    assert "status_category" not in attributes


def test_a_resent_delivery_with_the_same_identifier_routes_nothing_twice(hub, httpserver):
    httpserver.expect_request("/out", method="POST").respond_with_data("", status=204)
    body = fresh("issue_updated_status.json")
    first = post(hub, body)
    again = post(hub, body, {**signed(body), "X-Atlassian-Webhook-Retry": "1"})
    assert first.status_code == 202 and again.status_code == 200
    assert again.json() == {"accepted": [], "duplicates": first.json()["accepted"]}
    hub.drain()
    assert len(hub.store.reads.events()) == 1 and len(hub.store.reads.deliveries()) == 1
    assert len(httpserver.log) == 1


def test_without_an_identifier_the_event_id_is_derived_and_a_resend_is_still_a_duplicate(hub):
    body = fresh("issue_updated_status.json")
    first = event_of(hub, post(hub, body, signed(body, identifier=None)))
    timestamp = orjson.loads(body)["timestamp"]
    assert first["data"]["vendor_event_id"] == f"jira:issue_updated:10000:10000:{timestamp}"
    assert post(hub, body, signed(body, identifier=None)).status_code == 200


def test_the_previous_secret_is_accepted_while_rotating(hub):
    body = fresh("comment_created.json")
    assert post(hub, body, signed(body, secret=OLD_SECRET)).status_code == 202


@pytest.mark.parametrize("name,headers", [
    ("missing", lambda body: {}),
    ("wrong secret", lambda body: signed(body, secret="not-the-secret")),
    ("no sha256= prefix", lambda body: {"X-Hub-Signature": hmac_signature(SECRET, body)}),
    ("other body", lambda body: signed(body + b" ")),
])
def test_a_bad_or_missing_signature_is_refused_and_nothing_is_kept(hub, name, headers):
    body = fresh("issue_updated_status.json")
    response = post(hub, body, headers(body))
    assert response.status_code == 401, name
    assert hub.store.reads.events() == [] and hub.store.quarantine.requests() == []


@pytest.mark.parametrize("offset", [-7200, 7200])
def test_a_stale_or_future_timestamp_is_refused(hub, offset):
    body = fresh("issue_updated_status.json", offset)
    response = post(hub, body)
    assert response.status_code == 401
    assert "payload 'timestamp'" in response.text
    assert hub.store.reads.events() == []


def test_the_captured_timestamp_itself_is_refused_as_a_replay(hub):
    body = fixture_bytes("jira/issue_updated_status.json")  # from 2017
    assert post(hub, body).status_code == 401


def test_an_unknown_webhook_event_is_accepted_and_ignored(hub):
    payload = orjson.loads(fresh("comment_created.json"))
    payload["webhookEvent"] = "worklog_created"
    body = orjson.dumps(payload)
    response = post(hub, body)
    assert response.status_code == 200, response.text
    assert hub.store.reads.events() == [] and hub.store.quarantine.requests() == []


def test_a_signed_body_that_is_not_a_jira_webhook_is_quarantined(hub):
    body = orjson.dumps({"timestamp": int(time.time() * 1000), "hello": "world"})
    response = post(hub, body)
    assert response.status_code == 422
    [kept] = hub.store.quarantine.requests()
    assert "webhookEvent" in kept.error
