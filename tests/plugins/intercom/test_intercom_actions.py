"""The Intercom actions against a local REST API stand-in that checks requests as Intercom documents them."""

from __future__ import annotations

import time

import orjson
import pytest
from werkzeug import Request, Response

import plugins.intercom as intercom
import plugins.webhook as webhook
from hub.operations import connection_states
from hub.testing import hmac_signature
from plugins.intercom.actions import BODY_LIMIT, fit_body, render
from tests.conftest import APP_SOURCE, WHSEC, detractor, fixture_bytes, send

TOKEN = "dG9rOmZha2UtaW50ZXJjb20tdG9rZW4="  # shaped like an Intercom access token
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json", "Intercom-Version": "2.11",
           "Content-Type": "application/json"}
CONNECTION = """
connections:
  intercom:
    plugin: intercom
    settings: {base_url: "%s", access_token: {$env: IC_TOKEN}}
    retry: {max_attempts: 3, initial_delay: 0, max_delay: 0}
    circuit_breaker: {failure_threshold: 0}
    timeout: 0.5
"""
REPLY_ROUTE = """
routes:
  - name: note
    actions:
      - connection: intercom
        action: reply
        params: {conversation_id: "%s", admin_id: "814860", body: "{{ data.text }}"%s}
"""
REPLIED = {"type": "conversation", "id": "1911149811", "conversation_parts": {
    "type": "conversation_part.list", "total_count": 1,
    "conversation_parts": [{"type": "conversation_part", "id": "2202737122", "part_type": "note",
                            "body": "<p>The export keeps failing.</p>"}]}}


def make(make_hub, httpserver, routes: str, *, head: str = "", source: str = APP_SOURCE, env: dict | None = None):
    config = head + source + CONNECTION % httpserver.url_for("/").rstrip("/") + routes
    return make_hub(config, plugins=[webhook, intercom], env={"APP_SECRET": WHSEC, "IC_TOKEN": TOKEN, **(env or {})})


def reply_route(conversation_id: str = "1911149811", extra: str = "") -> str:
    return REPLY_ROUTE % (conversation_id, extra)


def test_reply_posts_an_admin_note_with_the_documented_request(make_hub, httpserver):
    hub = make(make_hub, httpserver, reply_route())
    httpserver.expect_request("/conversations/1911149811/reply", method="POST", headers=HEADERS) \
        .respond_with_json(REPLIED)
    send(hub, detractor(comment="The export keeps failing.\n\nSince <Monday> & today."))
    hub.drain()
    [(request, _)] = httpserver.log
    assert request.get_json() == {"message_type": "note", "type": "admin", "admin_id": "814860",
                                  "body": "<p>The export keeps failing.</p><p>Since &lt;Monday&gt; &amp; today.</p>"}
    [delivery] = hub.store.reads.deliveries()
    assert delivery.status == "succeeded"
    assert orjson.loads(delivery.result) == {"external_id": "2202737122", "url": None,
                                             "detail": {"conversation_id": "1911149811", "message_type": "note"},
                                             "link": {"system": "intercom", "id": "1911149811",
                                                      "type": "conversation", "url": None}}


def test_a_comment_reply_and_a_pinned_version(make_hub, httpserver):
    connection = CONNECTION.replace("access_token: {$env: IC_TOKEN}", "access_token: {$env: IC_TOKEN}, api_version: '2.13'")
    config = APP_SOURCE + connection % httpserver.url_for("/").rstrip("/") + reply_route(
        extra=", message_type: comment, body_format: html")
    hub = make_hub(config, plugins=[webhook, intercom], env={"APP_SECRET": WHSEC, "IC_TOKEN": TOKEN})
    httpserver.expect_request("/conversations/1911149811/reply", method="POST",
                              headers={**HEADERS, "Intercom-Version": "2.13"}).respond_with_json(REPLIED)
    send(hub, detractor(comment="<b>Sorry</b> about that"))
    hub.drain()
    [(request, _)] = httpserver.log
    assert request.get_json()["message_type"] == "comment"
    assert request.get_json()["body"] == "<b>Sorry</b> about that"
    assert hub.store.reads.deliveries()[0].status == "succeeded"


def test_a_new_intercom_conversation_gets_a_note_end_to_end(make_hub, httpserver):
    """Intercom's notification in, over the hub, and the reply out on that very conversation."""
    source = """
sources:
  intercom:
    plugin: intercom
    settings: {secret: {$env: IC_SECRET}}
"""
    routes = """
routes:
  - name: triage
    when: {field: type, equals: cx.conversation.created}
    actions:
      - connection: intercom
        action: reply
        params: {conversation_id: "{{ data.attributes.conversation_id }}", admin_id: "814860",
                 body: "Customer {{ data.customer.name }} wrote: {{ data.text }}"}
"""
    hub = make(make_hub, httpserver, routes, source=source, env={"IC_SECRET": "client-secret"})
    httpserver.expect_request("/conversations/1911149811/reply", method="POST", headers=HEADERS) \
        .respond_with_json(REPLIED)
    payload = orjson.loads(fixture_bytes("intercom/conversation_user_created_v2.json"))
    body = orjson.dumps({**payload, "created_at": int(time.time())})
    signature = "sha1=" + hmac_signature("client-secret", body, encoding="hex", algorithm="sha1")
    assert hub.post("intercom", body, {"X-Hub-Signature": signature}).status_code == 202
    hub.drain()
    [(request, _)] = httpserver.log
    assert request.get_json()["body"] == (
        "<p>Customer Hoban Washburne wrote: Hi, my order #1042 arrived damaged &amp; the box was open.</p>"
        "<p>Can you send a new one?<br>Thanks &lt;3</p>")


@pytest.mark.parametrize("status", [401, 403])
def test_bad_credentials_pause_the_connection_with_the_reason(make_hub, httpserver, status):
    hub = make(make_hub, httpserver, reply_route())
    httpserver.expect_request("/conversations/1911149811/reply").respond_with_json(
        {"type": "error.list", "errors": [{"code": "unauthorized", "message": "Access Token Invalid"}]}, status=status)
    send(hub, detractor(1001), msg_id="m1")
    send(hub, detractor(1002), msg_id="m2")
    hub.drain()
    assert len(httpserver.log) == 1  # the second delivery was not sent: no retries burnt
    deliveries = hub.store.reads.deliveries()
    assert "dead" not in {d.status for d in deliveries}
    [tried] = [d for d in deliveries if d.attempts == 1]
    [attempt] = hub.store.reads.attempts(tried.id)
    assert (attempt.outcome, attempt.status_code) == ("paused", status)
    [state] = [s for s in connection_states(hub.hub) if s["connection"] == "intercom"]
    assert state["status"] == "paused"
    assert f"Intercom refused the connection's access token ({status})" in state["reason"]
    assert "Access Token Invalid" in state["reason"]
    assert TOKEN not in str(deliveries) + str(attempt) + str(state)


def test_a_reply_to_a_missing_conversation_dead_letters_with_the_reason(make_hub, httpserver):
    hub = make(make_hub, httpserver, reply_route("404404"))
    httpserver.expect_request("/conversations/404404/reply").respond_with_json(
        {"type": "error.list", "errors": [{"code": "not_found", "message": "Resource Not Found"}]}, status=404)
    send(hub, detractor())
    hub.drain()
    [delivery] = hub.store.reads.deliveries()
    assert delivery.status == "dead" and delivery.attempts == 1
    assert delivery.last_error.startswith("conversation 404404 was not found in Intercom")
    assert "Resource Not Found" in delivery.last_error


def test_a_429_is_retried_after_its_retry_after(make_hub, httpserver):
    hub = make(make_hub, httpserver, reply_route())
    httpserver.expect_oneshot_request("/conversations/1911149811/reply").respond_with_data(
        "", status=429, headers={"Retry-After": "0"})
    httpserver.expect_request("/conversations/1911149811/reply").respond_with_json(REPLIED)
    send(hub, detractor())
    hub.drain()
    [delivery] = hub.store.reads.deliveries()
    assert [(a.status_code, a.outcome) for a in hub.store.reads.attempts(delivery.id)] == [
        (429, "retry"), (None, "succeeded")]


def intercom_limits(request: Request) -> Response:
    """A stand-in that refuses a body longer than the plugin's limit, in UTF-16 code units."""
    body = request.get_json()["body"]
    if len(body.encode("utf-16-le")) // 2 > BODY_LIMIT:
        return Response(orjson.dumps({"type": "error.list", "errors": [{"code": "parameter_invalid"}]}), 400,
                        content_type="application/json")
    return Response(orjson.dumps(REPLIED), 200, content_type="application/json")


def test_a_megabyte_reply_is_cut_to_the_limit_with_a_link(make_hub, httpserver):
    hub = make(make_hub, httpserver, reply_route(), head="hub: {max_body_bytes: 4194304}\n")
    httpserver.expect_request("/conversations/1911149811/reply").respond_with_handler(intercom_limits)
    review = "Ça ne marche pas <encore> — 😞 " * 35_000  # about 1 MB, HTML to escape, two units per emoji
    assert send(hub, detractor(comment=review)).status_code == 202
    hub.drain()
    [delivery] = hub.store.reads.deliveries()
    assert delivery.status == "succeeded", delivery.last_error
    [(request, _)] = httpserver.log
    body = request.get_json()["body"]
    assert BODY_LIMIT - 512 < len(body.encode("utf-16-le")) // 2 <= BODY_LIMIT
    assert body.startswith("<p>Ça ne marche pas &lt;encore&gt; — 😞")
    assert body.endswith("… [truncated; full text: https://surveys.example.com/r/1001]</p>")


def test_render_escapes_text_and_keeps_paragraphs_and_lines():
    assert render("a < b\nc\n\n\n d & e ", "text") == "<p>a &lt; b<br>c</p><p>d &amp; e</p>"
    assert render("<i>as is</i>", "html") == "<i>as is</i>"
    short = fit_body("<" * 100, "text", limit=40)  # no room for the marker: a bare ellipsis
    assert 30 <= len(short) <= 40 and short.startswith("<p>&lt;&lt;") and short.endswith("&lt;…</p>")
    cut = fit_body("<" * 1000, "text", limit=200)
    assert 150 <= len(cut) <= 200 and cut.endswith("&lt;… [truncated]</p>")


TAG_ROUTE = """
routes:
  - name: tag
    actions:
      - connection: intercom
        action: tag_contact
        params: {contact_id: "6762f0dd1bb69f9f2193bb7f", %s}
"""
TAG = {"type": "tag", "id": "7522907", "name": "detractor"}


def test_tag_contact_by_id(make_hub, httpserver):
    hub = make(make_hub, httpserver, TAG_ROUTE % 'tag_id: "7522907"')
    httpserver.expect_request("/contacts/6762f0dd1bb69f9f2193bb7f/tags", method="POST", headers=HEADERS) \
        .respond_with_json(TAG)
    send(hub, detractor())
    hub.drain()
    [(request, _)] = httpserver.log
    assert request.get_json() == {"id": "7522907"}
    [delivery] = hub.store.reads.deliveries()
    assert orjson.loads(delivery.result) == {"external_id": "7522907", "url": None,
                                             "detail": {"contact_id": "6762f0dd1bb69f9f2193bb7f"}}


def test_tag_contact_by_name_finds_or_creates_the_tag_first(make_hub, httpserver):
    hub = make(make_hub, httpserver, TAG_ROUTE % "tag_name: detractor")
    httpserver.expect_request("/tags", method="POST", headers=HEADERS).respond_with_json(TAG)
    httpserver.expect_request("/contacts/6762f0dd1bb69f9f2193bb7f/tags", method="POST", headers=HEADERS) \
        .respond_with_json(TAG)
    send(hub, detractor())
    hub.drain()
    [(create, _), (attach, _)] = httpserver.log
    assert (create.path, create.get_json()) == ("/tags", {"name": "detractor"})
    assert (attach.path, attach.get_json()) == ("/contacts/6762f0dd1bb69f9f2193bb7f/tags", {"id": "7522907"})
    assert hub.store.reads.deliveries()[0].status == "succeeded"


def test_a_tag_for_a_missing_contact_dead_letters(make_hub, httpserver):
    hub = make(make_hub, httpserver, TAG_ROUTE % 'tag_id: "7522907"')
    httpserver.expect_request("/contacts/6762f0dd1bb69f9f2193bb7f/tags").respond_with_json(
        {"type": "error.list", "errors": [{"code": "not_found", "message": "User Not Found"}]}, status=404)
    send(hub, detractor())
    hub.drain()
    [delivery] = hub.store.reads.deliveries()
    assert delivery.status == "dead" and "was not found in Intercom" in delivery.last_error


@pytest.mark.parametrize("params", ['tag_id: "1", tag_name: x', None])
def test_tag_contact_needs_exactly_one_of_tag_id_and_tag_name(make_hub, httpserver, params):
    hub = make(make_hub, httpserver, TAG_ROUTE % params if params else TAG_ROUTE.replace(", %s", ""))
    send(hub, detractor())
    hub.drain()
    [delivery] = hub.store.reads.deliveries()
    assert delivery.status == "dead" and "give tag_id or tag_name, not both" in delivery.last_error
    assert httpserver.log == []
