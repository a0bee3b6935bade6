"""The Typeform source on the documented example payload and on variants of it."""

from __future__ import annotations

import copy

import orjson
import pytest

import plugins.typeform as typeform
from hub.testing import assert_valid_event, hmac_signature
from tests.conftest import fixture_bytes

SECRET = "typeform-secret"
OLD_SECRET = "typeform-old-secret"
CONFIG = """
sources:
  typeform:
    plugin: typeform
    settings:
      secret: {$env: TF_SECRET}
      previous_secret: {$env: TF_OLD_SECRET}
      name_question: readable_ref_short_text
"""
SAMPLE = orjson.loads(fixture_bytes("typeform/form_response.json"))


@pytest.fixture
def hub(make_hub):
    return make_hub(CONFIG, plugins=[typeform], env={"TF_SECRET": SECRET, "TF_OLD_SECRET": OLD_SECRET})


def post(hub, payload: dict | bytes, secret: str = SECRET, signature: str | None = None):
    body = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    header = signature if signature is not None else "sha256=" + hmac_signature(secret, body, encoding="base64")
    return hub.post("typeform", body, {"Typeform-Signature": header})


def event_of(hub, response) -> dict:
    assert response.status_code == 202, response.json
    [event_id] = response.json["accepted"]
    return orjson.loads(hub.store.reads.event(event_id).body)


def test_documented_sample_becomes_a_canonical_event(hub):
    event = event_of(hub, post(hub, fixture_bytes("typeform/form_response.json")))
    assert_valid_event(event)
    assert (event["type"], event["time"], event["subject"]) == (
        "cx.survey.response", "2018-01-18T18:17:02Z", "a3a12ec67a1365927098a606107fac15")
    data = event["data"]
    assert data["vendor_event_id"] == "LtWXD3crgy"
    assert data["customer"] == {"id": "abc123456", "email": "laura@example.com", "name": "Laura"}
    assert data["text"].startswith("It's cold right now!")
    # The first scored field in definition order is the opinion scale (answered 2, on 0-10).
    assert data["score"] == {"type": "rating", "value": 2, "min": 0, "max": 10, "band": "negative"}
    assert data["link"] == {"system": "typeform", "id": "a3a12ec67a1365927098a606107fac15", "type": "form_response",
                            "url": "https://admin.typeform.com/form/lT4Z3j/results#responses"}
    assert data["attributes"] == {"form_id": "lT4Z3j", "form_title": "Webhooks example", "hidden.user_id": "abc123456"}


def variant(change) -> dict:
    payload = copy.deepcopy(SAMPLE)
    change(payload["form_response"])
    return payload


def field(response: dict, field_id: str) -> dict:
    return next(item for item in response["definition"]["fields"] if item["id"] == field_id)


def test_score_follows_definition_order_not_answer_order(hub):
    event = event_of(hub, post(hub, variant(lambda r: r["answers"].reverse())))
    assert event["data"]["score"]["value"] == 2


def test_nps_question_scores_on_zero_to_ten(hub):
    def to_nps(response):  # the opinion-scale question becomes an NPS question answered 7
        field(response, "NRsxU591jIW9")["type"] = "nps"
        answer = next(a for a in response["answers"] if a["field"]["id"] == "NRsxU591jIW9")
        answer["field"]["type"], answer["number"] = "nps", 7
    assert event_of(hub, post(hub, variant(to_nps)))["data"]["score"] == {
        "type": "nps", "value": 7, "min": 0, "max": 10, "band": "neutral"}


def test_scale_properties_in_the_payload_win(hub):
    def five_point(response):  # the opinion scale says it runs 1-5
        field(response, "NRsxU591jIW9")["properties"] = {"steps": 5, "start_at_one": True}
    assert event_of(hub, post(hub, variant(five_point)))["data"]["score"] == {
        "type": "rating", "value": 2, "min": 1, "max": 5, "band": "negative"}


def test_rating_defaults_to_one_to_five(hub):
    def rating_only(response):  # drop the opinion scale: the 5-star rating (3) is next
        response["definition"]["fields"] = [f for f in response["definition"]["fields"] if f["id"] != "NRsxU591jIW9"]
    assert event_of(hub, post(hub, variant(rating_only)))["data"]["score"] == {
        "type": "rating", "value": 3, "min": 1, "max": 5, "band": "neutral"}


def test_a_form_without_scored_questions_has_no_score(hub):
    def unscored(response):
        response["answers"] = [a for a in response["answers"] if a["type"] != "number"]
    assert event_of(hub, post(hub, variant(unscored)))["data"]["score"] is None


def test_previous_secret_is_accepted_while_rotating(hub):
    assert post(hub, SAMPLE, secret=OLD_SECRET).status_code == 202


@pytest.mark.parametrize("signature, message", [
    ("", "the Typeform-Signature header is missing"),
    ("sha1=abc", "must start with 'sha256='"),
    ("sha256=" + hmac_signature(SECRET, b"other body", encoding="base64"), "does not match the body"),
    ("sha256=" + hmac_signature(SECRET, orjson.dumps(SAMPLE), encoding="hex"), "does not match the body"),
])
def test_bad_signatures(hub, signature, message):
    response = post(hub, SAMPLE, signature=signature)
    assert response.status_code == 401 and message in response.json["error"]["message"]
    assert hub.store.reads.events() == []


@pytest.mark.parametrize("payload, message", [
    ({"event_id": "x", "event_type": "form_deleted"}, "expected a Typeform form_response event, got 'form_deleted'"),
    ({"event_id": "x", "event_type": "form_response"}, "the payload has no 'form_response'"),
    (variant(lambda r: r.pop("token")), "the payload has no 'form_response.token'"),
    (variant(lambda r: r.update(submitted_at="yesterday")), "submitted_at 'yesterday' is not an ISO 8601"),
    (variant(lambda r: next(a for a in r["answers"] if a["type"] == "number" and a["field"]["type"] == "opinion_scale")
             .update(number=42)), "score 42 is outside its scale 0..10"),
])
def test_payloads_it_does_not_understand_are_quarantined(hub, payload, message):
    response = post(hub, payload)
    assert response.status_code == 422 and message in response.json["error"]["message"]
    assert len(hub.store.quarantine.requests()) == 1 and hub.store.reads.events() == []


def test_typeforms_own_signature_vector():
    """The known answer in Typeform's JavaScript SDK tests (js-api-client, verify-signature)."""
    from hub.plugin import InboundRequest, Source
    from hub.plugin.settings import Secret
    from plugins.typeform.inbound import verify

    source = Source("typeform", "typeform", {"secret": Secret("my-webook-secret", "TF"), "previous_secret": None})
    request = InboundRequest("POST", "/hooks/typeform", b'{"foo":"bar"}', "application/json",
                             {"typeform-signature": "sha256=X2b3nUhiGjaWHxmPO/YQzUvHXBNac4gPjZ5/bjXrhQY="})
    verify(source, request)  # raises InvalidSignature on a mismatch
