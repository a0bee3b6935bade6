"""jira.add_comment and jira.transition_issue against a local Jira stand-in that checks requests as documented."""

from __future__ import annotations

import base64

import orjson
import pytest
from werkzeug import Request, Response

import plugins.jira as jira
import plugins.webhook as webhook
from hub.operations import connection_states
from tests.conftest import APP_SOURCE, WHSEC, detractor, fixture_bytes, send

TOKEN = "jira-api-token-123"
BASIC = "Basic " + base64.b64encode(f"cx-bot@example.com:{TOKEN}".encode()).decode()
TRANSITIONS = orjson.loads(fixture_bytes("jira/get_transitions_response.json"))  # documented: "Close Issue", "QA Review"
COMMENT = "/rest/api/3/issue/CX-42/comment"
CONNECTION = """
connections:
  jira:
    plugin: jira
    settings: {base_url: "%s", email: cx-bot@example.com, api_token: {$env: JIRA_TOKEN}}
    retry: {max_attempts: 3, initial_delay: 0, max_delay: 0}
    circuit_breaker: {failure_threshold: 0}
"""
COMMENT_ROUTE = """
routes:
  - name: notes
    actions:
      - connection: jira
        action: add_comment
        params:
          issue: CX-42
          comment: |
            {{ data.customer.name }} wrote:

            > {{ data.text }}
"""
TRANSITION_ROUTE = """
routes:
  - name: move
    actions:
      - connection: jira
        action: transition_issue
        params: {issue: CX-42, transition: "%s"}
"""


def make(make_hub, httpserver, routes: str, head: str = ""):
    config = head + APP_SOURCE + CONNECTION % httpserver.url_for("/").rstrip("/") + routes
    return make_hub(config, plugins=[webhook, jira], env={"APP_SECRET": WHSEC, "JIRA_TOKEN": TOKEN})


def requests_to(httpserver, path: str, method: str | None = None) -> list[Request]:
    return [r for r, _ in httpserver.log if r.path == path and (method is None or r.method == method)]


def only_delivery(hub):
    [delivery] = hub.store.reads.deliveries()
    return delivery


class JiraComments:
    """Add comment, Get comments and Get comments by IDs over one issue's comments, with their properties.

    `lose_answers` POSTs are stored and then answered 503, as when Jira adds the comment and the
    answer is lost: the retry must find the comment instead of adding a second.
    """

    def __init__(self, lose_answers: int = 0, fail_before_storing: int = 0) -> None:
        self.comments: list[dict] = [{"id": "9001", "body": {"type": "doc", "version": 1, "content": []},
                                      "properties": [{"key": "cxhub-delivery", "value": {"key": "another"}}]}]
        self.lose_answers, self.fail_before_storing = lose_answers, fail_before_storing

    def __call__(self, request: Request) -> Response:
        if request.method == "GET" and request.path == COMMENT:
            assert request.args["orderBy"] == "-created"
            listed = [{key: c[key] for key in ("id", "body")} for c in reversed(self.comments)]
            return Response(orjson.dumps({"comments": listed, "startAt": 0, "maxResults": 50,
                                          "total": len(listed)}), 200, content_type="application/json")
        if request.path == "/rest/api/3/comment/list":
            assert request.args["expand"] == "properties"
            ids = {str(i) for i in request.get_json()["ids"]}
            values = [c for c in self.comments if c["id"] in ids]
            return Response(orjson.dumps({"values": values, "isLast": True}), 200, content_type="application/json")
        if self.fail_before_storing:
            self.fail_before_storing -= 1
            return Response("", 503)
        body = request.get_json()
        comment = {"id": str(10000 + len(self.comments)), **body}
        self.comments.append(comment)
        if self.lose_answers:
            self.lose_answers -= 1
            return Response("", 503)
        return Response(orjson.dumps(comment), 201, content_type="application/json")


def serve_comments(httpserver, stand_in: JiraComments) -> None:
    for path in (COMMENT, "/rest/api/3/comment/list"):
        httpserver.expect_request(path, headers={"Authorization": BASIC, "Accept": "application/json"}) \
            .respond_with_handler(stand_in)


def test_add_comment_posts_the_documented_adf_body_with_the_delivery_property(make_hub, httpserver):
    hub = make(make_hub, httpserver, COMMENT_ROUTE)
    stand_in = JiraComments()
    serve_comments(httpserver, stand_in)
    send(hub, detractor())
    hub.drain()
    delivery = only_delivery(hub)
    assert delivery.status == "succeeded", delivery.last_error
    [request] = requests_to(httpserver, COMMENT, "POST")  # a first attempt looks nothing up
    assert request.headers["Content-Type"] == "application/json"
    body = request.get_json()
    assert body["body"] == {"type": "doc", "version": 1, "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": "Ann Lee wrote:"}]},
        {"type": "blockquote", "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": "The export keeps failing."}]}]}]}
    assert body["properties"] == [{"key": "cxhub-delivery", "value": {"key": delivery.id}}]
    assert set(body) == {"body", "properties"}
    assert orjson.loads(delivery.result) == {
        "external_id": "10001", "detail": {"issue": "CX-42"},
        "url": httpserver.url_for("/browse/CX-42") + "?focusedCommentId=10001"}


def test_a_retry_after_a_lost_answer_finds_its_comment_instead_of_posting_twice(make_hub, httpserver):
    hub = make(make_hub, httpserver, COMMENT_ROUTE)
    stand_in = JiraComments(lose_answers=1)
    serve_comments(httpserver, stand_in)
    send(hub, detractor())
    hub.drain()
    delivery = only_delivery(hub)
    assert [(a.status_code, a.outcome) for a in hub.store.reads.attempts(delivery.id)] == [
        (503, "retry"), (None, "succeeded")]
    assert len(requests_to(httpserver, COMMENT, "POST")) == 1
    assert len(stand_in.comments) == 2  # the one that was there, and ours once
    assert orjson.loads(delivery.result)["external_id"] == "10001"
    assert orjson.loads(delivery.result)["detail"] == {"issue": "CX-42", "reused": True}


def test_a_retry_that_finds_no_comment_of_its_own_posts_it(make_hub, httpserver):
    hub = make(make_hub, httpserver, COMMENT_ROUTE)
    stand_in = JiraComments(fail_before_storing=1)
    serve_comments(httpserver, stand_in)
    send(hub, detractor())
    hub.drain()
    assert only_delivery(hub).status == "succeeded"
    assert len(requests_to(httpserver, COMMENT, "POST")) == 2 and len(stand_in.comments) == 2
    assert len(requests_to(httpserver, "/rest/api/3/comment/list")) == 1  # the other comment was looked at


def test_a_megabyte_comment_is_cut_to_jiras_limit_with_a_link(make_hub, httpserver):
    hub = make(make_hub, httpserver, COMMENT_ROUTE, head="hub: {max_body_bytes: 2097152}\n")
    serve_comments(httpserver, JiraComments())
    assert send(hub, detractor(comment="The export fails again and again. " * 30_000)).status_code == 202
    hub.drain()
    assert only_delivery(hub).status == "succeeded"
    [request] = requests_to(httpserver, COMMENT, "POST")
    [intro, quote] = request.get_json()["body"]["content"]
    text = intro["content"][0]["text"] + "\n\n" + "> " + quote["content"][0]["content"][0]["text"]
    assert 32_000 < len(text) <= 32_767
    assert text.endswith("… [truncated; full text: https://surveys.example.com/r/1001]")


@pytest.mark.parametrize("status", [401, 403])
def test_bad_credentials_pause_the_connection_with_the_reason(make_hub, httpserver, status):
    hub = make(make_hub, httpserver, COMMENT_ROUTE)
    httpserver.expect_request(COMMENT, method="POST").respond_with_json(
        {"errorMessages": ["You do not have the permission to see the specified issue."], "errors": {}}, status=status)
    send(hub, detractor(1001), msg_id="m1")
    send(hub, detractor(1002), msg_id="m2")
    hub.drain()
    assert len(requests_to(httpserver, COMMENT)) == 1  # the second delivery waits: no retries burnt
    assert "dead" not in {d.status for d in hub.store.reads.deliveries()}
    [state] = [s for s in connection_states(hub.hub) if s["connection"] == "jira"]
    assert state["status"] == "paused"
    assert f"Jira refused the connection's credentials ({status})" in state["reason"]
    assert TOKEN not in str(state) + str(hub.store.reads.deliveries())


def test_a_comment_on_a_deleted_issue_dead_letters_with_the_reason(make_hub, httpserver):
    hub = make(make_hub, httpserver, COMMENT_ROUTE)
    httpserver.expect_request(COMMENT, method="POST").respond_with_json(
        {"errorMessages": ["Issue does not exist or you do not have permission to see it."], "errors": {}}, status=404)
    send(hub, detractor())
    hub.drain()
    delivery = only_delivery(hub)
    assert delivery.status == "dead" and delivery.attempts == 1
    assert delivery.last_error.startswith("issue CX-42 was not found in Jira (deleted")
    assert "Issue does not exist" in delivery.last_error


def serve_issue(httpserver, status_name: str) -> None:
    httpserver.expect_request("/rest/api/3/issue/CX-42", method="GET", query_string="fields=status",
                              headers={"Authorization": BASIC}) \
        .respond_with_json({"id": "10042", "key": "CX-42", "fields": {"status": {"name": status_name, "id": "1"}}})
    httpserver.expect_request("/rest/api/3/issue/CX-42/transitions", method="GET",
                              headers={"Authorization": BASIC}).respond_with_json(TRANSITIONS)
    httpserver.expect_request("/rest/api/3/issue/CX-42/transitions", method="POST",
                              headers={"Authorization": BASIC}).respond_with_data("", status=204)


def posted_transitions(httpserver) -> list[dict]:
    return [r.get_json() for r in requests_to(httpserver, "/rest/api/3/issue/CX-42/transitions", "POST")]


@pytest.mark.parametrize("wanted,transition_id,target", [
    ("Close Issue", "2", "In Progress"),  # a transition's name (the documented one leads to In Progress)
    ("qa review", "711", "Closed"),  # any case
    ("CLOSED", "711", "Closed"),  # a target status's name
])
def test_transition_by_transition_or_status_name(make_hub, httpserver, wanted, transition_id, target):
    hub = make(make_hub, httpserver, TRANSITION_ROUTE % wanted)
    serve_issue(httpserver, "Open")
    send(hub, detractor())
    hub.drain()
    delivery = only_delivery(hub)
    assert delivery.status == "succeeded", delivery.last_error
    assert posted_transitions(httpserver) == [{"transition": {"id": transition_id}}]
    assert orjson.loads(delivery.result) == {
        "external_id": "CX-42", "url": httpserver.url_for("/browse/CX-42"),
        "detail": {"transition": "Close Issue" if transition_id == "2" else "QA Review", "from": "Open",
                   "status": target}}


@pytest.mark.parametrize("current,wanted", [
    ("Closed", "closed"), ("Closed", "QA Review"),  # by status, or by a transition that leads there
    ("Done", "done"),  # Jira lists no transition to the status the issue is in: still nothing to do
])
def test_an_issue_already_in_the_target_status_is_left_alone(make_hub, httpserver, current, wanted):
    hub = make(make_hub, httpserver, TRANSITION_ROUTE % wanted)
    serve_issue(httpserver, current)
    send(hub, detractor())
    hub.drain()
    delivery = only_delivery(hub)
    assert delivery.status == "succeeded", delivery.last_error
    assert posted_transitions(httpserver) == []
    assert orjson.loads(delivery.result)["detail"] == {"status": current, "unchanged": True}


def test_an_unknown_name_gives_up_with_the_available_transitions(make_hub, httpserver):
    hub = make(make_hub, httpserver, TRANSITION_ROUTE % "Won't Fix")
    serve_issue(httpserver, "Open")
    send(hub, detractor())
    hub.drain()
    delivery = only_delivery(hub)
    assert delivery.status == "dead" and delivery.attempts == 1
    assert "no transition or target status named \"Won't Fix\" from status 'Open'" in delivery.last_error
    assert "available: Close Issue (to In Progress); QA Review (to Closed)" in delivery.last_error
    assert posted_transitions(httpserver) == []


def test_a_transition_of_a_deleted_issue_dead_letters_with_the_reason(make_hub, httpserver):
    hub = make(make_hub, httpserver, TRANSITION_ROUTE % "Closed")
    httpserver.expect_request("/rest/api/3/issue/CX-42", method="GET").respond_with_json(
        {"errorMessages": ["Issue does not exist or you do not have permission to see it."], "errors": {}}, status=404)
    send(hub, detractor())
    hub.drain()
    delivery = only_delivery(hub)
    assert delivery.status == "dead" and delivery.attempts == 1
    assert delivery.last_error.startswith("issue CX-42 was not found in Jira")


def test_an_issue_reference_that_is_not_a_key_is_refused_before_any_request(make_hub, httpserver):
    hub = make(make_hub, httpserver, TRANSITION_ROUTE.replace("issue: CX-42", 'issue: "{{ data.text }}"') % "Closed")
    send(hub, detractor(comment="../../rest/api/3/user"))
    hub.drain()
    delivery = only_delivery(hub)
    assert delivery.status == "dead" and "issue key (like CX-42)" in delivery.last_error, delivery.last_error
    assert httpserver.log == []
