"""The HubSpot actions, end to end: a signed event in, a real RQ job, real HTTP out to a stand-in of
the CRM v3 objects API that checks each request as HubSpot documents it (paths, bearer token, bodies)."""

from __future__ import annotations

import orjson
import pytest

import plugins.hubspot as hubspot
import plugins.webhook as webhook
from hub.config import ConfigError, parse_config
from hub.operations import connection_states
from hub.plugin import AuthFailed, HttpClient, RateLimit, Secret
from hub.pluginhost import PluginHost, build_plugin_manager
from tests.conftest import APP_SOURCE, WHSEC, detractor, fixture_bytes, send

TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
CONTACT = orjson.loads(fixture_bytes("hubspot/contact.json"))
SEARCH = orjson.loads(fixture_bytes("hubspot/contact_search.json"))
NOTE = orjson.loads(fixture_bytes("hubspot/note_created.json"))
TICKET = orjson.loads(fixture_bytes("hubspot/ticket_created.json"))
CONTACTS = "/crm/v3/objects/contacts"
SEARCH_PATH = "/crm/v3/objects/contacts/search"
CONTACT_PATH = "/crm/v3/objects/contacts/1246978"
SEARCH_BODY = {"filterGroups": [{"filters": [{"propertyName": "email", "operator": "EQ", "value": "ann@example.com"}]}],
               "properties": ["email"], "limit": 1}
CONNECTION = """
connections:
  hubspot:
    plugin: hubspot
    settings: {api_url: "%s"%s}
    retry: {max_attempts: 3, initial_delay: 0, max_delay: 0}
    circuit_breaker: {failure_threshold: 0}
"""
WITH_TOKEN = ", access_token: {$env: HUBSPOT_TOKEN}"
UPDATE = """
routes:
  - name: nps
    actions:
      - connection: hubspot
        action: update_contact
        params:
          %s
          properties:
            last_nps_score: "{{ data.score.value }}"
            last_nps_band: "{{ data.score.band }}"
            last_feedback_date: "{{ event.time[:10] }}"
"""


def make(make_hub, httpserver, routes: str, *, token: bool = True):
    connection = CONNECTION % (httpserver.url_for("/").rstrip("/"), WITH_TOKEN if token else "")
    return make_hub(APP_SOURCE + connection + routes, plugins=[webhook, hubspot],
                    env={"APP_SECRET": WHSEC, "HUBSPOT_TOKEN": TOKEN})


def calls(httpserver) -> list[tuple[str, str]]:
    return [(request.method, request.path) for request, _ in httpserver.log]


def body_of(httpserver, method: str, path: str) -> dict:
    [request] = [request for request, _ in httpserver.log if (request.method, request.path) == (method, path)]
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Content-Type"] == "application/json"
    return request.get_json()


def the_event(hub) -> dict:
    [row] = hub.store.reads.events()
    return orjson.loads(row.body)


def only_delivery(hub):
    [delivery] = hub.store.reads.deliveries()
    return delivery


def expected_properties(hub) -> dict:
    return {"last_nps_score": "2", "last_nps_band": "negative", "last_feedback_date": the_event(hub)["time"][:10]}


def test_update_contact_finds_the_contact_by_email_then_patches_it(make_hub, httpserver):
    hub = make(make_hub, httpserver, UPDATE % "create: false")
    httpserver.expect_request(SEARCH_PATH, method="POST", headers=BEARER).respond_with_json(SEARCH)
    httpserver.expect_request(CONTACT_PATH, method="PATCH", headers=BEARER).respond_with_json(CONTACT)
    send(hub, detractor())
    hub.drain()
    assert calls(httpserver) == [("POST", SEARCH_PATH), ("PATCH", CONTACT_PATH)]
    assert body_of(httpserver, "POST", SEARCH_PATH) == SEARCH_BODY
    assert body_of(httpserver, "PATCH", CONTACT_PATH) == {"properties": expected_properties(hub)}
    delivery = only_delivery(hub)
    assert delivery.status == "succeeded"
    assert orjson.loads(delivery.result) == {"external_id": "1246978", "url": None, "detail": {"created": "false"}}


def test_update_contact_by_id_patches_without_a_search(make_hub, httpserver):
    hub = make(make_hub, httpserver, UPDATE % 'contact_id: "1246978"')
    httpserver.expect_request(CONTACT_PATH, method="PATCH", headers=BEARER).respond_with_json(CONTACT)
    send(hub, detractor())
    hub.drain()
    assert calls(httpserver) == [("PATCH", CONTACT_PATH)]
    assert only_delivery(hub).status == "succeeded"


def test_no_contact_with_the_email_dead_letters_unless_create_is_set(make_hub, httpserver):
    hub = make(make_hub, httpserver, UPDATE % "create: false")
    httpserver.expect_request(SEARCH_PATH, method="POST").respond_with_json({"total": 0, "results": []})
    send(hub, detractor())
    hub.drain()
    delivery = only_delivery(hub)
    assert delivery.status == "dead" and "set create: true" in delivery.last_error
    assert calls(httpserver) == [("POST", SEARCH_PATH)]


def test_create_makes_the_contact_with_its_email_and_the_properties(make_hub, httpserver):
    hub = make(make_hub, httpserver, UPDATE % "create: true")
    httpserver.expect_request(SEARCH_PATH, method="POST").respond_with_json({"total": 0, "results": []})
    httpserver.expect_request(CONTACTS, method="POST", headers=BEARER).respond_with_json(CONTACT, status=201)
    send(hub, detractor())
    hub.drain()
    assert calls(httpserver) == [("POST", SEARCH_PATH), ("POST", CONTACTS)]
    assert body_of(httpserver, "POST", CONTACTS) == {"properties": {"email": "ann@example.com",
                                                                   **expected_properties(hub)}}
    assert orjson.loads(only_delivery(hub).result)["detail"] == {"created": "true"}


def test_a_contact_that_exists_already_is_updated_not_created_twice(make_hub, httpserver):
    """HubSpot's search lags behind creation: a retry after a lost answer meets HubSpot's 409."""
    hub = make(make_hub, httpserver, UPDATE % "create: true")
    httpserver.expect_request(SEARCH_PATH, method="POST").respond_with_json({"total": 0, "results": []})
    httpserver.expect_request(CONTACTS, method="POST").respond_with_json(
        {"status": "error", "message": "Contact already exists. Existing ID: 1246978",
         "correlationId": "2ff53a3a-5a63-4a17-b0b4-07b9f5c2a0ef", "category": "CONFLICT"}, status=409)
    httpserver.expect_request(CONTACT_PATH, method="PATCH").respond_with_json(CONTACT)
    send(hub, detractor())
    hub.drain()
    assert calls(httpserver) == [("POST", SEARCH_PATH), ("POST", CONTACTS), ("PATCH", CONTACT_PATH)]
    assert body_of(httpserver, "PATCH", CONTACT_PATH) == {"properties": expected_properties(hub)}
    assert only_delivery(hub).status == "succeeded"


def test_an_unknown_contact_id_is_created_by_email_when_asked(make_hub, httpserver):
    hub = make(make_hub, httpserver, UPDATE % 'contact_id: "51"\n          create: true')
    httpserver.expect_request("/crm/v3/objects/contacts/51", method="PATCH").respond_with_json(
        {"status": "error", "message": "resource not found", "category": "OBJECT_NOT_FOUND"}, status=404)
    httpserver.expect_request(CONTACTS, method="POST").respond_with_json(CONTACT, status=201)
    send(hub, detractor())
    hub.drain()
    assert calls(httpserver) == [("PATCH", "/crm/v3/objects/contacts/51"), ("POST", CONTACTS)]
    assert only_delivery(hub).status == "succeeded"


NOTE_ROUTE = """
routes:
  - name: notes
    actions:
      - connection: hubspot
        action: add_note
        params:
          body: "Scored {{ data.score.value }}/10: {{ data.text }}"
          deal_id: "7205"
          company_id: "9001"
"""


def test_add_note_creates_a_note_associated_with_the_contact_deal_and_company(make_hub, httpserver):
    hub = make(make_hub, httpserver, NOTE_ROUTE)
    httpserver.expect_request(SEARCH_PATH, method="POST").respond_with_json(SEARCH)
    httpserver.expect_request("/crm/v3/objects/notes", method="POST", headers=BEARER).respond_with_json(NOTE,
                                                                                                     status=201)
    send(hub, detractor(comment="Export <b>fails</b>\nagain"))
    hub.drain()
    assert calls(httpserver) == [("POST", SEARCH_PATH), ("POST", "/crm/v3/objects/notes")]
    assert body_of(httpserver, "POST", "/crm/v3/objects/notes") == {
        "properties": {"hs_timestamp": the_event(hub)["time"],
                       "hs_note_body": "Scored 2/10: Export &lt;b&gt;fails&lt;/b&gt;<br>again"},
        "associations": [
            {"to": {"id": "1246978"}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 202}]},
            {"to": {"id": "7205"}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 214}]},
            {"to": {"id": "9001"}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 190}]},
        ]}
    assert orjson.loads(only_delivery(hub).result) == {
        "external_id": "47296498716", "url": None,
        "detail": {"contact_id": "1246978", "deal_id": "7205", "company_id": "9001"}}


def test_a_note_for_a_contact_no_one_has_dead_letters(make_hub, httpserver):
    hub = make(make_hub, httpserver, """
routes:
  - name: notes
    actions:
      - {connection: hubspot, action: add_note, params: {body: "{{ data.text }}"}}
""")
    httpserver.expect_request(SEARCH_PATH, method="POST").respond_with_json({"total": 0, "results": []})
    send(hub, detractor())
    hub.drain()
    delivery = only_delivery(hub)
    assert delivery.status == "dead" and "no HubSpot contact to put the note on" in delivery.last_error
    assert calls(httpserver) == [("POST", SEARCH_PATH)]


TICKET_ROUTE = """
routes:
  - name: tickets
    actions:
      - connection: hubspot
        action: create_ticket
        params:
          subject: "Detractor: {{ data.customer.name }} scored {{ data.score.value }}/10"
          content: "{{ data.text }}"
          pipeline: "0"
          stage: "1"
          priority: HIGH
          company_id: "9001"
          properties: {hs_ticket_category: PRODUCT_ISSUE}
"""


def test_create_ticket_posts_the_ticket_in_its_pipeline_and_stage_with_associations(make_hub, httpserver):
    hub = make(make_hub, httpserver, TICKET_ROUTE)
    httpserver.expect_request(SEARCH_PATH, method="POST").respond_with_json(SEARCH)
    httpserver.expect_request("/crm/v3/objects/tickets", method="POST", headers=BEARER).respond_with_json(
        TICKET, status=201)
    send(hub, detractor())
    hub.drain()
    assert body_of(httpserver, "POST", "/crm/v3/objects/tickets") == {
        "properties": {"hs_ticket_category": "PRODUCT_ISSUE", "subject": "Detractor: Ann Lee scored 2/10",
                       "hs_pipeline": "0", "hs_pipeline_stage": "1", "content": "The export keeps failing.",
                       "hs_ticket_priority": "HIGH"},
        "associations": [
            {"to": {"id": "1246978"}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 16}]},
            {"to": {"id": "9001"}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 26}]},
        ]}
    assert orjson.loads(only_delivery(hub).result) == {"external_id": "1887303401", "url": None,
                                                        "detail": {"contact_id": "1246978", "company_id": "9001"}}


def test_a_ticket_for_a_customer_hubspot_does_not_know_is_created_without_the_contact(make_hub, httpserver):
    hub = make(make_hub, httpserver, TICKET_ROUTE)
    httpserver.expect_request(SEARCH_PATH, method="POST").respond_with_json({"total": 0, "results": []})
    httpserver.expect_request("/crm/v3/objects/tickets", method="POST").respond_with_json(TICKET, status=201)
    send(hub, detractor())
    hub.drain()
    associations = body_of(httpserver, "POST", "/crm/v3/objects/tickets")["associations"]
    assert [entry["to"]["id"] for entry in associations] == ["9001"]


def test_ticket_properties_the_params_set_cannot_be_given_twice(make_hub, httpserver):
    hub = make(make_hub, httpserver, TICKET_ROUTE.replace("hs_ticket_category: PRODUCT_ISSUE", "hs_pipeline: '1'"))
    send(hub, detractor())
    hub.drain()
    delivery = only_delivery(hub)
    assert delivery.status == "dead"
    assert "set hs_pipeline with subject, content, pipeline, stage and priority" in delivery.last_error
    assert calls(httpserver) == []


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_pause_the_connection(make_hub, httpserver, status):
    hub = make(make_hub, httpserver, UPDATE % 'contact_id: "1246978"')
    httpserver.expect_request(CONTACT_PATH, method="PATCH").respond_with_json(
        {"status": "error", "message": "Authentication credentials not found.", "category": "INVALID_AUTHENTICATION"},
        status=status)
    send(hub, detractor(1001), msg_id="m1")
    send(hub, detractor(1002), msg_id="m2")
    hub.drain()
    assert calls(httpserver) == [("PATCH", CONTACT_PATH)]  # the second delivery waits: no attempts burnt
    deliveries = hub.store.reads.deliveries()
    assert "dead" not in {delivery.status for delivery in deliveries}
    [state] = [s for s in connection_states(hub.hub) if s["connection"] == "hubspot"]
    assert state["status"] == "paused"
    assert f"HubSpot refused the connection's credentials ({status})" in state["reason"]
    assert TOKEN not in str(deliveries) + str(state)


def test_a_429_is_retried_after_its_retry_after(make_hub, httpserver):
    hub = make(make_hub, httpserver, UPDATE % 'contact_id: "1246978"')
    httpserver.expect_oneshot_request(CONTACT_PATH, method="PATCH").respond_with_json(
        {"status": "error", "message": "You have reached your ten_secondly_rolling limit.", "category": "RATE_LIMITS",
         "policyName": "TEN_SECONDLY_ROLLING"}, status=429, headers={"Retry-After": "0"})
    httpserver.expect_request(CONTACT_PATH, method="PATCH").respond_with_json(CONTACT)
    send(hub, detractor())
    hub.drain()
    delivery = only_delivery(hub)
    assert [(a.status_code, a.outcome) for a in hub.store.reads.attempts(delivery.id)] == [
        (429, "retry"), (None, "succeeded")]


def config_problems(text: str) -> str:
    host = PluginHost(build_plugin_manager([webhook, hubspot], discover=False))
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "cxhub.yaml", host, {"APP_SECRET": WHSEC, "HUBSPOT_TOKEN": TOKEN})
    assert TOKEN not in str(caught.value)
    return str(caught.value)


def test_a_connection_needs_exactly_one_of_access_token_and_oauth():
    """The plugin declares token_setting="access_token": check-config refuses neither and both."""
    routes = UPDATE % 'contact_id: "1246978"'
    neither = APP_SOURCE + CONNECTION % ("https://api.hubapi.com", "") + routes
    assert "connections.hubspot.settings: give settings.access_token or an oauth: block (the connection has no " \
           "credentials)" in config_problems(neither)
    oauth = ("    oauth: {grant: client_credentials, token_url: \"https://api.hubapi.com/oauth/v1/token\", "
             "client_id: app-1, client_secret: {$env: HUBSPOT_TOKEN}}\n")
    both = APP_SOURCE + CONNECTION % ("https://api.hubapi.com", WITH_TOKEN) + oauth + routes
    assert "connections.hubspot.oauth: give either settings.access_token or an oauth: block, not both" in \
        config_problems(both)


def test_the_default_rate_limit_is_hubspots_published_one(make_hub, httpserver):
    hub = make(make_hub, httpserver, UPDATE % 'contact_id: "1246978"')
    assert hub.hub.config.connections["hubspot"].rate_limit == RateLimit(100, 10)


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_are_auth_failed(httpserver, status):
    """AuthFailed, not a plain PauseConnection: the hook, the log and the console read it as bad credentials."""
    from plugins.hubspot.api import call

    httpserver.expect_request(CONTACT_PATH, method="PATCH", headers=BEARER).respond_with_json(
        {"status": "error", "message": "This oauth-token does not have proper permissions!", "category": "MISSING_SCOPES"},
        status=status)
    with pytest.raises(AuthFailed, match=rf"HubSpot refused the connection's credentials \({status}\)") as caught:
        call(HttpClient(httpserver.url_for("/")), {"access_token": Secret(TOKEN, "HUBSPOT_TOKEN")}, "PATCH",
             CONTACT_PATH.lstrip("/"),
             what="contact 1246978", json={"properties": {}})
    assert caught.value.status_code == status and TOKEN not in caught.value.message
