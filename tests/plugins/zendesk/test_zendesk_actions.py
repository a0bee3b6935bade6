"""The Zendesk actions against a local Support API stand-in that checks requests as Zendesk documents them."""

from __future__ import annotations

import base64
import threading

import orjson
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

import plugins.webhook as webhook
import plugins.zendesk as zendesk
from hub.operations import connection_states
from hub.testing import wait_for
from tests.conftest import APP_SOURCE, WHSEC, detractor, fixture_bytes, send

TOKEN = "zendesk-api-token-123"
BASIC = "Basic " + base64.b64encode(f"cx-bot@example.com/token:{TOKEN}".encode()).decode()
CREATED = orjson.loads(fixture_bytes("zendesk/create_ticket_response_201.json"))  # documented 201
TICKETS = "/api/v2/tickets.json"
CONNECTION = """
connections:
  zendesk:
    plugin: zendesk
    settings: {base_url: "%s", email: cx-bot@example.com, api_token: {$env: ZD_TOKEN}}
    retry: {max_attempts: 3, initial_delay: 0, max_delay: 0}
    circuit_breaker: {failure_threshold: 0}
    timeout: 0.5
"""
CREATE_ROUTE = """
routes:
  - name: detractors
    actions:
      - connection: zendesk
        action: create_ticket
        params:
          subject: "{{ data.customer.name }} scored {{ data.score.value }}/{{ data.score.max }}"
          comment: "{{ data.text }}"
          comment_format: %s
          priority: high
          type: problem
          tags: [cx-detractor, nps]
          custom_fields: [{id: 360001234, value: "{{ data.score.value }}"}]
"""


def make(make_hub, httpserver, routes: str, *, config_head: str = "", connection: str = CONNECTION):
    config = config_head + APP_SOURCE + connection % httpserver.url_for("/").rstrip("/") + routes
    return make_hub(config, plugins=[webhook, zendesk], env={"APP_SECRET": WHSEC, "ZD_TOKEN": TOKEN})


@pytest.fixture
def hub(make_hub, httpserver):
    return make(make_hub, httpserver, CREATE_ROUTE % "text")


def expect_create(httpserver, *, auth: str = BASIC, once: bool = False):
    expect = httpserver.expect_oneshot_request if once else httpserver.expect_request
    return expect(TICKETS, method="POST",
                  headers={"Authorization": auth, "Accept": "application/json", "Content-Type": "application/json"})


def requests_to(httpserver, path: str) -> list[Request]:
    return [request for request, _ in httpserver.log if request.path == path]


def created_answer(lookup: str = "miss") -> Response:
    return Response(orjson.dumps(CREATED), 201, content_type="application/json",
                    headers={"x-idempotency-lookup": lookup})


def test_create_ticket_sends_the_documented_request_once_per_delivery(hub, httpserver):
    expect_create(httpserver).respond_with_response(created_answer())
    send(hub, detractor())
    hub.drain()
    [request] = requests_to(httpserver, TICKETS)
    [delivery] = hub.store.reads.deliveries()
    assert request.headers["Idempotency-Key"] == delivery.id
    assert request.get_json() == {"ticket": {
        "subject": "Ann Lee scored 2/10",
        "comment": {"body": "The export keeps failing.", "public": True},
        "requester": {"email": "ann@example.com", "name": "Ann Lee"},
        "priority": "high",
        "type": "problem",
        "tags": ["cx-detractor", "nps"],
        "custom_fields": [{"id": 360001234, "value": "2"}],
    }}
    assert delivery.status == "succeeded"
    assert orjson.loads(delivery.result) == {"external_id": "3", "url": httpserver.url_for("/agent/tickets/3"),
                                                 "detail": {"idempotency_lookup": "miss"},
                                                 "link": {"system": "zendesk", "id": "3", "type": "ticket",
                                                          "url": httpserver.url_for("/agent/tickets/3")}}


def test_markdown_becomes_html_and_a_customers_html_stays_text(make_hub, httpserver):
    hub = make(make_hub, httpserver, CREATE_ROUTE % "markdown")
    expect_create(httpserver).respond_with_response(created_answer())
    send(hub, detractor(comment="**Broken** again <img src=x onerror=alert(1)> [x](javascript:alert(1))"))
    hub.drain()
    [request] = requests_to(httpserver, TICKETS)
    assert request.get_json()["ticket"]["comment"] == {
        "html_body": "<p><strong>Broken</strong> again &lt;img src=x onerror=alert(1)&gt; [x](javascript:alert(1))</p>\n",
        "public": True}


def test_an_oauth_token_is_sent_as_a_bearer(make_hub, httpserver):
    oauth = CONNECTION.replace("email: cx-bot@example.com, api_token: {$env: ZD_TOKEN}", "oauth_token: {$env: ZD_TOKEN}")
    hub = make(make_hub, httpserver, CREATE_ROUTE % "text", connection=oauth)
    expect_create(httpserver, auth=f"Bearer {TOKEN}").respond_with_response(created_answer())
    send(hub, detractor())
    hub.drain()
    assert hub.store.reads.deliveries()[0].status == "succeeded"


class IdempotentZendesk:
    """Zendesk's idempotency as documented: a repeated key answers with the ticket it first created.

    The first answer comes too late: the ticket is made, but the client has timed out by the time
    the retry arrives, and only the retry lets the first answer go.
    """

    def __init__(self) -> None:
        self.tickets: dict[str, int] = {}
        self.retried = threading.Event()

    def __call__(self, request: Request) -> Response:
        key = request.headers["Idempotency-Key"]
        if key in self.tickets:
            self.retried.set()
            return created_answer("hit")
        self.tickets[key] = CREATED["ticket"]["id"]
        self.retried.wait(10)  # far past the connection's 0.5 s timeout: this answer is lost
        return created_answer("miss")


@pytest.fixture
def threaded_zendesk():
    """A stand-in that answers a retry while the first request still hangs (the shared one is single-threaded)."""
    server = HTTPServer(threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


def test_a_retry_after_a_timeout_gets_the_same_ticket_not_a_second(make_hub, threaded_zendesk):
    hub = make(make_hub, threaded_zendesk, CREATE_ROUTE % "text")
    zendesk_api = IdempotentZendesk()
    expect_create(threaded_zendesk).respond_with_handler(zendesk_api)
    send(hub, detractor())
    hub.drain()
    [delivery] = hub.store.reads.deliveries()
    assert [(a.outcome, a.status_code) for a in hub.store.reads.attempts(delivery.id)] == [
        ("retry", None), ("succeeded", None)]
    # The hung first request is logged once its handler returns, after the retry's (either order).
    first, second = wait_for(lambda: len(requests_to(threaded_zendesk, TICKETS)) == 2
                             and requests_to(threaded_zendesk, TICKETS), what="both requests logged")
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"] == delivery.id
    assert first.get_json() == second.get_json()
    assert len(zendesk_api.tickets) == 1
    assert orjson.loads(delivery.result)["detail"] == {"idempotency_lookup": "hit"}


def test_a_429_is_retried_after_its_retry_after(hub, httpserver):
    expect_create(httpserver, once=True).respond_with_data("", status=429, headers={"Retry-After": "0"})
    expect_create(httpserver).respond_with_response(created_answer())
    send(hub, detractor())
    hub.drain()
    [delivery] = hub.store.reads.deliveries()
    assert [(a.status_code, a.outcome) for a in hub.store.reads.attempts(delivery.id)] == [
        (429, "retry"), (None, "succeeded")]


@pytest.mark.parametrize("status", [401, 403])
def test_bad_credentials_pause_the_connection_with_the_reason(hub, httpserver, status):
    expect_create(httpserver).respond_with_json({"error": "Couldn't authenticate you"}, status=status)
    send(hub, detractor(1001), msg_id="m1")
    send(hub, detractor(1002), msg_id="m2")
    hub.drain()
    assert len(requests_to(httpserver, TICKETS)) == 1  # the second delivery was not sent: no retries burnt
    deliveries = hub.store.reads.deliveries()
    assert "dead" not in {d.status for d in deliveries}
    [tried] = [d for d in deliveries if d.attempts == 1]
    [attempt] = hub.store.reads.attempts(tried.id)
    assert (attempt.outcome, attempt.status_code) == ("paused", status)
    [state] = [s for s in connection_states(hub.hub) if s["connection"] == "zendesk"]
    assert state["status"] == "paused"
    assert f"Zendesk refused the connection's credentials ({status})" in state["reason"]
    assert "Couldn't authenticate you" in state["reason"]
    assert TOKEN not in str(deliveries) + str(attempt) + str(state)


def test_a_validation_error_dead_letters_with_zendesks_details(hub, httpserver):
    expect_create(httpserver).respond_with_json(
        {"error": "RecordInvalid", "description": "Record validation errors",
         "details": {"priority": [{"description": "Priority: is not valid"}]}}, status=422)
    send(hub, detractor())
    hub.drain()
    [delivery] = hub.store.reads.deliveries()
    assert delivery.status == "dead" and len(hub.store.reads.attempts(delivery.id)) == 1
    assert "Zendesk refused the new ticket as invalid" in delivery.last_error
    assert "Priority: is not valid" in delivery.last_error


COMMENT_ROUTE = """
routes:
  - name: notes
    actions:
      - connection: zendesk
        action: add_comment
        params: {ticket_id: "%s", comment: "{{ data.text }}", public: %s}
"""


def test_add_comment_puts_a_comment_on_the_ticket(make_hub, httpserver):
    hub = make(make_hub, httpserver, COMMENT_ROUTE % ("5158", "false"))
    httpserver.expect_request("/api/v2/tickets/5158.json", method="PUT", headers={"Authorization": BASIC}) \
        .respond_with_json({"ticket": {"id": 5158}, "audit": {"id": 2127301143, "ticket_id": 5158}})
    send(hub, detractor())
    hub.drain()
    [(request, _)] = httpserver.log
    assert "Idempotency-Key" not in request.headers
    assert request.get_json() == {"ticket": {"comment": {"body": "The export keeps failing.", "public": False}}}
    [delivery] = hub.store.reads.deliveries()
    assert orjson.loads(delivery.result) == {"external_id": "5158", "detail": {"audit_id": "2127301143"},
                                                 "url": httpserver.url_for("/agent/tickets/5158")}


def test_a_comment_on_a_deleted_ticket_dead_letters_with_the_reason(make_hub, httpserver):
    hub = make(make_hub, httpserver, COMMENT_ROUTE % ("999", "true"))
    httpserver.expect_request("/api/v2/tickets/999.json", method="PUT") \
        .respond_with_json({"error": "RecordNotFound", "description": "Not found"}, status=404)
    send(hub, detractor())
    hub.drain()
    [delivery] = hub.store.reads.deliveries()
    assert delivery.status == "dead" and delivery.attempts == 1
    assert delivery.last_error.startswith("ticket 999 was not found in Zendesk (deleted?)")
    assert "RecordNotFound" in delivery.last_error


def test_update_ticket_sends_only_the_changes_given(make_hub, httpserver):
    hub = make(make_hub, httpserver, """
routes:
  - name: escalate
    actions:
      - connection: zendesk
        action: update_ticket
        params: {ticket_id: 5158, status: open, additional_tags: [detractor], assignee_email: lead@example.com}
""")
    httpserver.expect_request("/api/v2/tickets/5158.json", method="PUT", headers={"Authorization": BASIC}) \
        .respond_with_json({"ticket": {"id": 5158}})
    send(hub, detractor())
    hub.drain()
    [(request, _)] = httpserver.log
    assert request.get_json() == {"ticket": {"status": "open", "additional_tags": ["detractor"],
                                             "assignee_email": "lead@example.com"}}
    assert hub.store.reads.deliveries()[0].status == "succeeded"


LIMIT = 65_536


def zendesk_limits(request: Request) -> Response:
    """A stand-in that refuses a comment body over 64 KB, as Zendesk does."""
    comment = request.get_json()["ticket"]["comment"]
    body = comment.get("body") or comment.get("html_body")
    if len(body.encode("utf-8")) > LIMIT:
        return Response(orjson.dumps({"error": "RecordInvalid", "details": {"base": [
            {"description": "Comment is too long"}]}}), 422, content_type="application/json")
    return created_answer()


@pytest.mark.parametrize("comment_format", ["text", "markdown"])
def test_a_megabyte_of_text_is_cut_to_zendesks_comment_limit(make_hub, httpserver, comment_format):
    hub = make(make_hub, httpserver, CREATE_ROUTE % comment_format, config_head="hub: {max_body_bytes: 4194304}\n")
    expect_create(httpserver).respond_with_handler(zendesk_limits)
    review = "Ça ne marche pas <encore> — 😞 " * 35_000  # about 1 MB, many bytes per character, HTML to escape
    assert send(hub, detractor(comment=review)).status_code == 202
    hub.drain()
    [delivery] = hub.store.reads.deliveries()
    assert delivery.status == "succeeded", delivery.last_error
    [request] = requests_to(httpserver, TICKETS)
    comment = request.get_json()["ticket"]["comment"]
    body = comment["body"] if comment_format == "text" else comment["html_body"]
    assert LIMIT - 1024 < len(body.encode("utf-8")) <= LIMIT
    assert body.startswith("Ça ne marche pas" if comment_format == "text" else "<p>Ça ne marche pas &lt;encore&gt;")
    assert "… [truncated; full text: https://surveys.example.com/r/1001]" in body
