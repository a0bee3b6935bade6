"""The SurveyMonkey source: signed notifications (ids only) answered at once, then enriched from a
stand-in of the v3 API over real HTTP, which checks the paths and the bearer token."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac

import orjson
import pytest
import requests
from click.testing import CliRunner

import plugins.surveymonkey as surveymonkey
import plugins.webhook as webhook
from hub.cli import main
from hub.testing import assert_valid_event
from plugins.surveymonkey import enrich as enrich_module
from tests.conftest import WHSEC, fixture_bytes

CLIENT_ID = "sm-client-id"
CLIENT_SECRET = "sm-client-secret"
API_TOKEN = "sm-access-token"
NOTE = fixture_bytes("surveymonkey/response_completed.json")
SURVEY = orjson.loads(fixture_bytes("surveymonkey/survey_details.json"))
RESPONSE = orjson.loads(fixture_bytes("surveymonkey/response_details.json"))
SURVEY_PATH = "/v3/surveys/123456789/details"
RESPONSE_PATH = "/v3/surveys/123456789/responses/123456/details"
BEARER = {"Authorization": f"Bearer {API_TOKEN}"}


def config(api_url: str, receiver: str, **settings: str) -> str:
    extra = "".join(f"\n      {key}: \"{value}\"" for key, value in settings.items())
    return f"""
sources:
  sm:
    plugin: surveymonkey
    settings:
      client_id: {CLIENT_ID}
      client_secret: {{$env: SM_SECRET}}
      api_token: {{$env: SM_TOKEN}}
      api_url: "{api_url}"{extra}
    api_retry: {{max_attempts: 2, initial_delay: 0, max_delay: 0}}
connections:
  out:
    plugin: webhook
    settings: {{url: "{receiver}", secret: {{$env: OUT_SECRET}}}}
    retry: {{max_attempts: 1}}
routes:
  - name: detractors
    when: {{field: data.score.band, equals: negative}}
    actions:
      - {{connection: out, action: forward}}
"""


ENV = {"SM_SECRET": CLIENT_SECRET, "SM_TOKEN": API_TOKEN, "OUT_SECRET": WHSEC}


@pytest.fixture(autouse=True)
def no_cached_surveys():
    enrich_module._surveys.clear()


@pytest.fixture
def make(make_hub, httpserver):
    httpserver.expect_request("/receiver", method="POST").respond_with_data("")

    def build(**settings: str):
        return make_hub(config(httpserver.url_for("/"), httpserver.url_for("/receiver"), **settings),
                        plugins=[surveymonkey, webhook], env=ENV)

    return build


@pytest.fixture
def hub(make):
    return make()


def signature(body: bytes, client_id: str = CLIENT_ID, secret: str = CLIENT_SECRET) -> str:
    """As SurveyMonkey's docs sign: base64 of HMAC-SHA1 of the raw body keyed with client_id&client_secret."""
    key = f"{client_id}&{secret}".encode()
    return base64.b64encode(hmac.new(key, body, hashlib.sha1).digest()).decode()


def signed(body: bytes = NOTE, **override: str) -> dict[str, str]:
    return {"Sm-Apikey": CLIENT_ID, "Sm-Signature": signature(body), **override}


def api(httpserver, survey=SURVEY, response=RESPONSE) -> None:
    httpserver.expect_request(SURVEY_PATH, method="GET", headers=BEARER).respond_with_json(survey)
    httpserver.expect_request(RESPONSE_PATH, method="GET", headers=BEARER).respond_with_json(response)


def api_calls(httpserver) -> list[str]:
    return [request.path for request, _ in httpserver.log if request.path.startswith("/v3/")]


def the_event(hub) -> dict:
    [row] = hub.store.reads.events()
    return orjson.loads(row.body)


def test_a_signed_notification_is_answered_at_once_without_calling_the_api(hub, httpserver):
    response = hub.post("sm", NOTE, signed())
    assert response.status_code == 202, response.json
    assert api_calls(httpserver) == []
    assert hub.store.reads.deliveries() == []
    event = the_event(hub)
    assert (event["subject"], event["data"]["score"]) == ("123456", None)
    assert event["data"]["attributes"] == {"event_type": "response_completed", "survey_id": "123456789",
                                           "collector_id": "123456789"}


def test_the_enriched_event_has_score_text_and_respondent(hub, httpserver):
    api(httpserver)
    hub.post("sm", NOTE, signed())
    hub.drain()
    event = the_event(hub)
    assert_valid_event(event)
    assert event["data"]["score"] == {"type": "nps", "value": 3, "min": 0, "max": 10, "band": "negative"}
    assert event["data"]["text"] == "The export keeps failing."
    assert event["data"]["customer"] == {"id": None, "email": "ann@example.com", "name": None}
    assert event["data"]["link"] == {"system": "surveymonkey", "id": "123456", "type": "response",
                                     "url": "https://www.surveymonkey.com/analyze/browse/abc?respondent_id=123456"}
    assert (event["data"]["vendor_event_id"], event["time"]) == ("123456789", "2015-12-28T21:59:38Z")
    assert api_calls(httpserver) == [SURVEY_PATH, RESPONSE_PATH]
    assert [delivery.status for delivery in hub.store.reads.deliveries()] == ["succeeded"]  # the route saw the score


@pytest.mark.parametrize(("text", "value"), [("Not at all likely - 0", 0), ("9", 9), ("Extremely likely - 10", 10)])
def test_the_score_is_the_number_the_chosen_choice_ends_with(hub, httpserver, text, value):
    survey = copy.deepcopy(SURVEY)
    survey["pages"][0]["questions"][0]["answers"]["choices"][3]["text"] = text
    api(httpserver, survey=survey)
    hub.post("sm", NOTE, signed())
    hub.drain()
    assert the_event(hub)["data"]["score"]["value"] == value


def test_nps_question_id_names_the_score_question(make, httpserver):
    hub = make(nps_question_id="338792299")  # not the first 11-point question: no score from the first
    api(httpserver)
    hub.post("sm", NOTE, signed())
    hub.drain()
    assert the_event(hub)["data"]["score"] is None
    assert hub.store.enrichments.get(the_event(hub)["id"]).status == "done"


def test_a_response_without_contact_uses_its_email_address(hub, httpserver):
    response = {**RESPONSE, "metadata": {}, "email_address": "bo@example.com", "first_name": "Bo", "last_name": "Li"}
    api(httpserver, response=response)
    hub.post("sm", NOTE, signed())
    hub.drain()
    assert the_event(hub)["data"]["customer"] == {"id": None, "email": "bo@example.com", "name": "Bo Li"}


def test_the_head_check_of_the_url_gets_200(hub):
    response = hub.client.head("/hooks/sm")
    assert response.status_code == 200
    assert hub.store.reads.events() == []


@pytest.mark.parametrize("headers", [
    {"Sm-Apikey": CLIENT_ID},  # no signature
    {"Sm-Apikey": CLIENT_ID, "Sm-Signature": signature(NOTE, secret="wrong")},
    {"Sm-Apikey": CLIENT_ID, "Sm-Signature": signature(NOTE + b" ")},
    {"Sm-Signature": signature(NOTE)},  # no Sm-Apikey
    {"Sm-Apikey": "another-app", "Sm-Signature": signature(NOTE)},
])
def test_a_bad_signature_or_api_key_is_refused_and_stores_nothing(hub, headers):
    response = hub.post("sm", NOTE, headers)
    assert response.status_code == 401, response.json
    assert hub.store.reads.events() == []


def test_an_sm_apikey_that_is_not_the_client_id_is_named_in_the_error(hub):
    response = hub.post("sm", NOTE, signed(**{"Sm-Apikey": "another-app"}))
    assert "Sm-Apikey" in response.json["error"]["message"]


def test_a_deleted_response_is_answered_and_ignored(hub):
    body = orjson.dumps({**orjson.loads(NOTE), "event_type": "response_deleted"})
    response = hub.post("sm", body, signed(body))
    assert response.status_code == 200
    assert hub.store.reads.events() == []


def test_a_notification_that_is_not_about_a_response_is_quarantined(hub):
    body = orjson.dumps({**orjson.loads(NOTE), "event_type": "survey_created"})
    response = hub.post("sm", body, signed(body))
    assert response.status_code == 422
    assert len(hub.store.quarantine.requests()) == 1


@pytest.mark.parametrize("status", [401, 404])
def test_an_api_refusal_gives_up_and_is_listed_by_the_cli(hub, httpserver, cxhub_redis_url, cxhub_database_url,
                                                          status):
    httpserver.expect_oneshot_request(SURVEY_PATH).respond_with_data("no", status)
    hub.post("sm", NOTE, signed())
    hub.drain()
    event_id = the_event(hub)["id"]
    env = {"CXHUB_CONFIG": hub.app.config["CXHUB_CONFIG"], "REDIS_URL": cxhub_redis_url,
           "DATABASE_URL": cxhub_database_url}
    listed = CliRunner().invoke(main, ["enrichment", "list"], env=env, catch_exceptions=False)
    assert listed.exit_code == 0, listed.output
    assert event_id in listed.output and f"answered {status}" in listed.output
    assert hub.store.reads.deliveries() == []
    api(httpserver)  # the token is fixed, or the survey shared again
    retried = CliRunner().invoke(main, ["enrichment", "retry", "--all"], env=env, catch_exceptions=False)
    assert (retried.exit_code, retried.output.strip()) == (0, "queued 1 enrichments again")
    hub.drain()
    assert hub.store.enrichments.get(event_id).status == "done"
    assert len(hub.store.reads.deliveries()) == 1


def test_a_429_then_a_503_from_the_api_are_retried(hub, httpserver):
    httpserver.expect_oneshot_request(SURVEY_PATH).respond_with_data("", 429, {"Retry-After": "1"})
    api(httpserver)
    hub.post("sm", NOTE, signed())
    hub.drain()
    assert hub.store.enrichments.get(the_event(hub)["id"]).status == "done"
    assert api_calls(httpserver) == [SURVEY_PATH, SURVEY_PATH, RESPONSE_PATH]


def test_end_to_end_over_http_with_workers(hub, httpserver):
    api(httpserver)
    base = hub.serve()
    answer = requests.post(f"{base}/hooks/sm", data=NOTE, headers={**signed(), "Content-Type": "application/json"},
                           timeout=10)
    assert answer.status_code == 202
    hub.start_workers(2)
    from hub.testing import wait_for

    wait_for(lambda: [d.status for d in hub.store.reads.deliveries()] == ["succeeded"])
    assert the_event(hub)["data"]["score"]["band"] == "negative"
