"""The Zendesk source with API credentials: ticket events answered at once, then the requester's
email and name fetched from a stand-in of the Users API (path, basic auth as Zendesk documents)."""

from __future__ import annotations

import base64

import orjson
import pytest
import requests

import plugins.webhook as webhook
import plugins.zendesk as zendesk
from tests.conftest import WHSEC, fixture_bytes
from tests.plugins.zendesk.test_zendesk_source import SECRET, signed_headers

EMAIL, TOKEN = "agent@example.com", "zd-api-token"
BASIC = "Basic " + base64.b64encode(f"{EMAIL}/token:{TOKEN}".encode()).decode()
SOLVED = fixture_bytes("zendesk/ticket_status_changed.json")  # requester_id 8447388090494
USER_PATH = "/api/v2/users/8447388090494.json"
USER = orjson.loads(fixture_bytes("zendesk/show_user_response.json"))
CONFIG = """
sources:
  zendesk:
    plugin: zendesk
    settings:
      secret: {$env: ZD_SECRET}
      base_url: "%(api)s"
      email: %(email)s
      api_token: {$env: ZD_TOKEN}
    api_retry: {max_attempts: 2, initial_delay: 0, max_delay: 0}
connections:
  out:
    plugin: webhook
    settings: {url: "%(out)s", secret: {$env: OUT_SECRET}}
routes:
  - name: solved
    when: {field: data.attributes.status, equals: solved}
    actions:
      - {connection: out, action: forward, params: {}}
"""


@pytest.fixture
def hub(make_hub, httpserver):
    httpserver.expect_request("/out", method="POST").respond_with_data("")
    hub = make_hub(CONFIG % {"api": httpserver.url_for("/").rstrip("/"), "email": EMAIL, "out": httpserver.url_for("/out")},
                   plugins=[zendesk, webhook], env={"ZD_SECRET": SECRET, "ZD_TOKEN": TOKEN, "OUT_SECRET": WHSEC})
    hub.base_url = hub.serve()
    return hub


def post(hub, body: bytes = SOLVED) -> requests.Response:
    return requests.post(f"{hub.base_url}/hooks/zendesk", data=body, timeout=10,
                         headers={"Content-Type": "application/json", **signed_headers(body)})


def users_api(httpserver, *, status: int = 200, document=None) -> None:
    user = {"user": {**USER["user"], "id": 8447388090494, "name": "Ann Lee", "email": "ann@example.com",
                     "role": "end-user"}}
    httpserver.expect_request(USER_PATH, method="GET", headers={"Authorization": BASIC, "Accept": "application/json"}
                              ).respond_with_json(document if document is not None else user, status=status)


def the_event(hub) -> dict:
    [row] = hub.store.reads.events()
    return orjson.loads(row.body)


def api_calls(httpserver) -> list[str]:
    return [request.path for request, _ in httpserver.log if request.path.startswith("/api/")]


def test_the_webhook_is_answered_before_the_users_api_is_asked(hub, httpserver):
    assert post(hub).status_code == 202
    assert api_calls(httpserver) == []
    assert hub.store.reads.deliveries() == []  # not routed until the requester is known
    assert the_event(hub)["data"]["customer"] == {"id": "8447388090494", "email": None, "name": None}


def test_the_requester_email_and_name_come_from_the_users_api_then_the_event_is_routed(hub, httpserver):
    users_api(httpserver)
    post(hub)
    hub.drain()
    event = the_event(hub)
    assert event["data"]["customer"] == {"id": "8447388090494", "email": "ann@example.com", "name": "Ann Lee"}
    assert event["data"]["attributes"]["status"] == "solved"
    assert api_calls(httpserver) == [USER_PATH]
    assert hub.store.enrichments.get(event["id"]).status == "done"
    [delivery] = hub.store.reads.deliveries()
    assert delivery.status == "succeeded"
    forwarded = [orjson.loads(request.data) for request, _ in httpserver.log if request.path == "/out"]
    assert forwarded[0]["data"]["customer"]["email"] == "ann@example.com"


def test_a_deleted_requester_leaves_the_event_as_it_came(hub, httpserver):
    users_api(httpserver, status=404, document={"error": "RecordNotFound", "description": "Not found"})
    post(hub)
    hub.drain()
    event = the_event(hub)
    assert event["data"]["customer"] == {"id": "8447388090494", "email": None, "name": None}
    assert hub.store.enrichments.get(event["id"]).status == "done"
    assert [delivery.status for delivery in hub.store.reads.deliveries()] == ["succeeded"]


def test_refused_credentials_fail_the_enrichment_and_say_so_without_the_token(hub, httpserver):
    users_api(httpserver, status=401, document={"error": "Couldn't authenticate you"})
    post(hub)
    hub.drain()
    row = hub.store.enrichments.get(the_event(hub)["id"])
    assert row.status == "failed"
    assert "refused the source's API credentials (401)" in row.last_error and TOKEN not in row.last_error
    assert hub.store.reads.deliveries() == []


def test_a_5xx_is_retried(hub, httpserver):
    httpserver.expect_ordered_request(USER_PATH, method="GET").respond_with_data("down", status=503)
    users_api(httpserver)
    post(hub)
    hub.drain()
    assert the_event(hub)["data"]["customer"]["email"] == "ann@example.com"
    assert api_calls(httpserver) == [USER_PATH, USER_PATH]


def test_without_credentials_events_are_not_enriched(make_hub, httpserver):
    config = CONFIG.replace('      base_url: "%(api)s"\n      email: %(email)s\n      api_token: {$env: ZD_TOKEN}\n', "")
    hub = make_hub(config % {"out": httpserver.url_for("/out")}, plugins=[zendesk, webhook],
                   env={"ZD_SECRET": SECRET, "OUT_SECRET": WHSEC})
    httpserver.expect_request("/out", method="POST").respond_with_data("")
    response = hub.post("zendesk", SOLVED, {"Content-Type": "application/json", **signed_headers(SOLVED)})
    assert response.status_code == 202
    assert hub.store.enrichments.get(the_event(hub)["id"]) is None
    assert len(hub.store.reads.deliveries()) == 1  # routed at once, with the requester id only


@pytest.mark.parametrize(("settings", "message"), [
    ("email: a@example.com", "needs both email and api_token"),
    ("api_token: {$env: ZD_TOKEN}", "needs both email and api_token"),
])
def test_half_credentials_are_a_config_error(make_hub, settings, message):
    config = f"""
sources:
  zendesk:
    plugin: zendesk
    settings: {{secret: {{$env: ZD_SECRET}}, subdomain: example, {settings}}}
"""
    with pytest.raises(Exception, match=message):
        make_hub(config, plugins=[zendesk], env={"ZD_SECRET": SECRET, "ZD_TOKEN": TOKEN})
