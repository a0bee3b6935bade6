"""Delighted's samples POSTed over real HTTP, signed as Delighted signs, to a hub with worker threads.

A response and its update: two stored events about one response. The ticket route runs once
(for the first event); the stream route asks for updates and runs for both; resends route nothing.
"""

from __future__ import annotations

import orjson
import pytest
import requests
from standardwebhooks import Webhook

from hub.testing import hmac_signature, wait_for
from tests.conftest import WHSEC, fixture_bytes

API_KEY = "delighted-api-key"
CONFIG = """
sources:
  delighted:
    plugin: delighted
    settings: {secret: {$env: DELIGHTED_API_KEY}}
connections:
  tickets:
    plugin: webhook
    settings: {url: {$env: TICKETS_URL}, secret: {$env: OUT_SECRET}}
  stream:
    plugin: webhook
    settings: {url: {$env: STREAM_URL}, secret: {$env: OUT_SECRET}}
routes:
  - name: open-ticket
    when: {field: type, equals: cx.survey.response}
    actions: [{connection: tickets, action: forward}]
  - name: feedback-stream
    when: {field: type, equals: cx.survey.response}
    run_on_updates: true
    actions: [{connection: stream, action: forward}]
"""
CREATED = fixture_bytes("delighted/survey_response_created.json")
UPDATED = fixture_bytes("delighted/survey_response_updated.json")


@pytest.fixture
def running_hub(make_hub, httpserver):
    env = {"DELIGHTED_API_KEY": API_KEY, "OUT_SECRET": WHSEC,
           "TICKETS_URL": httpserver.url_for("/tickets"), "STREAM_URL": httpserver.url_for("/stream")}
    hub = make_hub(CONFIG, discover=True, env=env)  # the plugin found through its entry point
    httpserver.expect_request("/tickets", method="POST").respond_with_data("", status=204)
    httpserver.expect_request("/stream", method="POST").respond_with_data("", status=204)
    base_url = hub.serve()
    hub.start_workers()
    return hub, base_url


def post(base_url: str, body: bytes) -> requests.Response:
    signature = "sha256=" + hmac_signature(API_KEY, body, encoding="hex")
    return requests.post(f"{base_url}/hooks/delighted", data=body, timeout=10,
                         headers={"X-Delighted-Webhook-Signature": signature, "Content-Type": "application/json"})


def received(httpserver, path: str) -> list[dict]:
    return [Webhook(WHSEC).verify(request.get_data(), dict(request.headers))
            for request, _ in httpserver.log if request.path == path]


def succeeded(hub) -> list[tuple[str, str]]:
    return sorted((d.route, d.event_id) for d in hub.store.reads.deliveries() if d.status == "succeeded")


def test_a_response_and_its_update_open_one_ticket_and_stream_both(running_hub, httpserver):
    hub, base_url = running_hub
    created = post(base_url, CREATED)
    assert created.status_code == 202, created.text
    [first] = created.json()["accepted"]
    wait_for(lambda: len(succeeded(hub)) == 2, what="the created event's two deliveries")
    updated = post(base_url, UPDATED)
    assert updated.status_code == 202, updated.text
    [second] = updated.json()["accepted"]
    wait_for(lambda: len(succeeded(hub)) == 3, what="the update's stream delivery")

    assert succeeded(hub) == sorted([("open-ticket", first), ("feedback-stream", first), ("feedback-stream", second)])
    [ticket] = received(httpserver, "/tickets")
    assert (ticket["id"], ticket["data"]["update"], ticket["data"]["text"]) == (first, False, None)
    stream = received(httpserver, "/stream")
    assert [(event["id"], event["data"]["update"]) for event in stream] == [(first, False), (second, True)]
    assert stream[1]["data"]["text"] == "Your service is fast and flawless!"
    assert [orjson.loads(hub.store.reads.event(i).body)["subject"] for i in (first, second)] == ["5435", "5435"]

    for body in (CREATED, UPDATED):  # Delighted resends both: nothing is stored or routed twice
        again = post(base_url, body)
        assert again.status_code == 200 and again.json()["accepted"] == []
    assert len(hub.store.reads.events()) == 2 and len(hub.store.reads.deliveries()) == 3
    assert len(httpserver.log) == 3


def test_a_bad_signature_over_real_http_is_401_and_changes_nothing(running_hub):
    hub, base_url = running_hub
    response = requests.post(f"{base_url}/hooks/delighted", data=UPDATED, timeout=10, headers={
        "X-Delighted-Webhook-Signature": "sha256=" + "0" * 64, "Content-Type": "application/json"})
    assert response.status_code == 401
    assert response.json() == {"error": {"code": "invalid_signature", "message":
                                         "the X-Delighted-Webhook-Signature signature does not match the body"}}
    assert hub.store.reads.events() == []
