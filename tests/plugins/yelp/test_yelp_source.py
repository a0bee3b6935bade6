"""The Yelp source: the verification handshake, batches of thin review events answered at once,
then enriched from a stand-in of the API over real HTTP, which checks the path and the bearer key."""

from __future__ import annotations

import copy

import orjson
import pytest
from click.testing import CliRunner

import plugins.webhook as webhook
import plugins.yelp as yelp
from hub.cli import main
from hub.testing import assert_valid_event
from tests.conftest import WHSEC, fixture_bytes

API_KEY = "yelp-api-key"
SOURCE_TOKEN = "yelp-source-token-7d2f"  # Yelp signs nothing: the URL it calls carries this
HOOK = f"/hooks/yelp?token={SOURCE_TOKEN}"
BUSINESS = "3l54GTr8-E3XPpxxnF_sAA"
REVIEWS_PATH = f"/v3/businesses/{BUSINESS}/reviews"
BEARER = {"Authorization": f"Bearer {API_KEY}"}
NEW = fixture_bytes("yelp/new_review.json")
BATCH = fixture_bytes("yelp/batch.json")
REVIEWS = orjson.loads(fixture_bytes("yelp/reviews.json"))
TIME = "2020-10-10T19:30:27.731910Z"  # the sample's zoneless time, read as UTC
ENV = {"YELP_API_KEY": API_KEY, "YELP_TOKEN": SOURCE_TOKEN, "OUT_SECRET": WHSEC}


def config(api_url: str, receiver: str, poll: str = "") -> str:
    return f"""
sources:
  yelp:
    plugin: yelp
    token: {{$env: YELP_TOKEN}}{poll}
    settings:
      api_key: {{$env: YELP_API_KEY}}
      api_url: "{api_url}"
    api_retry: {{max_attempts: 2, initial_delay: 0, max_delay: 0}}
connections:
  out:
    plugin: webhook
    settings: {{url: "{receiver}", secret: {{$env: OUT_SECRET}}}}
    retry: {{max_attempts: 1}}
routes:
  - name: everything
    actions:
      - {{connection: out, action: forward}}
"""


@pytest.fixture
def hub(make_hub, httpserver):
    httpserver.expect_request("/receiver", method="POST").respond_with_data("")
    return make_hub(config(httpserver.url_for("/"), httpserver.url_for("/receiver")),
                    plugins=[yelp, webhook], env=ENV)


def post(hub, body: bytes, url: str = HOOK):
    return hub.client.post(url, data=body, content_type="application/json")


def api(httpserver, reviews=REVIEWS) -> None:
    httpserver.expect_request(REVIEWS_PATH, method="GET", headers=BEARER).respond_with_json(reviews)


def api_calls(httpserver) -> list[str]:
    return [request.path for request, _ in httpserver.log if request.path.startswith("/v3/")]


def routed(httpserver) -> list[str]:
    return [orjson.loads(request.data)["id"] for request, _ in httpserver.log if request.path == "/receiver"]


def events(hub) -> list[dict]:
    return sorted((orjson.loads(row.body) for row in hub.store.reads.events()), key=lambda e: e["subject"])


def with_updates(*updates) -> bytes:
    payload = orjson.loads(BATCH)
    payload["data"]["updates"] = list(updates)
    return orjson.dumps(payload)


# The handshake


def test_the_verification_get_is_answered_with_the_same_string(hub):
    response = hub.client.get(f"{HOOK}&verification=Abc123xyz")
    assert response.status_code == 200
    assert response.json == {"verification": "Abc123xyz"}
    assert hub.store.reads.events() == []


@pytest.mark.parametrize(("query", "message"), [
    ("", "?verification= is missing"),
    ("&verification=", "letters and digits"),
    ("&verification=abc%3Cscript%3E", "letters and digits"),
    ("&verification=abc&other=1", "not other"),
])
def test_a_get_that_is_not_the_verification_request_is_refused(hub, query, message):
    response = hub.client.get(HOOK + query)
    assert response.status_code == 400, response.json
    assert message in response.json["error"]["message"]
    assert hub.store.reads.events() == [] and hub.store.quarantine.requests() == []


@pytest.mark.parametrize("method", ["PUT", "HEAD"])
def test_another_method_is_refused_with_405(hub, method):
    response = hub.client.open(f"{HOOK}&verification=abc", method=method)
    assert response.status_code == 405
    assert hub.store.reads.events() == []


@pytest.mark.parametrize("url", ["/hooks/yelp", "/hooks/yelp?token=wrong", "/hooks/yelp?verification=abc"])
def test_without_the_source_token_nothing_is_answered_or_stored(hub, url):
    assert post(hub, NEW, url).status_code == 401
    assert hub.client.get(url).status_code == 401
    assert hub.store.reads.events() == []


def test_a_yelp_source_without_a_token_is_refused_at_load(make_hub, httpserver):
    text = config(httpserver.url_for("/"), httpserver.url_for("/receiver")).replace(
        "    token: {$env: YELP_TOKEN}\n", "")
    with pytest.raises(Exception, match="token"):
        make_hub(text, plugins=[yelp, webhook], env=ENV)


# Batches


def test_a_batch_of_three_becomes_three_thin_events_without_calling_the_api(hub, httpserver):
    response = post(hub, BATCH)
    assert response.status_code == 202, response.json
    assert api_calls(httpserver) == [] and hub.store.reads.deliveries() == []
    stored = events(hub)
    assert [(e["type"], e["subject"]) for e in stored] == [
        ("cx.review.created", "9CNz4nWU59PIZsiDV9sSVQ"),
        ("cx.review.created", "D73wpY6vVS75JXlZjJvmSA"),
        ("cx.review.updated", "xAG4O7l-t1ubbwVAlPnDKg"),
    ]
    assert all(e["data"]["text"] is None and e["data"]["score"] is None for e in stored)
    assert stored[0]["data"]["attributes"] == {"business_id": BUSINESS, "event_type": "NEW_REVIEW_EVENT",
                                               "language": "en"}
    assert [hub.store.enrichments.get(e["id"]).status for e in stored] == ["pending"] * 3


def test_the_enriched_events_have_text_rating_and_reviewer_and_are_routed_once(hub, httpserver):
    api(httpserver)
    post(hub, BATCH)
    hub.drain()
    stored = events(hub)
    for event in stored:
        assert_valid_event(event)
    first = stored[0]["data"]
    assert first["text"].startswith("Went back again to this place")
    assert first["score"] == {"type": "rating", "value": 5, "min": 1, "max": 5, "band": "positive"}
    assert first["customer"] == {"id": "vey7Vnlh-M0bLtpd1nB9Aw", "email": None, "name": "Ella A."}
    assert first["link"]["url"].startswith("https://www.yelp.com/biz/garaje-san-francisco")
    assert stored[1]["data"]["score"]["band"] == "negative"
    assert stored[2]["data"]["text"] == "Edited: the manager called me back and made it right."
    assert stored[0]["time"] == TIME
    assert api_calls(httpserver) == [REVIEWS_PATH] * 3
    assert sorted(routed(httpserver)) == sorted(e["id"] for e in stored)


def test_a_resent_batch_routes_nothing_twice(hub, httpserver):
    api(httpserver)
    post(hub, BATCH)
    hub.drain()
    assert post(hub, BATCH).status_code == 200
    hub.drain()
    assert len(hub.store.reads.events()) == 3
    assert len(routed(httpserver)) == 3
    assert api_calls(httpserver) == [REVIEWS_PATH] * 3


def test_a_second_edit_of_a_review_is_a_new_event(hub, httpserver):
    api(httpserver)
    edit = orjson.loads(BATCH)["data"]["updates"][2]
    post(hub, with_updates(edit))
    later = orjson.loads(with_updates(edit))
    later["time"] = "2020-10-11T08:00:00"
    assert post(hub, orjson.dumps(later)).status_code == 202
    assert len(hub.store.reads.events()) == 2


def test_one_broken_update_is_quarantined_and_the_others_kept(hub, httpserver):
    api(httpserver)
    good = orjson.loads(BATCH)["data"]["updates"]
    response = post(hub, with_updates(good[0], {"event_type": "NEW_REVIEW_EVENT"}, good[1]))
    assert response.status_code == 202, response.json
    [kept] = response.json["quarantined"]
    entry = hub.store.quarantine.get(kept)
    assert "data.updates[1]" in entry.error and "review_id" in entry.error
    assert orjson.loads(entry.body)["data"] == {"id": BUSINESS, "updates": [{"event_type": "NEW_REVIEW_EVENT"}]}
    assert len(hub.store.reads.events()) == 2
    hub.drain()
    assert len(routed(httpserver)) == 2


def test_an_unknown_event_type_is_quarantined_by_name(hub):
    response = post(hub, with_updates({"event_type": "NEW_LEAD", "review_id": "x"}))
    assert response.status_code == 422
    [kept] = response.json["error"]["quarantined"]
    assert "unknown event_type 'NEW_LEAD'" in hub.store.quarantine.get(kept).error


@pytest.mark.parametrize("body", [
    b'{"object": "lead", "data": {}}',
    b"[]",
    b'{"object": "business", "data": {"id": "b", "updates": {}}, "time": "2020-10-10T19:30:27"}',
])
def test_a_payload_that_is_not_a_business_batch_is_quarantined(hub, body):
    assert post(hub, body).status_code == 422
    assert len(hub.store.quarantine.requests()) == 1
    assert hub.store.reads.events() == []


def test_a_removed_review_is_a_deleted_event_with_no_api_call(hub, httpserver):
    response = post(hub, with_updates({"event_type": "REVIEW_REMOVED_EVENT", "review_id": "D73wpY6vVS75JXlZjJvmSA",
                                       "user_id": "ZnXozNY_u-h3RyBtScoGfA"}))
    assert response.status_code == 202
    hub.drain()
    [event] = events(hub)
    assert (event["type"], event["subject"]) == ("cx.review.deleted", "D73wpY6vVS75JXlZjJvmSA")
    assert api_calls(httpserver) == []
    assert routed(httpserver) == [event["id"]]


# The API during enrichment


@pytest.mark.parametrize("status", [401, 404])
def test_an_api_refusal_gives_up_and_is_listed(hub, httpserver, cxhub_redis_url, cxhub_database_url, status):
    httpserver.expect_oneshot_request(REVIEWS_PATH).respond_with_data("no", status)
    post(hub, NEW)
    hub.drain()
    [event] = events(hub)
    row = hub.store.enrichments.get(event["id"])
    assert (row.status, row.attempts) == ("failed", 1)
    env = {"CXHUB_CONFIG": hub.app.config["CXHUB_CONFIG"], "REDIS_URL": cxhub_redis_url,
           "DATABASE_URL": cxhub_database_url}
    listed = CliRunner().invoke(main, ["enrichment", "list"], env=env, catch_exceptions=False)
    assert listed.exit_code == 0, listed.output
    assert event["id"] in listed.output and f"answered {status}" in listed.output
    assert routed(httpserver) == []
    api(httpserver)
    retried = CliRunner().invoke(main, ["enrichment", "retry", "--all"], env=env, catch_exceptions=False)
    assert retried.exit_code == 0, retried.output
    hub.drain()
    assert hub.store.enrichments.get(event["id"]).status == "done"
    assert routed(httpserver) == [event["id"]]


def test_a_review_the_api_does_not_return_gives_up_with_the_reason(hub, httpserver):
    api(httpserver, reviews={"reviews": [], "total": 0})
    post(hub, NEW)
    hub.drain()
    [event] = events(hub)
    row = hub.store.enrichments.get(event["id"])
    assert row.status == "failed" and "9CNz4nWU59PIZsiDV9sSVQ is not among the reviews" in row.last_error


@pytest.mark.parametrize("status", [429, 503])
def test_a_429_or_5xx_is_retried(hub, httpserver, status):
    httpserver.expect_oneshot_request(REVIEWS_PATH).respond_with_data("", status, {"Retry-After": "0"})
    api(httpserver)
    post(hub, NEW)
    hub.drain()
    [event] = events(hub)
    assert hub.store.enrichments.get(event["id"]).status == "done"
    assert api_calls(httpserver) == [REVIEWS_PATH, REVIEWS_PATH]
    assert routed(httpserver) == [event["id"]]


def test_a_rating_out_of_range_gives_no_score(hub, httpserver):
    reviews = copy.deepcopy(REVIEWS)
    reviews["reviews"][0]["rating"] = 7
    api(httpserver, reviews=reviews)
    post(hub, NEW)
    hub.drain()
    [event] = events(hub)
    assert event["data"]["score"] is None and event["data"]["text"]
