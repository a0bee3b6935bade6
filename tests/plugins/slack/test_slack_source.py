"""The Slack source over real HTTP: Events API and interactivity requests signed as Slack signs them."""

from __future__ import annotations

import time
from urllib.parse import quote

import orjson
import pytest
import requests

import plugins.slack as slack
import plugins.webhook as webhook
from hub.plugin import InboundRequest, InvalidSignature, Secret, Source
from hub.testing import assert_valid_event, hmac_signature
from plugins.slack import inbound
from tests.conftest import WHSEC, fixture_bytes

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # the example secret of Slack's "Verifying requests" page
OLD_SECRET = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
CONFIG = """
sources:
  slack:
    plugin: slack
    settings:
      signing_secret: [{$env: SLACK_SECRET}, {$env: SLACK_OLD_SECRET}]
      %s
connections:
  out:
    plugin: webhook
    settings: {url: "%s", secret: {$env: OUT_SECRET}}
routes:
  - name: everything
    run_on_updates: true
    actions:
      - {connection: out, action: forward}
"""
FORM = "application/x-www-form-urlencoded"


def make(make_hub, httpserver, settings: str = ""):
    hub = make_hub(CONFIG % (settings, httpserver.url_for("/out")), plugins=[slack, webhook],
                   env={"SLACK_SECRET": SECRET, "SLACK_OLD_SECRET": OLD_SECRET, "OUT_SECRET": WHSEC})
    hub.base_url = hub.serve()
    return hub


@pytest.fixture
def hub(make_hub, httpserver):
    httpserver.expect_request("/out", method="POST").respond_with_data("", status=204)
    return make(make_hub, httpserver)


def signed_headers(body: bytes, *, secret: str = SECRET, timestamp: str | None = None) -> dict[str, str]:
    """What Slack sends: `v0=` + hex HMAC-SHA256 of `v0:<timestamp>:<body>`."""
    timestamp = timestamp or str(int(time.time()))
    return {"X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": "v0=" + hmac_signature(secret, f"v0:{timestamp}:".encode() + body)}


def post(hub, body: bytes, headers: dict[str, str] | None = None, content_type: str = "application/json"):
    headers = signed_headers(body) if headers is None else headers
    return requests.post(f"{hub.base_url}/hooks/slack", data=body, timeout=10,
                         headers={"Content-Type": content_type, "User-Agent": "Slackbot 1.0", **headers})


def interaction(payload: dict) -> bytes:
    return f"payload={quote(orjson.dumps(payload).decode())}".encode()


def event_of(hub, response) -> dict:
    assert response.status_code == 202, response.text
    [event_id] = response.json()["accepted"]
    event = orjson.loads(hub.store.reads.event(event_id).body)
    assert_valid_event(event)
    return event


def nothing_stored(hub) -> bool:
    hub.drain()
    return not hub.store.reads.events() and not hub.store.reads.deliveries()


def test_the_verifier_agrees_with_slacks_worked_example():
    body = fixture_bytes("slack/verifying_requests_example.txt")
    source = Source("slack", "slack", {"signing_secret": [Secret(SECRET, "SLACK_SECRET")],
                                       "tolerance_seconds": 10 ** 10})  # the example's timestamp is of 2018
    headers = {"x-slack-request-timestamp": "1531420618",
               "x-slack-signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"}
    inbound.verify(source, InboundRequest("POST", "/hooks/slack", body, FORM, headers))
    with pytest.raises(InvalidSignature):
        inbound.verify(source, InboundRequest("POST", "/hooks/slack", body + b"&x=1", FORM, headers))


def test_the_url_verification_challenge_is_answered(hub):
    response = post(hub, fixture_bytes("slack/url_verification.json"))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}
    assert nothing_stored(hub)


def test_an_unsigned_challenge_is_refused(hub):
    response = post(hub, fixture_bytes("slack/url_verification.json"), headers={})
    assert response.status_code == 401 and "challenge" not in response.text


def test_a_reply_in_a_thread_becomes_cx_message_received_and_routes(hub, httpserver):
    event = event_of(hub, post(hub, fixture_bytes("slack/event_thread_reply.json")))
    assert (event["type"], event["time"], event["subject"]) == (
        "cx.message.received", "2017-08-22T21:06:52.000310Z", "C123ABC456:1503436012.000310")
    data = event["data"]
    assert data["vendor_event_id"] == "Ev123ABC457"
    assert data["text"] == "I can look at this one: the export fails for every CSV over 10 MB."
    assert data["customer"] == {"id": "U222222222", "email": None, "name": None}
    assert data["link"] == {"system": "slack", "id": "C123ABC456:1503436012.000310", "type": "message", "url": None}
    assert data["attributes"] == {"slack_event_type": "message", "channel": "C123ABC456", "ts": "1503436012.000310",
                                  "thread_ts": "1503435956.000247", "user": "U222222222", "team_id": "T123ABC456",
                                  "parent_user_id": "U0LAN0Z89"}
    hub.drain()
    [(request, _)] = httpserver.log
    assert orjson.loads(request.data)["id"] == event["id"]


def test_a_slack_retry_is_answered_200_and_changes_nothing(hub, httpserver):
    body = fixture_bytes("slack/event_thread_reply.json")
    first = post(hub, body)
    hub.drain()
    retry = post(hub, body, {**signed_headers(body), "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    assert first.status_code == 202 and retry.status_code == 200
    assert retry.json() == {"accepted": [], "duplicates": first.json()["accepted"]}
    hub.drain()
    assert len(hub.store.reads.events()) == 1 and len(hub.store.reads.deliveries()) == 1
    assert len(httpserver.log) == 1


def test_an_app_mention_becomes_cx_message_received(hub):
    event = event_of(hub, post(hub, fixture_bytes("slack/event_app_mention.json")))
    assert (event["type"], event["time"]) == ("cx.message.received", "2018-01-08T22:11:23.000108Z")
    assert event["data"]["text"] == "You can count on <@U0LAN0Z89> for an honorable mention."
    assert event["data"]["attributes"]["slack_event_type"] == "app_mention"


def test_a_reaction_becomes_cx_message_received_about_the_reacted_message(hub):
    event = event_of(hub, post(hub, fixture_bytes("slack/event_reaction_added.json")))
    assert (event["type"], event["subject"], event["data"]["text"]) == (
        "cx.message.received", "C123ABC456:1360782400.498405", ":thumbsup:")
    assert event["data"]["attributes"] == {"slack_event_type": "reaction_added", "channel": "C123ABC456",
                                           "ts": "1360782400.498405", "user": "U123ABC456", "team_id": "T123ABC456",
                                           "reaction": "thumbsup", "item_user": "U222222222"}


def with_event(fixture: str, **changes) -> bytes:
    payload = orjson.loads(fixture_bytes(fixture))
    payload["event"].update(changes)
    return orjson.dumps({key: value for key, value in payload.items()})


@pytest.mark.parametrize("body", [
    fixture_bytes("slack/event_bot_message.json"),  # the hub's own post, sent back as an event
    with_event("slack/event_thread_reply.json", bot_id="B123ABC456"),  # any bot, with or without a subtype
    with_event("slack/event_thread_reply.json", subtype="message_changed"),  # an edit
    with_event("slack/event_thread_reply.json", thread_ts=None),  # a top-level message: not in a thread
    with_event("slack/event_thread_reply.json", thread_ts="1503436012.000310"),  # a thread's own parent
    with_event("slack/event_thread_reply.json", type="channel_created"),  # an event type the hub does not map
    with_event("slack/event_reaction_added.json", item={"type": "file", "file": "F123ABC456"}),
    orjson.dumps({"type": "app_rate_limited", "team_id": "T123ABC456", "minute_rate_limited": 1518467820,
                  "api_app_id": "A123ABC456"}),
], ids=["own-post", "bot", "edit", "top-level", "parent", "unknown-type", "file-reaction", "app-rate-limited"])
def test_what_the_hub_ignores_is_accepted_and_changes_nothing(hub, body):
    response = post(hub, body)
    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": [], "duplicates": []}
    assert nothing_stored(hub)


def test_with_bot_user_id_only_the_hubs_own_threads_count(make_hub, httpserver):
    hub = make(make_hub, httpserver, "bot_user_id: U0LAN0Z89")
    assert post(hub, fixture_bytes("slack/event_thread_reply.json")).status_code == 202  # parent_user_id matches
    other = with_event("slack/event_thread_reply.json", parent_user_id="U999", ts="1503436999.000001")
    assert post(hub, other).json() == {"accepted": [], "duplicates": []}
    reaction = fixture_bytes("slack/event_reaction_added.json")  # to a message of U222222222, not the hub's
    assert post(hub, reaction).json() == {"accepted": [], "duplicates": []}
    own = with_event("slack/event_thread_reply.json", user="U0LAN0Z89", ts="1503437000.000001")
    assert post(hub, own).json() == {"accepted": [], "duplicates": []}
    assert len(hub.store.reads.events()) == 1


def test_a_button_click_becomes_cx_ticket_updated_on_its_message(hub, httpserver):
    response = post(hub, interaction(orjson.loads(fixture_bytes("slack/block_actions.json"))), content_type=FORM)
    assert response.status_code == 200 and response.content == b""  # Slack's acknowledgement: an empty 200
    [row] = hub.store.reads.events()
    event = orjson.loads(row.body)
    assert_valid_event(event)
    assert (event["type"], event["subject"], event["time"]) == (
        "cx.ticket.updated", "C111:111.222", "2020-08-04T08:39:45.194939Z")
    data = event["data"]
    assert data["update"] is True
    assert data["vendor_event_id"] == "block_actions:C111:111.222:take:W111:1596530385.194939"
    assert data["customer"] == {"id": "W111", "email": None, "name": "primary-owner"}
    assert data["attributes"] == {"slack_event_type": "block_actions", "action_id": "take", "value": "case-1001",
                                  "block_id": "b", "button": "I'll take it", "channel": "C111", "ts": "111.222",
                                  "user": "W111", "team_id": "T111"}
    assert "hooks.slack.com" not in row.body  # the response_url is a credential: not in the event
    hub.drain()
    assert len(httpserver.log) == 1


def test_a_resent_click_is_one_event_and_a_second_click_another(hub):
    payload = orjson.loads(fixture_bytes("slack/block_actions.json"))
    assert post(hub, interaction(payload), content_type=FORM).status_code == 200
    assert post(hub, interaction(payload), content_type=FORM).status_code == 200
    assert len(hub.store.reads.events()) == 1
    payload["actions"][0].update(action_id="resolved", value="case-1001", action_ts="1596530400.000001")
    assert post(hub, interaction(payload), content_type=FORM).status_code == 200
    assert {orjson.loads(row.body)["data"]["attributes"]["action_id"] for row in hub.store.reads.events()} == {
        "take", "resolved"}


@pytest.mark.parametrize("payload", [
    {"type": "view_submission", "user": {"id": "W111"}, "view": {"id": "V1"}},
    {"type": "shortcut", "callback_id": "x", "trigger_id": "1.2.3", "user": {"id": "W111"}},
    {**orjson.loads(fixture_bytes("slack/block_actions.json")), "container": {"type": "view", "view_id": "V1"},
     "channel": None, "message": None},
], ids=["modal", "shortcut", "button-in-a-modal"])
def test_other_interactions_get_an_empty_200_and_change_nothing(hub, payload):
    response = post(hub, interaction(payload), content_type=FORM)
    assert (response.status_code, response.content) == (200, b"")
    assert nothing_stored(hub)


def test_a_stale_timestamp_is_refused(hub):
    body = fixture_bytes("slack/event_thread_reply.json")
    response = post(hub, body, signed_headers(body, timestamp=str(int(time.time()) - 301)))
    assert response.status_code == 401 and "X-Slack-Request-Timestamp" in response.json()["error"]["message"]
    assert nothing_stored(hub)


@pytest.mark.parametrize("headers", [
    {},
    {"X-Slack-Request-Timestamp": str(int(time.time()))},
    lambda body: signed_headers(body, secret="not-the-secret"),
    lambda body: {**signed_headers(body), "X-Slack-Signature": signed_headers(body)["X-Slack-Signature"][3:]},
    lambda body: signed_headers(body + b" "),
], ids=["none", "no-signature", "wrong-secret", "no-v0-prefix", "other-body"])
def test_a_bad_or_missing_signature_is_refused(hub, headers):
    body = fixture_bytes("slack/event_thread_reply.json")
    response = post(hub, body, headers(body) if callable(headers) else headers)
    assert response.status_code == 401, response.text
    assert nothing_stored(hub)


def test_the_previous_secret_is_accepted_while_rotating(hub):
    body = fixture_bytes("slack/event_thread_reply.json")
    assert post(hub, body, signed_headers(body, secret=OLD_SECRET)).status_code == 202


@pytest.mark.parametrize("body, content_type, status", [
    (b'{"type": "block_actions"}', "application/json", 422),  # an interaction sent as JSON: not the Events API
    (b"[1, 2]", "application/json", 422),
    (b'{"type": "event_callback", "event_id": "Ev1"}', "application/json", 422),
    (b"text=hello", FORM, 422),
    (b"payload=%7Bnot-json", FORM, 400),
    (b"<xml/>", "application/xml", 415),
], ids=["json-interaction", "not-an-object", "no-event", "form-without-payload", "payload-not-json", "xml"])
def test_what_the_source_cannot_read_is_refused_never_a_500(hub, body, content_type, status):
    response = post(hub, body, content_type=content_type)
    assert response.status_code == status, response.text
    hub.drain()
    assert not hub.store.reads.events()
    assert (len(hub.store.quarantine.requests()) == 1) == (status == 422)
