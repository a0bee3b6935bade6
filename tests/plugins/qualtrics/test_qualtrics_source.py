"""The Qualtrics source: the event subscription's form, POSTed byte for byte over real HTTP and
signed as Qualtrics signs it, answered at once, then enriched from a stand-in of the v3
responses API that checks the path and the X-API-TOKEN header."""

from __future__ import annotations

import copy
import hashlib
import hmac
from urllib.parse import urlencode

import orjson
import pytest
import requests
from click.testing import CliRunner

import plugins.qualtrics as qualtrics
import plugins.webhook as webhook
from hub.cli import main
from hub.testing import assert_valid_event
from tests.conftest import WHSEC, fixture_bytes

SHARED_KEY = "qualtrics-shared-key"
API_TOKEN = "qualtrics-api-token"
TOPIC = "peopleplus.surveyengine.completedResponse.SV_cVn9uBwheR9hz01"
MSG = fixture_bytes("qualtrics/completed_response_msg.json").decode()
RESPONSE = orjson.loads(fixture_bytes("qualtrics/response.json"))
RESPONSE_PATH = "/API/v3/surveys/SV_cVn9uBwheR9hz01/responses/R_suq806jn8LGzhx7"
TOKEN_HEADER = {"X-API-TOKEN": API_TOKEN}
FORM_TYPE = "application/x-www-form-urlencoded"
ENV = {"Q_KEY": SHARED_KEY, "Q_TOKEN": API_TOKEN, "OUT_SECRET": WHSEC}


def config(api_url: str, receiver: str, **settings: str) -> str:
    extra = "".join(f"\n      {key}: \"{value}\"" for key, value in settings.items())
    return f"""
sources:
  qx:
    plugin: qualtrics
    settings:
      shared_key: {{$env: Q_KEY}}
      api_token: {{$env: Q_TOKEN}}
      api_url: "{api_url}"{extra}
    api_retry: {{max_attempts: 3, initial_delay: 0, max_delay: 0}}
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


@pytest.fixture
def make(make_hub, httpserver):
    httpserver.expect_request("/receiver", method="POST").respond_with_data("")

    def build(**settings: str):
        return make_hub(config(httpserver.url_for("/"), httpserver.url_for("/receiver"), **settings),
                        plugins=[qualtrics, webhook], env=ENV)

    return build


@pytest.fixture
def hub(make):
    return make()


def sign(message: str, key: str = SHARED_KEY) -> str:
    """As issue 13 says Qualtrics signs: hex HMAC-SHA512 of the MSG value, keyed with the shared key."""
    return hmac.new(key.encode(), message.encode(), hashlib.sha512).hexdigest()


def form(msg: str | None = MSG, topic: str = TOPIC, signature: str | None = "sign") -> bytes:
    """The body in the order and encoding of Qualtrics' sample: Topic, HMAC, MSG; spaces as +."""
    fields = [("Topic", topic)]
    if signature is not None:
        fields.append(("HMAC", sign(msg or "") if signature == "sign" else signature))
    if msg is not None:
        fields.append(("MSG", msg))
    return urlencode(fields).encode()


def post(hub, body: bytes):
    return hub.post("qx", body, content_type=FORM_TYPE)


def api(httpserver, response=RESPONSE) -> None:
    httpserver.expect_request(RESPONSE_PATH, method="GET", headers=TOKEN_HEADER).respond_with_json(response)


def api_calls(httpserver) -> list[str]:
    return [request.path for request, _ in httpserver.log if request.path.startswith("/API/")]


def the_event(hub) -> dict:
    [row] = hub.store.reads.events()
    return orjson.loads(row.body)


def test_the_form_encodes_like_qualtrics_sample():
    assert form().startswith(b"Topic=peopleplus.surveyengine.completedResponse.SV_cVn9uBwheR9hz01&HMAC=")
    assert b"&MSG=%7B%22Status%22%3A%22Complete%22%2C%22SurveyID%22" in form()
    assert b"%222020-10-22+12%3A31%3A40%22" in form()
    assert len(sign(MSG)) == 128


def test_a_signed_form_over_http_is_stored_thin_and_not_routed(hub, httpserver):
    base = hub.serve()
    answer = requests.post(f"{base}/hooks/qx", data=form(), headers={"Content-Type": FORM_TYPE}, timeout=10)
    assert answer.status_code == 202, answer.text
    assert api_calls(httpserver) == []
    assert hub.store.reads.deliveries() == []
    event = the_event(hub)
    assert (event["subject"], event["data"]["score"], event["data"]["text"]) == ("R_suq806jn8LGzhx7", None, None)
    assert event["data"]["vendor_event_id"] == "R_suq806jn8LGzhx7:completedResponse"
    assert event["data"]["attributes"] == {"topic": "completedResponse", "survey_id": "SV_cVn9uBwheR9hz01",
                                           "status": "Complete", "distribution_id": "EMD_96woxYS85Cg5Lqx",
                                           "brand_id": "peopleplus"}
    assert event["time"] == "2020-10-22T12:31:40Z"
    assert hub.store.enrichments.get(event["id"]).status == "pending"


def test_enrichment_reads_the_response_and_routes_it_once(hub, httpserver):
    api(httpserver)
    base = hub.serve()
    requests.post(f"{base}/hooks/qx", data=form(), headers={"Content-Type": FORM_TYPE}, timeout=10)
    hub.drain()
    event = the_event(hub)
    assert_valid_event(event)
    assert event["data"]["score"] == {"type": "nps", "value": 3, "min": 0, "max": 10, "band": "negative"}
    assert event["data"]["text"] == "The export keeps failing."
    assert event["data"]["customer"] == {"id": "CUST-1042", "email": "ada@example.com", "name": "Ada Lovelace"}
    assert event["data"]["link"] == {"system": "qualtrics", "id": "R_suq806jn8LGzhx7", "type": "response",
                                     "url": None}
    assert event["time"] == "2020-10-22T12:31:40Z"
    assert api_calls(httpserver) == [RESPONSE_PATH]
    assert [delivery.status for delivery in hub.store.reads.deliveries()] == ["succeeded"]
    hub.drain()
    assert len(hub.store.reads.deliveries()) == 1
    assert api_calls(httpserver) == [RESPONSE_PATH]


def test_a_resent_form_is_stored_and_enriched_once(hub, httpserver):
    api(httpserver)
    assert post(hub, form()).status_code == 202
    hub.drain()
    assert post(hub, form()).status_code in (200, 202)
    hub.drain()
    assert len(hub.store.reads.events()) == 1
    assert len(hub.store.reads.deliveries()) == 1
    assert api_calls(httpserver) == [RESPONSE_PATH]


def test_a_stand_in_that_wants_another_token_refuses_and_the_enrichment_fails(hub, httpserver):
    httpserver.expect_request(RESPONSE_PATH, headers={"X-API-TOKEN": "another"}).respond_with_json(RESPONSE)
    httpserver.expect_request(RESPONSE_PATH).respond_with_data("missing token", 401)
    post(hub, form())
    hub.drain()
    assert hub.store.enrichments.get(the_event(hub)["id"]).status == "failed"


def test_nps_question_id_and_comment_question_id_choose_the_questions(make, httpserver):
    hub = make(nps_question_id="QID5", comment_question_id="QID6")
    response = copy.deepcopy(RESPONSE)
    response["result"]["values"].update({"QID5": "10", "QID6_TEXT": "Support was quick."})
    api(httpserver, response)
    post(hub, form())
    hub.drain()
    event = the_event(hub)
    assert (event["data"]["score"]["value"], event["data"]["text"]) == (10, "Support was quick.")
    assert hub.store.reads.deliveries() == []  # a promoter: the detractors route does not run


def test_without_an_nps_question_there_is_no_score(hub, httpserver):
    response = copy.deepcopy(RESPONSE)
    del response["result"]["values"]["QID1_NPS_GROUP"]
    api(httpserver, response)
    post(hub, form())
    hub.drain()
    assert the_event(hub)["data"]["score"] is None
    assert hub.store.enrichments.get(the_event(hub)["id"]).status == "done"


@pytest.mark.parametrize("body", [
    form(signature=None),
    form(signature=sign(MSG, key="wrong")),
    form(signature=sign(MSG + " ")),
    form(signature=sign(MSG)[:-2]),
    form().replace(b"R_suq806jn8LGzhx7", b"R_suq806jn8LGzhx8"),
    form() + b"&HMAC=" + sign(MSG).encode(),  # two HMAC fields
])
def test_a_missing_or_wrong_hmac_gets_401_and_stores_nothing(hub, body):
    response = post(hub, body)
    assert response.status_code == 401, response.json
    assert hub.store.reads.events() == []
    assert hub.store.quarantine.requests() == []


@pytest.mark.parametrize(("body", "message"), [
    (form(msg=None), "no MSG field"),
    (form(msg="not json"), "MSG field is not JSON"),
    (form(msg='["a list"]'), "not a JSON object"),
    (b"Topic=x&MSG=%7B%7D&MSG=%7B%7D", "2 MSG fields"),
])
def test_a_form_without_a_json_msg_gets_400_and_stores_nothing(hub, body, message):
    response = post(hub, body)
    assert response.status_code == 400, response.json
    assert message in response.json["error"]["message"]
    assert hub.store.reads.events() == []
    assert hub.store.quarantine.requests() == []


def test_a_msg_without_a_response_id_is_quarantined(hub):
    msg = orjson.dumps({k: v for k, v in orjson.loads(MSG).items() if k != "ResponseID"}).decode()
    response = post(hub, form(msg=msg))
    assert response.status_code == 422, response.json
    assert hub.store.reads.events() == []
    assert len(hub.store.quarantine.requests()) == 1


def test_another_survey_engine_topic_is_answered_and_ignored(hub):
    response = post(hub, form(topic="peopleplus.surveyengine.startedRecipientSession.SV_cVn9uBwheR9hz01"))
    assert (response.status_code, response.data) == (200, b"ignored")
    assert hub.store.reads.events() == []


def test_a_topic_outside_the_survey_engine_is_quarantined(hub):
    response = post(hub, form(topic="controlpanel.activateSurvey"))
    assert response.status_code == 422
    assert len(hub.store.quarantine.requests()) == 1


@pytest.mark.parametrize("status", [401, 404])
def test_an_api_refusal_gives_up_and_is_listed_by_the_cli(hub, httpserver, cxhub_redis_url, cxhub_database_url,
                                                          status):
    httpserver.expect_oneshot_request(RESPONSE_PATH).respond_with_data("no", status)
    post(hub, form())
    hub.drain()
    event_id = the_event(hub)["id"]
    assert hub.store.enrichments.get(event_id).status == "failed"
    assert api_calls(httpserver) == [RESPONSE_PATH]  # given up at once, not retried
    env = {"CXHUB_CONFIG": hub.app.config["CXHUB_CONFIG"], "REDIS_URL": cxhub_redis_url,
           "DATABASE_URL": cxhub_database_url, **ENV}
    listed = CliRunner().invoke(main, ["enrichment", "list"], env=env, catch_exceptions=False)
    assert listed.exit_code == 0, listed.output
    assert event_id in listed.output and f"answered {status}" in listed.output
    assert hub.store.reads.deliveries() == []
    api(httpserver)  # the token is fixed
    retried = CliRunner().invoke(main, ["enrichment", "retry", "--all"], env=env, catch_exceptions=False)
    assert (retried.exit_code, retried.output.strip()) == (0, "queued 1 enrichments again")
    hub.drain()
    assert hub.store.enrichments.get(event_id).status == "done"
    assert len(hub.store.reads.deliveries()) == 1


@pytest.mark.parametrize("status", [429, 503])
def test_a_429_or_5xx_from_the_api_is_retried(hub, httpserver, status):
    httpserver.expect_oneshot_request(RESPONSE_PATH).respond_with_data("", status, {"Retry-After": "1"})
    api(httpserver)
    post(hub, form())
    hub.drain()
    assert hub.store.enrichments.get(the_event(hub)["id"]).status == "done"
    assert api_calls(httpserver) == [RESPONSE_PATH, RESPONSE_PATH]
    assert len(hub.store.reads.deliveries()) == 1
