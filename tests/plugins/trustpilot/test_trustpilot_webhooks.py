"""Trustpilot webhooks: the documented and captured samples, POSTed byte for byte over real HTTP."""

from __future__ import annotations

import json

import orjson
import requests
from click.testing import CliRunner

from hub.cli import main
from hub.testing import assert_valid_event
from tests.conftest import fixture_bytes
from tests.plugins.trustpilot.conftest import HOOK, routed

DOCUMENTED = fixture_bytes("trustpilot/service_review_created.json")
BATCH = fixture_bytes("trustpilot/batch_created_updated_deleted.json")
CAPTURED = fixture_bytes("trustpilot/lindar_review_events.json")


def post(url: str, body: bytes) -> requests.Response:
    return requests.post(f"{url}/hooks/{HOOK}", data=body, headers={"Content-Type": "application/json"},
                         timeout=10)


def stored(tp_hub, event_id: str) -> dict:
    return orjson.loads(tp_hub.store.reads.event(event_id).body)


def test_documented_sample_becomes_one_review_event(tp_hub):
    response = post(tp_hub.serve(), DOCUMENTED)
    assert response.status_code == 202, response.text
    [event_id] = response.json()["accepted"]
    event = stored(tp_hub, event_id)
    assert_valid_event(event)
    assert (event["type"], event["time"], event["subject"]) == (
        "cx.review.created", "2017-05-20T09:34:44Z", "53bffd360000640002975387")
    data = event["data"]
    assert data["vendor_event_id"] == "service-review:53bffd360000640002975387:created"
    assert data["customer"] == {"id": "53bffc3900006400017e5db8", "email": None, "name": "Customer"}
    assert data["score"] == {"type": "rating", "value": 5, "min": 1, "max": 5, "band": "positive"}
    assert data["text"] == "Nothing other than excellent customer service."
    assert data["link"] == {"system": "trustpilot", "id": "53bffd360000640002975387", "type": "service_review",
                            "url": "https://www.trustpilot.com/reviews/53bffd360000640002975387"}
    assert data["attributes"] == {"title": "Great service", "language": "en", "reference_id": "ABC-123-xyz",
                                  "location_id": "43f51215-a1fc-4c60-b6dd-e4afb6d7b831", "verified": "true",
                                  "tags": "Generic: Tag value"}


def test_a_batch_of_three_gives_three_events_routed_once_even_when_resent(tp_hub, httpserver):
    url = tp_hub.serve()
    first = post(url, BATCH)
    assert first.status_code == 202, first.text
    ids = first.json()["accepted"]
    assert len(ids) == 3 and first.json()["duplicates"] == []
    assert [stored(tp_hub, i)["type"] for i in ids] == ["cx.review.created", "cx.review.updated", "cx.review.deleted"]
    tp_hub.drain()
    again = post(url, BATCH)
    assert (again.status_code, again.json()) == (200, {"accepted": [], "duplicates": ids})
    tp_hub.drain()
    assert sorted(routed(httpserver)) == sorted(ids)


def test_what_trustpilot_sends_beyond_its_docs_is_read_as_meant(tp_hub):
    """Stars as 4.0, a createdAt with no timezone, nanoseconds in updatedAt, an email as the reference id."""
    ids = post(tp_hub.serve(), BATCH).json()["accepted"]
    created, edited, gone = (stored(tp_hub, i) for i in ids)
    assert edited["data"]["score"]["value"] == 4 and edited["data"]["score"]["band"] == "positive"
    assert edited["time"] == "2026-11-30T09:01:27.123456Z"  # nanoseconds cut to microseconds, read as UTC
    assert edited["data"]["customer"]["email"] == "kunde@example.de"
    assert created["data"]["attributes"]["reference_id"] == "ORDER-88412"
    assert created["data"]["customer"]["email"] is None  # an order id is not an email
    assert "location_id" not in created["data"]["attributes"]  # null in the payload
    assert gone["subject"] == "6571c0f2a1b2c3d4e5f60003" and gone["data"]["score"] is None


def test_an_edit_has_the_same_event_id_however_often_it_is_sent_but_a_new_edit_is_new(tp_hub):
    url = tp_hub.serve()
    element = json.loads(BATCH)["events"][1]
    first = post(url, json.dumps({"events": [element]}).encode()).json()["accepted"]
    element["eventData"]["text"] = "Changed my mind again."
    second = post(url, json.dumps({"events": [element]}).encode()).json()["accepted"]
    assert len(first) == len(second) == 1 and first != second
    assert stored(tp_hub, second[0])["subject"] == stored(tp_hub, first[0])["subject"]


def test_the_captured_batch_keeps_the_review_and_quarantines_the_unknown_event(tp_hub, httpserver):
    url = tp_hub.serve()
    response = post(url, CAPTURED)
    assert response.status_code == 202, response.text
    [event_id] = response.json()["accepted"]
    [kept] = response.json()["quarantined"]
    assert stored(tp_hub, event_id)["subject"] == "62c8968be77911f2449e9f74"
    entry = tp_hub.store.quarantine.get(kept)
    assert "unknown eventName 'foo'" in entry.error
    assert [element["eventName"] for element in json.loads(entry.body)["events"]] == ["foo"]
    assert post(url, CAPTURED).json()["quarantined"] == [kept]  # a resend keeps one entry, not two
    assert len(tp_hub.store.quarantine.requests()) == 1
    tp_hub.drain()
    assert routed(httpserver) == [event_id]


def test_a_broken_element_is_quarantined_and_the_rest_kept(tp_hub):
    batch = json.loads(BATCH)
    batch["events"][1]["eventData"]["stars"] = 7
    response = post(tp_hub.serve(), json.dumps(batch).encode())
    assert response.status_code == 202
    assert len(response.json()["accepted"]) == 2
    [kept] = response.json()["quarantined"]
    assert "stars must be a whole number from 1 to 5, got 7" in tp_hub.store.quarantine.get(kept).error


def test_a_batch_with_nothing_readable_is_refused_and_each_element_quarantined(tp_hub):
    batch = {"events": [{"eventName": "service-review-created", "eventData": {"id": "x", "stars": 5}},
                        "not an object"]}
    response = post(tp_hub.serve(), json.dumps(batch).encode())
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "unrecognized_payload"
    assert len(response.json()["error"]["quarantined"]) == 2
    assert tp_hub.store.reads.events() == []


def test_a_body_that_is_not_a_trustpilot_webhook_is_refused(tp_hub):
    response = post(tp_hub.serve(), b'{"eventName": "service-review-created"}')
    assert response.status_code == 422
    assert "'events' list" in response.json()["error"]["message"]


def test_cxhub_normalize_prints_the_documented_sample_as_a_canonical_event(tmp_path):
    sample = tmp_path / "sample.json"
    sample.write_bytes(DOCUMENTED)
    result = CliRunner().invoke(main, ["normalize", "trustpilot", str(sample)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    [event] = json.loads(result.output)
    assert event["data"]["vendor_event_id"] == "service-review:53bffd360000640002975387:created"
