"""The Intercom source over real HTTP: captured notifications signed as Intercom signs them, and what it refuses."""

from __future__ import annotations

import time

import orjson
import pytest
import requests

import plugins.intercom as intercom
import plugins.webhook as webhook
from hub.testing import assert_valid_event, hmac_signature
from tests.conftest import WHSEC, fixture_bytes

SECRET = "3f5a8c1e9b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a"  # shaped like an app's client secret
OLD_SECRET = "0c2e4b6d8f0a3f5a8c1e9b2d4f6a8c0e2b4d6f8a"
CONFIG = """
sources:
  intercom:
    plugin: intercom
    settings:
      secret: {$env: IC_SECRET}
      previous_secret: {$env: IC_OLD}
      max_age_seconds: %s
connections:
  out:
    plugin: webhook
    settings: {url: "%s", secret: {$env: OUT_SECRET}}
routes:
  - name: everything
    actions:
      - {connection: out, action: forward}
"""
TOPIC_FIXTURES = {
    "zulip_conversation_user_created.json": "cx.conversation.created",
    "zulip_conversation_user_replied.json": "cx.message.received",
    "zulip_conversation_admin_replied.json": "cx.message.received",
    "zulip_conversation_admin_closed.json": "cx.ticket.updated",
}


def make(make_hub, httpserver, max_age: str = "null"):
    hub = make_hub(CONFIG % (max_age, httpserver.url_for("/out")), plugins=[intercom, webhook],
                   env={"IC_SECRET": SECRET, "IC_OLD": OLD_SECRET, "OUT_SECRET": WHSEC})
    hub.base_url = hub.serve()
    return hub


@pytest.fixture
def hub(make_hub, httpserver):
    """Captured samples are from 2019: the age check is off here, and tested on its own below."""
    return make(make_hub, httpserver)


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    """The header Intercom sends: `sha1=` + hex HMAC-SHA1 of the raw body, keyed with the client secret."""
    return {"X-Hub-Signature": "sha1=" + hmac_signature(secret, body, encoding="hex", algorithm="sha1")}


def post(hub, body: bytes, headers: dict[str, str] | None = None) -> requests.Response:
    headers = signed(body) if headers is None else headers
    return requests.post(f"{hub.base_url}/hooks/intercom", data=body, timeout=10,
                         headers={"Content-Type": "application/json",
                                  "User-Agent": "intercom-parrot-service-client/1.0", **headers})


def event_of(hub, response: requests.Response) -> dict:
    assert response.status_code == 202, response.text
    [event_id] = response.json()["accepted"]
    event = orjson.loads(hub.store.reads.event(event_id).body)
    assert_valid_event(event)
    return event


def fresh(name: str, **changes) -> bytes:
    """A sample as Intercom would send it now (created_at is signed, so the age check reads it)."""
    payload = orjson.loads(fixture_bytes(f"intercom/{name}"))
    return orjson.dumps({**payload, "created_at": int(time.time()), **changes})


@pytest.mark.parametrize("name", sorted(TOPIC_FIXTURES))
def test_each_topic_becomes_its_event_type(hub, name):
    event = event_of(hub, post(hub, fixture_bytes(f"intercom/{name}")))
    assert event["type"] == TOPIC_FIXTURES[name]
    payload = orjson.loads(fixture_bytes(f"intercom/{name}"))
    assert event["data"]["vendor_event_id"] == payload["id"]
    assert event["data"]["attributes"]["intercom_topic"] == payload["topic"]
    assert event["data"]["attributes"]["conversation_id"] == payload["data"]["item"]["id"]


def test_a_new_conversation_has_its_opening_message_as_plain_text_and_an_empty_email_as_none(hub):
    event = event_of(hub, post(hub, fixture_bytes("intercom/zulip_conversation_user_created.json")))
    data = event["data"]
    assert (event["subject"], event["time"]) == ("21321941764", "2019-03-22T21:29:58Z")
    assert data["text"] == "Hello everyone!"  # the body was "<p>Hello everyone!</p>"
    assert data["customer"] == {"id": "5c9553cb27e377f24eed49f7", "email": None,  # sent as ""
                                "name": "Rose Poodle from St. John's"}
    assert data["link"] == {"system": "intercom", "id": "21321941764", "type": "conversation",
                            "url": "https://app.intercom.io/a/apps/i6wc9ipe/conversations/21321941764"}
    assert data["attributes"] == {"intercom_topic": "conversation.user.created", "conversation_id": "21321941764",
                                  "app_id": "i6wc9ipe", "state": "open", "author_type": "user",
                                  "author_id": "5c9553cb27e377f24eed49f7"}


def test_an_api_2_conversation_reads_contacts_and_source(hub):
    event = event_of(hub, post(hub, fixture_bytes("intercom/conversation_user_created_v2.json")))
    data = event["data"]
    assert data["text"] == ("Hi, my order #1042 arrived damaged & the box was open.\n\n"
                            "Can you send a new one?\nThanks <3")
    assert data["customer"] == {"id": "5bc8f7ae2d96695c18a", "email": None, "name": "Hoban Washburne"}
    assert data["link"]["url"] is None  # no conversation_web link: cxhub does not guess the inbox URL


def test_a_users_reply_is_a_message_about_its_part_with_the_customer(hub):
    event = event_of(hub, post(hub, fixture_bytes("intercom/zulip_conversation_user_replied.json")))
    data = event["data"]
    assert data["text"] == "Well, I need some help getting access to a developer account."
    assert data["customer"] == {"id": "5c9553cb27e377f24eed49f7", "email": "jerryguitarist@gmail.com",
                                "name": "Eeshan Garg"}
    assert data["link"]["id"] == "2824391734" and data["link"]["type"] == "conversation_part"
    assert event["time"] == "2019-03-22T21:48:27Z"  # the part's created_at
    assert (data["attributes"]["author_type"], data["attributes"]["part_type"]) == ("user", "comment")


def test_an_admins_reply_keeps_the_contact_as_customer_and_names_the_admin(hub):
    data = event_of(hub, post(hub, fixture_bytes("intercom/zulip_conversation_admin_replied.json")))["data"]
    assert data["text"] == "Hey Eeshan! How can I help?"
    assert data["customer"]["id"] == "5c9553cb27e377f24eed49f7"
    assert (data["attributes"]["author_type"], data["attributes"]["author_id"]) == ("admin", "1957471")


def test_two_replies_in_one_conversation_are_two_messages_not_an_update(hub, httpserver):
    httpserver.expect_request("/out").respond_with_data("ok")
    first = event_of(hub, post(hub, fixture_bytes("intercom/zulip_conversation_admin_replied.json")))
    second = event_of(hub, post(hub, fixture_bytes("intercom/zulip_conversation_user_replied.json")))
    assert (first["data"]["update"], second["data"]["update"]) == (False, False)
    hub.drain()
    assert [d.status for d in hub.store.reads.deliveries()] == ["succeeded", "succeeded"]


def test_a_close_is_a_ticket_update_with_the_state(hub):
    data = event_of(hub, post(hub, fixture_bytes("intercom/zulip_conversation_admin_closed.json")))["data"]
    assert data["text"] is None and data["link"]["id"] == "21322009097"
    assert (data["attributes"]["state"], data["attributes"]["part_type"]) == ("closed", "close")


def test_a_ping_is_answered_200_and_stores_nothing(hub):
    response = post(hub, fixture_bytes("intercom/zulip_ping.json"))
    assert (response.status_code, response.text) == (200, "pong")
    assert hub.store.reads.events() == [] and hub.store.quarantine.requests() == []


def test_a_resent_notification_routes_nothing_twice(hub, httpserver):
    httpserver.expect_request("/out").respond_with_data("ok")
    body = fixture_bytes("intercom/zulip_conversation_user_replied.json")
    first = post(hub, body)
    again = orjson.dumps({**orjson.loads(body), "delivery_attempts": 2})  # Intercom's retry: same id, re-signed
    second = post(hub, again)
    assert first.status_code == 202 and second.status_code == 200
    assert second.json() == {"accepted": [], "duplicates": first.json()["accepted"]}
    hub.drain()
    assert len(hub.store.reads.events()) == 1 and len(httpserver.log) == 1


def test_the_previous_secret_is_accepted_while_rotating(hub):
    body = fixture_bytes("intercom/zulip_conversation_user_created.json")
    assert post(hub, body, signed(body, OLD_SECRET)).status_code == 202


@pytest.mark.parametrize("headers", [{}, {"X-Hub-Signature": "sha1=" + "0" * 40},
                                     {"X-Hub-Signature": "sha256=" + "0" * 64}, "wrong secret", "sha256"])
def test_a_bad_or_missing_signature_is_401_and_stores_nothing(hub, headers):
    body = fixture_bytes("intercom/zulip_conversation_user_created.json")
    if headers == "wrong secret":
        headers = signed(body, "not-the-client-secret")
    elif headers == "sha256":
        headers = {"X-Hub-Signature": "sha1=" + hmac_signature(SECRET, body, encoding="hex")}
    response = post(hub, body, headers)
    assert response.status_code == 401, response.text
    assert hub.store.reads.events() == [] and hub.store.quarantine.requests() == []


def test_a_body_changed_after_signing_is_401(hub):
    body = fixture_bytes("intercom/zulip_conversation_user_created.json")
    assert post(hub, body.replace(b"Hello everyone!", b"Hello attacker!"), signed(body)).status_code == 401


def test_a_stale_notification_is_401_and_a_fresh_one_accepted(make_hub, httpserver):
    hub = make(make_hub, httpserver, max_age="3600")
    stale = post(hub, fixture_bytes("intercom/zulip_conversation_user_created.json"))  # created in 2019
    assert stale.status_code == 401 and "max_age_seconds" in stale.text
    assert post(hub, fresh("zulip_conversation_user_created.json", created_at="yesterday")).status_code == 401
    assert post(hub, fresh("zulip_conversation_user_created.json")).status_code == 202
    assert len(hub.store.reads.events()) == 1


def test_the_age_check_is_on_by_default(make_hub, httpserver):
    hub = make_hub(CONFIG.replace("      max_age_seconds: %s\n", "") % httpserver.url_for("/out"),
                   plugins=[intercom, webhook], env={"IC_SECRET": SECRET, "IC_OLD": OLD_SECRET, "OUT_SECRET": WHSEC})
    assert hub.post("intercom", fixture_bytes("intercom/zulip_ping.json"),
                    signed(fixture_bytes("intercom/zulip_ping.json"))).status_code == 401


def test_an_unknown_topic_is_accepted_and_ignored(hub):
    body = fixture_bytes("intercom/zulip_conversation_user_created.json").replace(
        b'"conversation.user.created"', b'"contact.user.tag.created"')
    response = post(hub, body)
    assert response.status_code == 200, response.text
    assert hub.store.reads.events() == [] and hub.store.quarantine.requests() == []


@pytest.mark.parametrize("payload", [
    {"type": "something_else", "topic": "conversation.user.created"},
    {"type": "notification_event", "topic": "conversation.user.created", "id": "notif_1", "data": {"item": []}},
    {"type": "notification_event", "topic": "conversation.user.created", "id": "notif_1",
     "data": {"item": {"type": "conversation"}}},
    [1, 2],
])
def test_what_is_not_a_conversation_notification_is_422_and_kept_in_quarantine(hub, payload):
    body = orjson.dumps(payload)
    response = post(hub, body)
    assert response.status_code == 422, response.text
    assert hub.store.reads.events() == [] and len(hub.store.quarantine.requests()) == 1


def test_a_body_that_is_not_json_is_400_never_500(hub):
    response = post(hub, b"{not json")
    assert response.status_code == 400


def test_a_signed_body_of_another_content_type_is_415(make_hub, httpserver):
    hub = make(make_hub, httpserver, max_age="3600")  # the age check reads the body: it must say why it cannot
    body = fresh("zulip_conversation_user_created.json")
    response = requests.post(f"{hub.base_url}/hooks/intercom", data=body, timeout=10,
                             headers={"Content-Type": "text/plain", **signed(body)})
    assert response.status_code == 415 and hub.store.reads.events() == []
