"""The HubSpot source: a signed batch becomes its events, one per element, a broken element is
quarantined alone, a resend is a duplicate, and contacts are enriched from a stand-in of the CRM v3
objects API over real HTTP that checks the path, the query and the bearer token."""

from __future__ import annotations

import json

import orjson
import pytest
from click.testing import CliRunner

import plugins.hubspot as hubspot
import plugins.webhook as webhook
from hub.cli import main
from hub.testing import assert_valid_event
from tests.conftest import WHSEC, fixture_bytes
from tests.plugins.hubspot.hubspot_signing import CLIENT_SECRET, v3_headers

BATCH = fixture_bytes("hubspot/contact_batch.json")
GENERIC = fixture_bytes("hubspot/generic_batch.json")
CRM = fixture_bytes("hubspot/crm_batch.json")
CONTACT = orjson.loads(fixture_bytes("hubspot/contact.json"))
TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"
CONTACT_PATH = "/crm/v3/objects/contacts/1246978"
QUERY = {"properties": "email,firstname,lastname"}


def config(api_url: str | None = None, receiver: str = "http://127.0.0.1:9/closed") -> str:
    api = f"\n      access_token: {{$env: HUBSPOT_TOKEN}}\n      api_url: \"{api_url}\"" if api_url else ""
    return f"""
sources:
  hubspot:
    plugin: hubspot
    settings:
      client_secret: {{$env: HUBSPOT_CLIENT_SECRET}}{api}
    api_retry: {{max_attempts: 3, initial_delay: 0, max_delay: 0}}
connections:
  out:
    plugin: webhook
    settings: {{url: "{receiver}", secret: {{$env: OUT_SECRET}}}}
    retry: {{max_attempts: 1}}
routes:
  - name: contacts
    when: {{field: type, regex: "^cx[.]contact[.]"}}
    run_on_updates: true
    actions:
      - {{connection: out, action: forward}}
"""


ENV = {"HUBSPOT_CLIENT_SECRET": CLIENT_SECRET, "HUBSPOT_TOKEN": TOKEN, "OUT_SECRET": WHSEC}


@pytest.fixture
def hub(make_hub):
    return make_hub(config(), plugins=[hubspot, webhook], env=ENV)


@pytest.fixture
def enriching(make_hub, httpserver):
    httpserver.expect_request("/receiver", method="POST").respond_with_data("")
    return make_hub(config(httpserver.url_for("/"), httpserver.url_for("/receiver")), plugins=[hubspot, webhook],
                    env=ENV)


def post(hub, body: bytes):
    return hub.post("hubspot", body, v3_headers(body))


def events(hub) -> list[dict]:
    return sorted((orjson.loads(row.body) for row in hub.store.reads.events()), key=lambda e: e["data"]["vendor_event_id"])


def by_type(hub) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for event in events(hub):
        found.setdefault(event["type"], []).append(event)
    return found


def test_the_documented_batch_becomes_its_two_events(hub):
    response = post(hub, BATCH)
    assert response.status_code == 202, response.json
    assert len(response.json["accepted"]) == 2
    found = by_type(hub)
    [created], [changed] = found["cx.contact.created"], found["cx.contact.updated"]
    for event in (created, changed):
        assert_valid_event(event)
    assert (created["subject"], created["time"], created["data"]["customer"]["id"]) == \
        ("1246978", "2016-05-02T19:11:47.945000Z", "1246978")
    assert created["data"]["vendor_event_id"] == "33:contact.creation:22:0-1:1246978:::3816279480:1462216307945"
    assert created["data"]["link"] == {"system": "hubspot", "id": "1246978", "url": None, "type": "contact"}
    assert created["data"]["attributes"] == {
        "subscription_type": "contact.creation", "object_type": "contact", "object_type_id": "0-1",
        "object_id": "1246978", "portal_id": "33", "app_id": "1160452", "change_source": "IMPORT"}
    assert changed["data"]["update"] is True
    assert changed["data"]["attributes"]["property_name"] == "lifecyclestage"
    assert changed["data"]["attributes"]["property_value"] == "subscriber"


def test_generic_object_events_and_one_event_id_on_two_objects(hub):
    response = post(hub, GENERIC)
    assert response.status_code == 202, response.json
    found = by_type(hub)
    assert {kind: len(items) for kind, items in found.items()} == {
        "cx.contact.created": 1, "cx.contact.updated": 1, "cx.ticket.deleted": 2}  # the custom object is skipped
    deleted = found["cx.ticket.deleted"]
    assert {event["subject"] for event in deleted} == {"180584432881", "180584432882"}  # one eventId, two events
    assert {event["data"]["attributes"]["object_type"] for event in deleted} == {"ticket"}
    assert "is_sensitive" not in found["cx.contact.updated"][0]["data"]["attributes"]  # isSensitive: false


def test_company_deal_ticket_merge_association_and_conversation_events(hub):
    assert post(hub, CRM).status_code == 202
    found = by_type(hub)
    assert sorted(found) == ["cx.company.created", "cx.contact.updated", "cx.deal.updated", "cx.message.received",
                             "cx.ticket.created"]  # the product is skipped
    assert [e["subject"] for e in found["cx.company.created"]] == ["9001"]
    assert found["cx.deal.updated"][0]["data"]["attributes"]["property_value"] == "closedlost"
    association, merge = sorted(found["cx.contact.updated"], key=lambda e: e["data"]["attributes"]["subscription_type"])
    assert association["data"]["attributes"]["subscription_type"] == "contact.associationChange"
    assert (association["subject"], association["data"]["attributes"]["to_object_id"],
            association["data"]["attributes"]["association_type"],
            association["data"]["attributes"]["is_primary_association"]) == \
        ("1246978", "9001", "CONTACT_TO_COMPANY", "true")
    assert (merge["data"]["attributes"]["merged_object_ids"], merge["data"]["attributes"]["primary_object_id"]) == \
        ("1246965", "1246978")
    [message] = found["cx.message.received"]
    assert message["data"]["link"] == {"system": "hubspot", "id": "ed0e4a7a3d5a4f6fa85b01a9d41dd0a7", "url": None,
                                       "type": "message"}
    assert message["data"]["attributes"]["object_id"] == "5480963411"  # the thread
    for event in events(hub):
        assert_valid_event(event)


def test_a_resend_is_a_duplicate_and_routes_nothing_twice(hub):
    first = post(hub, BATCH)
    resent = json.dumps([{**element, "attemptNumber": 1} for element in json.loads(BATCH)]).encode()
    again = post(hub, resent)
    assert again.status_code == 200, again.json
    assert sorted(again.json["duplicates"]) == sorted(first.json["accepted"])
    assert len(hub.store.reads.events()) == 2
    assert len(hub.store.reads.deliveries()) == 2


def test_one_malformed_element_is_quarantined_alone_and_the_others_are_kept(hub):
    elements = json.loads(BATCH)
    broken = {"subscriptionType": "contact.creation", "objectId": 1, "portalId": 33, "occurredAt": 1462216307945}
    body = json.dumps([elements[0], broken, elements[1]]).encode()
    response = post(hub, body)
    assert response.status_code == 202, response.json
    assert len(response.json["accepted"]) == 2 and len(response.json["quarantined"]) == 1
    [row] = hub.store.quarantine.requests()
    assert json.loads(row.body) == [broken]
    assert "[1]: eventId is missing" in row.error
    assert len(hub.store.reads.events()) == 2


@pytest.mark.parametrize(("element", "reason"), [
    ("not an object", "an event must be an object"),
    ({"subscriptionType": "contact"}, "subscriptionType must be OBJECT.ACTION"),
    ({"subscriptionType": "contact.exploded"}, "unknown subscriptionType 'contact.exploded'"),
    ({"subscriptionType": "spaceship.creation"}, "unknown subscriptionType 'spaceship.creation'"),
    ({"subscriptionType": "object.creation"}, "objectTypeId is missing"),
    ({"subscriptionType": "contact.creation", "portalId": 33, "eventId": 1, "occurredAt": 1}, "objectId is missing"),
    ({"subscriptionType": "contact.creation", "objectId": {"a": 1}, "portalId": 33, "eventId": 1, "occurredAt": 1},
     "objectId is missing"),
    ({"subscriptionType": "contact.creation", "objectId": 1, "portalId": 33, "eventId": 1, "occurredAt": "soon"},
     "occurredAt must be Unix milliseconds"),
    ({"subscriptionType": "contact.creation", "objectId": 1, "portalId": 33, "eventId": 1, "occurredAt": 10**20},
     "occurredAt must be Unix milliseconds"),
])
def test_each_kind_of_broken_element_says_what_is_wrong(hub, element, reason):
    body = json.dumps([json.loads(BATCH)[1], element]).encode()
    assert post(hub, body).status_code == 202
    [row] = hub.store.quarantine.requests()
    assert reason in row.error


def test_a_batch_of_only_broken_elements_is_422_each_quarantined(hub):
    body = b'[1, 2]'
    response = post(hub, body)
    assert response.status_code == 422
    assert len(response.json["error"]["quarantined"]) == 2
    assert hub.store.reads.events() == []


@pytest.mark.parametrize("body", [b'{"eventId": 1}', b'"batch"'])
def test_a_body_that_is_not_a_batch_is_quarantined_whole(hub, body):
    response = post(hub, body)
    assert response.status_code == 422
    assert "a JSON array of events" in response.json["error"]["message"]


def test_an_empty_batch_or_only_skipped_objects_store_nothing(hub):
    product = json.dumps([json.loads(CRM)[-1]]).encode()
    for body in (b"[]", product):
        assert post(hub, body).status_code == 200
    assert hub.store.reads.events() == []


def test_without_an_access_token_contacts_are_routed_as_they_came(hub):
    post(hub, BATCH)
    assert [hub.store.enrichments.get(event["id"]) for event in events(hub)] == [None, None]
    assert len(hub.store.reads.deliveries()) == 2  # routed at once, not waiting for an enrichment


def test_contacts_are_enriched_from_the_crm_api_then_routed(enriching, httpserver):
    httpserver.expect_request(CONTACT_PATH, method="GET", query_string=QUERY,
                              headers={"Authorization": f"Bearer {TOKEN}"}).respond_with_json(CONTACT)
    response = post(enriching, json.dumps([json.loads(BATCH)[1]]).encode())
    assert response.status_code == 202
    assert enriching.store.reads.deliveries() == []  # thin: nothing routed before the enrichment
    assert [r.path for r, _ in httpserver.log] == []  # the API is called after the 202, not before
    enriching.drain()
    [event] = events(enriching)
    assert_valid_event(event)
    assert event["data"]["customer"] == {"id": "1246978", "email": "bcooper@biglytics.net", "name": "Bryan Cooper"}
    assert event["data"]["vendor_event_id"] == "33:contact.creation:22:0-1:1246978:::3816279480:1462216307945"
    [call] = [request for request, _ in httpserver.log if request.path == CONTACT_PATH]
    assert call.args.to_dict() == QUERY
    assert call.headers["Accept"] == "application/json"
    [delivery] = enriching.store.reads.deliveries()
    assert delivery.status == "succeeded"
    [(forwarded, _)] = [(r, a) for r, a in httpserver.log if r.path == "/receiver"]
    assert forwarded.get_json()["data"]["customer"]["email"] == "bcooper@biglytics.net"


def test_a_429_from_the_crm_api_is_retried(enriching, httpserver):
    httpserver.expect_oneshot_request(CONTACT_PATH, method="GET").respond_with_json(
        {"status": "error", "category": "RATE_LIMITS"}, status=429, headers={"Retry-After": "0"})
    httpserver.expect_request(CONTACT_PATH, method="GET", query_string=QUERY).respond_with_json(CONTACT)
    post(enriching, json.dumps([json.loads(BATCH)[1]]).encode())
    enriching.drain()
    assert events(enriching)[0]["data"]["customer"]["email"] == "bcooper@biglytics.net"
    assert len([r for r, _ in httpserver.log if r.path == CONTACT_PATH]) == 2


@pytest.mark.parametrize("status", [401, 404])
def test_a_refusal_of_the_crm_api_fails_the_enrichment_and_keeps_the_thin_event(enriching, httpserver, status):
    httpserver.expect_request(CONTACT_PATH, method="GET").respond_with_json(
        {"status": "error", "message": "resource not found", "category": "OBJECT_NOT_FOUND"}, status=status)
    post(enriching, json.dumps([json.loads(BATCH)[1]]).encode())
    enriching.drain()
    [event] = events(enriching)
    assert enriching.store.enrichments.get(event["id"]).status == "failed"
    assert event["data"]["customer"]["email"] is None
    assert enriching.store.reads.deliveries() == []
    assert TOKEN not in str(enriching.store.enrichments.get(event["id"]))


def test_deletions_and_other_objects_are_not_enriched(enriching, httpserver):
    deletion = {**json.loads(BATCH)[1], "subscriptionType": "contact.deletion", "eventId": 99}
    body = json.dumps([deletion, json.loads(CRM)[0]]).encode()
    assert post(enriching, body).status_code == 202
    enriching.drain()
    assert [r.path for r, _ in httpserver.log if r.path.startswith("/crm/")] == []
    assert {e["type"] for e in events(enriching)} == {"cx.contact.deleted", "cx.company.created"}


def test_cxhub_normalize_prints_the_events_of_a_batch(tmp_path):
    sample = tmp_path / "batch.json"
    sample.write_bytes(BATCH)
    result = CliRunner().invoke(main, ["normalize", "hubspot", str(sample)])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert [event["type"] for event in printed] == ["cx.contact.updated", "cx.contact.created"]


def test_an_id_too_long_for_the_store_quarantines_its_element_only(hub):
    element = {**json.loads(BATCH)[1], "objectId": "9" * 600}
    response = post(hub, json.dumps([json.loads(BATCH)[0], element]).encode())
    assert response.status_code == 202 and len(response.json["quarantined"]) == 1
    assert "objectId is missing or not an id" in hub.store.quarantine.requests()[0].error


def test_a_key_over_512_characters_is_hashed_and_a_resend_still_matches(hub):
    element = {**json.loads(BATCH)[0], "propertyName": "p" * 600}
    first = post(hub, json.dumps([element]).encode())
    assert first.status_code == 202, first.json
    [event] = events(hub)
    assert event["data"]["vendor_event_id"].startswith("sha256:") and len(event["data"]["vendor_event_id"]) == 71
    again = post(hub, json.dumps([{**element, "attemptNumber": 3}]).encode())
    assert again.status_code == 200 and again.json["duplicates"] == first.json["accepted"]
