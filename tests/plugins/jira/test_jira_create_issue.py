"""jira.create_issue against a local Jira stand-in that checks requests as Atlassian documents them."""

from __future__ import annotations

import base64

import orjson
import pytest
from werkzeug import Request, Response

import plugins.jira as jira
import plugins.webhook as webhook
from tests.conftest import APP_SOURCE, WHSEC, detractor, fixture_bytes, send

CONFIG = APP_SOURCE + """
connections:
  jira:
    plugin: jira
    settings: {base_url: "%s", email: cx-bot@example.com, api_token: {$env: JIRA_TOKEN}}
    retry: {max_attempts: 3, initial_delay: 0, max_delay: 0}
routes:
  - name: detractors
    when: {field: data.score.band, equals: negative}
    actions:
      - connection: jira
        action: create_issue
        params:
          project: CX
          issue_type: Bug
          priority: High
          labels: [cx-detractor]
          summary: "{{ data.customer.name }} scored {{ data.score.value }}/{{ data.score.max }}"
          description: |
            {{ data.customer.name }} ({{ data.customer.email }}) is unhappy.

            > {{ data.text }}
"""
TOKEN = "jira-api-token-123"
BASIC = "Basic " + base64.b64encode(f"cx-bot@example.com:{TOKEN}".encode()).decode()
CREATED = orjson.loads(fixture_bytes("jira/create_issue_response_201.json"))  # documented 201: ED-24
REFUSED = orjson.loads(fixture_bytes("jira/create_issue_response_400.json"))  # documented 400
FOUND = orjson.loads(fixture_bytes("jira/search_jql_response.json"))  # documented search result: ED-1


@pytest.fixture
def hub(make_hub, httpserver):
    return make_hub(CONFIG % httpserver.url_for("/"), plugins=[webhook, jira],
                    env={"APP_SECRET": WHSEC, "JIRA_TOKEN": TOKEN})


def expect_create(httpserver, once: bool = False):
    expect = httpserver.expect_oneshot_request if once else httpserver.expect_request
    return expect("/rest/api/3/issue", method="POST",
                  headers={"Authorization": BASIC, "Accept": "application/json", "Content-Type": "application/json"})


def issue_requests(httpserver) -> list[Request]:
    return [request for request, _ in httpserver.log if request.path == "/rest/api/3/issue"]


def test_creates_one_issue_with_documented_fields(hub, httpserver):
    expect_create(httpserver).respond_with_json(CREATED, status=201)
    send(hub, detractor())
    hub.drain()
    [request] = issue_requests(httpserver)
    [delivery] = hub.store.reads.deliveries()
    fields = request.get_json()["fields"]
    assert fields == {
        "project": {"key": "CX"},
        "summary": "Ann Lee scored 2/10",
        "issuetype": {"name": "Bug"},
        "priority": {"name": "High"},
        "labels": ["cx-detractor", f"cxhub-{delivery.id}"],
        "description": {"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": "Ann Lee (ann@example.com) is unhappy."}]},
            {"type": "blockquote", "content": [
                {"type": "paragraph", "content": [{"type": "text", "text": "The export keeps failing."}]}]},
        ]},
    }
    assert delivery.status == "succeeded"
    assert orjson.loads(delivery.result) == {"external_id": "ED-24", "detail": {"id": "10000"},
                                                 "url": httpserver.url_for("/browse/ED-24"),
                                                 "link": {"system": "jira", "id": "ED-24", "type": "issue",
                                                          "url": httpserver.url_for("/browse/ED-24")}}


def test_retries_5xx_then_succeeds(hub, httpserver):
    for _ in range(2):
        expect_create(httpserver, once=True).respond_with_data("busy", status=503)
    httpserver.expect_request("/rest/api/3/search/jql", method="POST").respond_with_json({"issues": [],
                                                                                         "isLast": True})
    expect_create(httpserver).respond_with_json(CREATED, status=201)
    send(hub, detractor())
    hub.drain()
    [delivery] = hub.store.reads.deliveries()
    attempts = hub.store.reads.attempts(delivery.id)
    assert [(a.status_code, a.outcome) for a in attempts] == [(503, "retry"), (503, "retry"), (None, "succeeded")]
    assert delivery.status == "succeeded"
    assert len(issue_requests(httpserver)) == 3


def test_4xx_fails_at_once_with_jiras_message(hub, httpserver):
    expect_create(httpserver).respond_with_json(REFUSED, status=400)
    send(hub, detractor())
    hub.drain()
    [delivery] = hub.store.reads.deliveries()
    assert delivery.status == "dead"
    assert "answered 400" in delivery.last_error and "Field 'priority' is required" in delivery.last_error
    assert len(hub.store.reads.attempts(delivery.id)) == 1


def test_retry_after_a_timeout_finds_the_issue_instead_of_creating_another(hub, httpserver):
    """Jira created the issue but the answer was lost: the retry finds it by its idempotency label."""
    expect_create(httpserver, once=True).respond_with_data("gateway timeout", status=504)

    def search(request: Request) -> Response:
        label = request.get_json()["jql"]
        assert label.startswith('labels = "cxhub-')
        return Response(orjson.dumps(FOUND), content_type="application/json")

    httpserver.expect_request("/rest/api/3/search/jql", method="POST",
                              headers={"Authorization": BASIC}).respond_with_handler(search)
    send(hub, detractor())
    hub.drain()
    [delivery] = hub.store.reads.deliveries()
    assert delivery.status == "succeeded"
    assert orjson.loads(delivery.result)["external_id"] == "ED-1"
    assert orjson.loads(delivery.result)["detail"] == {"id": "10002", "reused": True}
    assert len(issue_requests(httpserver)) == 1


def test_resent_webhook_creates_no_second_issue(hub, httpserver):
    expect_create(httpserver).respond_with_json(CREATED, status=201)
    send(hub, detractor())
    hub.drain()
    send(hub, detractor())
    hub.drain()
    assert len(issue_requests(httpserver)) == 1


def test_token_never_stored_or_reported(hub, httpserver):
    expect_create(httpserver).respond_with_data("unauthorized", status=401)
    send(hub, detractor())
    hub.drain()
    [delivery] = hub.store.reads.deliveries()
    stored = str(delivery) + str(hub.store.reads.attempts(delivery.id))
    assert TOKEN not in stored and base64.b64encode(TOKEN.encode()).decode() not in stored


def _adf_text(node) -> str:
    """The characters of an ADF document, as Jira counts them against a field's limit (a break is one)."""
    if node.get("type") == "text":
        return node["text"]
    if node.get("type") == "hardBreak":
        return "\n"
    return "\n".join(_adf_text(child) for child in node.get("content", []))


def jira_limits(request: Request) -> Response:
    """A stand-in that refuses what Jira Cloud refuses: a summary over 255 characters, a field over 32,767."""
    fields = request.get_json()["fields"]
    if len(fields["summary"]) > 255:
        return Response(orjson.dumps({"errors": {"summary": "Summary must be less than 255 characters."}}), 400)
    if len(_adf_text(fields["description"])) > 32_767:
        return Response(orjson.dumps({"errors": {"description": "The entered text is too long. It exceeds the "
                                                                "allowed limit of 32,767 characters."}}), 400)
    return Response(orjson.dumps(CREATED), 201, content_type="application/json")


def test_a_megabyte_review_opens_a_ticket_cut_to_jiras_limits_with_a_link(make_hub, httpserver):
    config = ("hub: {max_body_bytes: 2097152}\n" + CONFIG % httpserver.url_for("/")).replace(
        '"{{ data.customer.name }} scored {{ data.score.value }}/{{ data.score.max }}"', '"{{ data.text }}"')
    hub = make_hub(config, plugins=[webhook, jira], env={"APP_SECRET": WHSEC, "JIRA_TOKEN": TOKEN})
    expect_create(httpserver).respond_with_handler(jira_limits)
    review = "The export fails again and again. " * 30_000  # about 1 MB of one customer's words
    assert send(hub, detractor(comment=review)).status_code == 202
    hub.drain()
    [delivery] = hub.store.reads.deliveries()
    assert delivery.status == "succeeded", delivery.last_error
    [request] = issue_requests(httpserver)
    fields = request.get_json()["fields"]
    assert len(fields["summary"]) == 255 and fields["summary"].endswith("The export fails…")
    description = _adf_text(fields["description"])
    assert 32_000 < len(description) <= 32_767
    assert description.startswith("Ann Lee (ann@example.com) is unhappy.\nThe export fails again")
    assert description.endswith("… [truncated; full text: https://surveys.example.com/r/1001]")


def test_bad_credentials_pause_the_connection_instead_of_dead_lettering(hub, httpserver):
    expect_create(httpserver).respond_with_data("unauthorized", status=401)
    send(hub, detractor())
    hub.drain()
    [delivery] = hub.store.reads.deliveries()
    assert delivery.status != "dead"
    [attempt] = hub.store.reads.attempts(delivery.id)
    assert (attempt.outcome, attempt.status_code) == ("paused", 401)
