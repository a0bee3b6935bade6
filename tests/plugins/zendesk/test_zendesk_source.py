"""The Zendesk source over real HTTP: samples signed as Zendesk signs them, and what it refuses."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import orjson
import pytest
import requests

import plugins.webhook as webhook
import plugins.zendesk as zendesk
from hub.testing import assert_valid_event, hmac_signature
from tests.conftest import WHSEC, fixture_bytes

SECRET = "dGhpcy1pcy1hLXNpZ25pbmctc2VjcmV0"  # shaped like Zendesk's (base64 text), used as given
OLD_SECRET = "b2xkLXNpZ25pbmctc2VjcmV0"
CONFIG = """
sources:
  zendesk:
    plugin: zendesk
    settings:
      secret: {$env: ZD_SECRET}
      previous_secret: {$env: ZD_OLD}
      subdomain: example
connections:
  out:
    plugin: webhook
    settings: {url: "%s", secret: {$env: OUT_SECRET}}
routes:
  - name: solved
    when: {field: data.attributes.status, equals: solved}
    actions:
      - {connection: out, action: forward}
"""


@pytest.fixture
def hub(make_hub, httpserver):
    hub = make_hub(CONFIG % httpserver.url_for("/out"), plugins=[zendesk, webhook],
                   env={"ZD_SECRET": SECRET, "ZD_OLD": OLD_SECRET, "OUT_SECRET": WHSEC})
    hub.base_url = hub.serve()
    return hub


def iso_now(offset: float = 0) -> str:
    return datetime.fromtimestamp(time.time() + offset, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def signed_headers(body: bytes, *, secret: str = SECRET, timestamp: str | None = None) -> dict[str, str]:
    """The headers Zendesk sends: base64(HMAC-SHA256(secret, timestamp + body)), the timestamp in ISO 8601."""
    timestamp = timestamp or iso_now()
    return {"X-Zendesk-Webhook-Signature": hmac_signature(secret, timestamp.encode() + body, encoding="base64"),
            "X-Zendesk-Webhook-Signature-Timestamp": timestamp}


def post(hub, body: bytes, headers: dict[str, str] | None = None) -> requests.Response:
    headers = signed_headers(body) if headers is None else headers
    return requests.post(f"{hub.base_url}/hooks/zendesk", data=body, timeout=10,
                         headers={"Content-Type": "application/json", "User-Agent": "Zendesk Webhook", **headers})


def event_of(hub, response: requests.Response) -> dict:
    assert response.status_code == 202, response.text
    [event_id] = response.json()["accepted"]
    event = orjson.loads(hub.store.reads.event(event_id).body)
    assert_valid_event(event)
    return event


def test_a_captured_ticket_created_delivery_becomes_cx_ticket_created(hub):
    event = event_of(hub, post(hub, fixture_bytes("zendesk/ticket_created.json")))
    assert (event["type"], event["time"], event["subject"]) == ("cx.ticket.created", "2024-04-17T17:18:10Z", "35436")
    data = event["data"]
    assert data["vendor_event_id"] == "01HNXXXX-CTEXAMPLE"
    assert data["link"] == {"system": "zendesk", "id": "35436", "type": "ticket",
                            "url": "https://example.zendesk.com/agent/tickets/35436"}
    assert data["customer"] == {"id": None, "email": None, "name": None}  # this capture has no requester_id
    assert data["text"] is None
    assert data["attributes"] == {"zendesk_event_type": "zen:event-type:ticket.created", "change": "created",
                                  "status": "open", "via_channel": "web", "account_id": "88888888"}


def test_a_solved_ticket_is_an_update_with_its_previous_status_and_routes(hub, httpserver):
    httpserver.expect_request("/out", method="POST").respond_with_data("", status=204)
    event = event_of(hub, post(hub, fixture_bytes("zendesk/ticket_status_changed.json")))
    assert (event["type"], event["time"], event["subject"]) == (
        "cx.ticket.updated", "2025-01-08T16:45:20.987654Z", "5158")
    data = event["data"]
    assert data["customer"] == {"id": "8447388090494", "email": None, "name": None}
    assert data["attributes"] == {
        "zendesk_event_type": "zen:event-type:ticket.status_changed", "change": "status",
        "status": "solved", "previous_status": "open", "priority": "high", "ticket_type": "problem",
        "subject": "Cannot login to mobile app", "via_channel": "web_service", "tags": "mobile,login,priority-support",
        "assignee_id": "8447388090494", "account_id": "22129848"}
    hub.drain()
    [(request, _)] = httpserver.log
    assert orjson.loads(request.data)["id"] == event["id"]


def test_a_comment_is_an_update_whose_text_is_the_comment(hub):
    event = event_of(hub, post(hub, fixture_bytes("zendesk/ticket_comment_added.json")))
    data = event["data"]
    assert event["type"] == "cx.ticket.updated"
    assert data["text"] == "We are investigating this issue and will update you shortly."
    assert data["customer"] == {"id": "8447388090494", "email": None, "name": None}  # an agent wrote it
    assert {key: data["attributes"][key] for key in ("change", "status", "comment_id", "comment_public",
                                                     "comment_author_id")} == {
        "change": "comment", "status": "open", "comment_id": "9876543210", "comment_public": "true",
        "comment_author_id": "8447388090495"}


def test_a_comment_by_the_requester_names_the_customer(hub):
    payload = orjson.loads(fixture_bytes("zendesk/ticket_comment_added.json"))
    payload["event"]["comment"]["author"] = {"id": "8447388090494", "is_staff": False, "name": "Ann Lee"}
    assert event_of(hub, post(hub, orjson.dumps(payload)))["data"]["customer"] == {
        "id": "8447388090494", "email": None, "name": "Ann Lee"}


def test_a_resent_event_is_stored_and_routed_once(hub, httpserver):
    httpserver.expect_request("/out", method="POST").respond_with_data("", status=204)
    body = fixture_bytes("zendesk/ticket_status_changed.json")
    first = post(hub, body)
    again = post(hub, body, signed_headers(body, timestamp=iso_now(-5)))  # Zendesk's retry: signed anew
    assert first.status_code == 202 and again.status_code == 200
    assert again.json() == {"accepted": [], "duplicates": first.json()["accepted"]}
    hub.drain()
    assert len(hub.store.reads.events()) == 1 and len(hub.store.reads.deliveries()) == 1
    assert len(httpserver.log) == 1


def test_the_previous_secret_is_accepted_while_rotating(hub):
    body = fixture_bytes("zendesk/ticket_created.json")
    assert post(hub, body, signed_headers(body, secret=OLD_SECRET)).status_code == 202


@pytest.mark.parametrize("timestamp", [
    lambda: str(int(time.time())),  # Unix seconds
    lambda: iso_now().rstrip("Z"),  # ISO 8601 without a zone: UTC
    lambda: datetime.now(timezone.utc).isoformat(),  # with an offset and microseconds
])
def test_other_timestamp_forms_are_read_too(hub, timestamp):
    body = fixture_bytes("zendesk/ticket_created.json")
    assert post(hub, body, signed_headers(body, timestamp=timestamp())).status_code == 202


def _bad_headers(body: bytes) -> list[tuple[str, dict[str, str], str]]:
    good = signed_headers(body)
    stamp = good["X-Zendesk-Webhook-Signature-Timestamp"]
    return [
        ("missing signature", {"X-Zendesk-Webhook-Signature-Timestamp": stamp},
         "the X-Zendesk-Webhook-Signature header is missing"),
        ("missing timestamp", {"X-Zendesk-Webhook-Signature": good["X-Zendesk-Webhook-Signature"]},
         "the X-Zendesk-Webhook-Signature-Timestamp header is missing"),
        ("other secret", signed_headers(body, secret="not-the-secret"), "does not match the body"),
        ("body only, no timestamp signed", {**good, "X-Zendesk-Webhook-Signature":
                                            hmac_signature(SECRET, body, encoding="base64")}, "does not match"),
        ("hex instead of base64", {**good, "X-Zendesk-Webhook-Signature":
                                   hmac_signature(SECRET, stamp.encode() + body)}, "does not match"),
        ("secret decoded from base64", signed_headers(body, secret="this-is-a-signing-secret"), "does not match"),
        ("timestamp changed after signing", {**good, "X-Zendesk-Webhook-Signature-Timestamp": iso_now(-1)
                                             if iso_now(-1) != stamp else iso_now(-2)}, "does not match"),
        ("stale timestamp", signed_headers(body, timestamp=iso_now(-301)), "away from now (tolerance 300s)"),
        ("future timestamp", signed_headers(body, timestamp=iso_now(400)), "away from now (tolerance 300s)"),
        ("garbage timestamp", signed_headers(body, timestamp="yesterday"), "is not an ISO 8601 timestamp"),
    ]


@pytest.mark.parametrize("case", range(10))
def test_bad_signatures_and_stale_timestamps_get_401_and_store_nothing(hub, case):
    body = fixture_bytes("zendesk/ticket_status_changed.json")
    cases = _bad_headers(body)
    assert len(cases) == 10
    name, headers, message = cases[case]
    response = post(hub, body, headers)
    assert response.status_code == 401, name
    assert message in response.json()["error"]["message"], name
    assert hub.store.reads.events() == [] and hub.store.quarantine.requests() == []


def test_an_event_type_it_does_not_map_is_answered_200_and_ignored(hub):
    response = post(hub, fixture_bytes("zendesk/user_active_changed.json"))
    assert response.status_code == 200, response.text
    assert hub.store.reads.events() == [] and hub.store.quarantine.requests() == []


def test_a_trigger_payload_is_quarantined_with_a_pointer_to_the_webhook_source(hub):
    body = orjson.dumps({"ticket_id": "35436", "status": "Solved", "requester_email": "ann@example.com"})
    response = post(hub, body)
    assert response.status_code == 422
    assert "use the webhook source" in response.json()["error"]["message"]
    assert len(hub.store.quarantine.requests()) == 1 and hub.store.reads.events() == []


@pytest.mark.parametrize("change, message", [
    (lambda p: p.pop("id"), "no 'id'"),
    (lambda p: p.update(time="soon"), "is not an ISO 8601"),
    (lambda p: p.update(detail="5158"), "detail must be an object"),
    (lambda p: (p["detail"].update(id="../../users/1"), p.update(subject="zen:ticket:x")), "expected a ticket id"),
])
def test_a_ticket_event_without_what_it_needs_is_quarantined(hub, change, message):
    payload = orjson.loads(fixture_bytes("zendesk/ticket_status_changed.json"))
    change(payload)
    response = post(hub, orjson.dumps(payload))
    assert response.status_code == 422 and message in response.json()["error"]["message"]
    assert hub.store.reads.events() == []


def test_the_ticket_id_can_come_from_the_subject(hub):
    payload = orjson.loads(fixture_bytes("zendesk/ticket_status_changed.json"))
    del payload["detail"]["id"]
    assert event_of(hub, post(hub, orjson.dumps(payload)))["subject"] == "5158"
