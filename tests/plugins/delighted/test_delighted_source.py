"""The Delighted source on its documented and captured samples, signed byte for byte as Delighted signs."""

from __future__ import annotations

import copy

import orjson
import pytest

import plugins.delighted as delighted
from hub.testing import assert_valid_event, hmac_signature
from tests.conftest import fixture_bytes

API_KEY = "delighted-api-key"
OLD_KEY = "delighted-old-api-key"
CONFIG = """
sources:
  delighted:
    plugin: delighted
    settings:
      secret: {$env: DELIGHTED_API_KEY}
      previous_secret: {$env: DELIGHTED_OLD_KEY}
"""
UPDATED = fixture_bytes("delighted/survey_response_updated.json")
CREATED = fixture_bytes("delighted/survey_response_created.json")
SAMPLE = orjson.loads(UPDATED)


@pytest.fixture
def hub(make_hub):
    return make_hub(CONFIG, plugins=[delighted], env={"DELIGHTED_API_KEY": API_KEY, "DELIGHTED_OLD_KEY": OLD_KEY})


def signed(body: bytes, key: str = API_KEY) -> dict[str, str]:
    """The header Delighted sends: sha256= and the hex HMAC-SHA256 of the raw body, keyed with the API key."""
    return {"X-Delighted-Webhook-Signature": "sha256=" + hmac_signature(key, body, encoding="hex")}


def post(hub, payload: dict | bytes, key: str = API_KEY, headers: dict[str, str] | None = None):
    body = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    return hub.post("delighted", body, signed(body, key) if headers is None else headers)


def event_of(hub, response) -> dict:
    assert response.status_code == 202, response.json
    [event_id] = response.json["accepted"]
    return orjson.loads(hub.store.reads.event(event_id).body)


def test_documented_update_becomes_a_canonical_event(hub):
    event = event_of(hub, post(hub, UPDATED))
    assert_valid_event(event)
    assert (event["type"], event["time"], event["subject"]) == ("cx.survey.response", "2024-12-22T01:37:30Z", "5435")
    assert event["data"] == {
        "customer": {"id": "5975", "email": "charlie_gravis@example.com", "name": "Charlie Gravis"},
        "score": {"type": "nps", "value": 9, "min": 0, "max": 10, "band": "positive"},
        "text": "Your service is fast and flawless!",
        "link": {"system": "delighted", "id": "5435", "type": "survey_response",
                 "url": "https://app.delighted.com/r/5pFDpmlyC8GUc5oxU6USto5VonSKAqOa"},
        "vendor_event_id": "b8d057c59327541d7ec2104c0a9a255ad1997fb00831b9c6bbf09561e6d5cbd0",
        "attributes": {"survey_type": "nps", "answer.enum_z9EvYV": "Convenience, Friendly staff"},
        "update": True,  # Delighted says so: survey_response.updated
    }


def test_created_then_updated_are_two_events_about_one_response(hub):
    first, second = event_of(hub, post(hub, CREATED)), event_of(hub, post(hub, UPDATED))
    assert first["id"] != second["id"] and first["subject"] == second["subject"] == "5435"
    assert (first["data"]["update"], second["data"]["update"]) == (False, True)
    assert (first["data"]["text"], first["time"]) == (None, "2024-12-22T01:27:30Z")
    assert len(hub.store.reads.events()) == 2


def test_an_update_is_an_update_even_when_delighted_calls_it_created(hub):
    """A second created event for a response the hub holds (a vendor bug, a replay) is still about that response."""
    event_of(hub, post(hub, CREATED))
    again = orjson.loads(CREATED)
    again["event_id"] = "f" * 64
    assert event_of(hub, post(hub, again))["data"]["update"] is True


@pytest.mark.parametrize("name, customer, score", [
    ("zulip_survey_response_updated_promoter.json", ("5975", "charlie_gravis@example.com", "Charlie Gravis"), 9),
    ("zulip_survey_response_updated_non_promoter.json", ("5975", "paul_gravis@example.com", "Paul Gravis"), 5),
])
def test_captured_payloads_without_survey_type_are_nps(hub, name, customer, score):
    event = event_of(hub, post(hub, fixture_bytes(f"delighted/{name}")))
    assert tuple(event["data"]["customer"].values()) == customer
    assert event["data"]["score"]["type"] == "nps" and event["data"]["score"]["value"] == score
    assert event["data"]["attributes"] == {"survey_type": "nps"}
    assert event["time"] == "2016-12-24T14:33:29Z"


def test_the_two_zulip_payloads_share_an_event_id_so_the_second_is_a_resend(hub):
    event_of(hub, post(hub, fixture_bytes("delighted/zulip_survey_response_updated_promoter.json")))
    again = post(hub, fixture_bytes("delighted/zulip_survey_response_updated_non_promoter.json"))
    assert again.status_code == 200 and again.json["accepted"] == [] and len(again.json["duplicates"]) == 1


def test_unsubscribe_becomes_a_contact_update(hub):
    event = event_of(hub, post(hub, fixture_bytes("delighted/unsubscribe_created.json")))
    assert (event["type"], event["subject"], event["time"]) == ("cx.contact.updated", "5428", "2015-07-20T22:53:54Z")
    data = event["data"]
    assert data["customer"] == {"id": "5428", "email": "leslie.wong@example.com", "name": "Leslie Wong"}
    assert data["link"] == {"system": "delighted", "id": "5428", "url": None, "type": "person"}
    assert (data["attributes"], data["score"], data["update"]) == ({"unsubscribed": "true"}, None, False)


def response_with(**changes) -> dict:
    payload = copy.deepcopy(SAMPLE)
    payload["event_data"].update(changes)
    return payload


@pytest.mark.parametrize("survey_type, value, score", [
    ("nps", 0, ("nps", 0, 10, "negative")),
    ("enps", 8, ("nps", 0, 10, "neutral")),
    ("csat", 4, ("csat", 1, 5, "positive")),
    ("smileys", 2, ("csat", 1, 5, "negative")),
    ("ces", 3, ("ces", 1, 5, "neutral")),
    ("stars", 5, ("rating", 1, 5, "positive")),
    ("five_star", 1, ("rating", 1, 5, "negative")),
    ("thumbs", 1, ("rating", 0, 1, "positive")),
    ("thumbs", 0, ("rating", 0, 1, "negative")),
    ("pmf", 3, ("rating", 1, 3, "positive")),
])
def test_each_survey_type_scores_on_its_scale(hub, survey_type, value, score):
    event = event_of(hub, post(hub, response_with(survey_type=survey_type, score=value)))
    kind, low, high, band = score
    assert event["data"]["score"] == {"type": kind, "value": value, "min": low, "max": high, "band": band}
    assert event["data"]["attributes"]["survey_type"] == survey_type


def test_ces_on_seven_points_when_configured(make_hub):
    hub = make_hub(CONFIG + "      ces_points: 7\n", plugins=[delighted],
                   env={"DELIGHTED_API_KEY": API_KEY, "DELIGHTED_OLD_KEY": OLD_KEY})
    assert event_of(hub, post(hub, response_with(survey_type="ces", score=6)))["data"]["score"] == {
        "type": "ces", "value": 6, "min": 1, "max": 7, "band": "positive"}


def test_what_delighted_sends_loosely_is_read_as_sent(hub):
    person = {"id": 2**63 + 5, "email": "", "name": ""}  # an id above 2^53, an empty email and name
    event = event_of(hub, post(hub, response_with(id=18446744073709551615, person=person, score=7.0,
                                                  person_properties={"plan": "pro", "seats": 12, "nested": {}},
                                                  tags=["vip", {"name": "churn-risk"}])))
    assert event["subject"] == "18446744073709551615"
    assert event["data"]["customer"] == {"id": str(2**63 + 5), "email": None, "name": None}
    assert event["data"]["score"]["value"] == 7
    assert event["data"]["attributes"] == {"survey_type": "nps", "tags": "vip,churn-risk", "property.plan": "pro",
                                           "property.seats": "12", "answer.enum_z9EvYV": "Convenience, Friendly staff"}


@pytest.mark.parametrize("payload, message", [
    ({**SAMPLE, "event_type": "survey_response.deleted"}, "got 'survey_response.deleted'"),
    ([SAMPLE], "got 'list'"),
    (response_with(survey_type="likert"), "unknown survey_type 'likert'"),
    (response_with(score=11), "score 11 is outside its scale 0..10"),
    (response_with(survey_type="ces", score=6), "ces score: score 6 is outside its scale 1..5"),
    (response_with(score=None), "event_data.score"),
    ({key: value for key, value in SAMPLE.items() if key != "event_id"}, "event_id"),
    ({**SAMPLE, "event_data": "5435"}, "event_data must be an object"),
])
def test_what_the_plugin_cannot_read_is_quarantined(hub, payload, message):
    response = post(hub, payload)
    assert response.status_code == 422 and message in response.json["error"]["message"]
    assert hub.store.reads.events() == [] and len(hub.store.quarantine.requests()) == 1


def test_a_body_that_is_not_json_is_a_400(hub):
    response = post(hub, b"event_type=survey_response.updated")
    assert response.status_code == 400 and hub.store.quarantine.requests() == []


def test_previous_key_is_accepted_while_rotating(hub):
    assert post(hub, UPDATED, key=OLD_KEY).status_code == 202


@pytest.mark.parametrize("header, message", [
    ({}, "the X-Delighted-Webhook-Signature header is missing"),
    ({"X-Delighted-Webhook-Signature": hmac_signature(API_KEY, UPDATED)}, "must start with 'sha256='"),
    (signed(UPDATED, "another-key"), "does not match the body"),
    (signed(UPDATED.rstrip(b"\n")), "does not match the body"),  # the body as received, newline included
    ({"X-Delighted-Webhook-Signature": "sha256=" + hmac_signature(API_KEY, UPDATED, encoding="base64")},
     "does not match the body"),
])
def test_bad_signatures_are_401_and_store_nothing(hub, header, message):
    response = post(hub, UPDATED, headers=header)
    assert response.status_code == 401 and message in response.json["error"]["message"]
    assert hub.store.reads.events() == [] and hub.store.quarantine.requests() == []
