"""Google reviews pushes answered before any API call: a real push over HTTP stores a thin event,
the enrichment job reads the review from a pytest-httpserver stand-in of the Business Profile API
(path and `Authorization: Bearer` checked), and a review or an edit that the push and the poll both
bring is one event, routed once, in either order."""

from __future__ import annotations

import copy
import json

import orjson
import pytest
import requests
from click.testing import CliRunner

import plugins.google_reviews as google_reviews
import plugins.webhook as webhook
from hub.cli import main
from hub.polling import poll_source
from hub.testing import assert_valid_event
from tests.conftest import WHSEC, fixture_bytes

ACCOUNT, LOCATION, TOKEN = "108219477364531127071", "4512076309871534571", "ya29.test-token"
LIST = f"/v4/accounts/{ACCOUNT}/locations/{LOCATION}/reviews"
PAGE = json.loads(fixture_bytes("google_reviews/reviews_page.json"))
NEW_REVIEW, EDITED_REVIEW = PAGE["reviews"]
NEW_PUSH = fixture_bytes("google_reviews/pubsub_new_review.json")
UPDATED_PUSH = fixture_bytes("google_reviews/pubsub_updated_review.json")
SOURCE_TOKEN = "google-push-token-9f3b2d"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CURSOR = "2026-11-30T00:00:00+00:00"


@pytest.fixture
def hub(make_hub, httpserver):
    httpserver.expect_request("/receiver", method="POST").respond_with_data("ok")
    config = f"""
sources:
  google:
    plugin: google_reviews
    token: {{$env: GOOGLE_PUSH_TOKEN}}
    poll: {{every: 15m}}
    api_retry: {{max_attempts: 3, initial_delay: 0, max_delay: 0}}
    settings:
      account_id: "{ACCOUNT}"
      location_id: "{LOCATION}"
      access_token: {{$env: GOOGLE_TOKEN}}
      api_url: "{httpserver.url_for("/")}"
connections:
  out:
    plugin: webhook
    settings: {{url: "{httpserver.url_for("/receiver")}", secret: {{$env: APP_SECRET}}}}
    retry: {{max_attempts: 1}}
routes:
  - name: everything
    actions:
      - {{connection: out, action: forward}}
"""
    return make_hub(config, plugins=[google_reviews, webhook],
                    env={"GOOGLE_TOKEN": TOKEN, "GOOGLE_PUSH_TOKEN": SOURCE_TOKEN, "APP_SECRET": WHSEC})


def push(base_url: str, body: bytes) -> requests.Response:
    """A push as Pub/Sub sends it to the endpoint `https://<hub>/hooks/google?token=...`."""
    return requests.post(f"{base_url}/hooks/google?token={SOURCE_TOKEN}", data=body, timeout=10,
                         headers={"Content-Type": "application/json", "User-Agent": "APIs-Google"})


def serve_review(httpserver, review) -> None:
    httpserver.expect_request(f"/v4/{review['name']}", method="GET", headers=AUTH).respond_with_json(review)


def serve_list(httpserver, reviews) -> None:
    httpserver.expect_request(LIST, method="GET", headers=AUTH).respond_with_json({"reviews": reviews})


def api_calls(httpserver) -> list[tuple[str, str | None]]:
    return [(request.path, request.headers.get("Authorization"))
            for request, _ in httpserver.log if request.path.startswith("/v4/")]


def routed(httpserver) -> list[dict]:
    return [orjson.loads(request.data) for request, _ in httpserver.log if request.path == "/receiver"]


def stored(hub) -> list[dict]:
    return sorted((orjson.loads(row.body) for row in hub.store.reads.events()), key=lambda event: event["time"])


def poll(hub):
    hub.store.cursors.save("google", CURSOR)
    return poll_source(hub.hub, "google")


def test_a_push_is_answered_with_the_thin_event_and_no_api_call(hub, httpserver):
    serve_review(httpserver, NEW_REVIEW)
    response = push(hub.serve(), NEW_PUSH)
    assert response.status_code == 202, response.text
    [thin] = stored(hub)
    assert response.json()["accepted"] == [thin["id"]]
    assert api_calls(httpserver) == [] and hub.store.reads.deliveries() == []  # nobody called Google meanwhile
    assert (thin["type"], thin["subject"], thin["time"]) == ("cx.review.created", "AbFvOqmR9xkq7Vb3Zt2c",
                                                             "2026-11-30T19:02:13.749000Z")  # publishTime
    assert thin["data"]["score"] is None and thin["data"]["text"] is None
    assert thin["data"]["vendor_event_id"] == "review:AbFvOqmR9xkq7Vb3Zt2c:created"
    assert thin["data"]["attributes"] == {"review_name": NEW_REVIEW["name"], "notification": "NEW_REVIEW"}
    assert hub.store.enrichments.get(thin["id"]).status == "pending"


def test_the_enrichment_reads_the_review_and_routes_it_once(hub, httpserver):
    serve_review(httpserver, NEW_REVIEW)
    [accepted] = push(hub.serve(), NEW_PUSH).json()["accepted"]
    hub.drain()
    assert api_calls(httpserver) == [(f"/v4/{NEW_REVIEW['name']}", f"Bearer {TOKEN}")]
    [event] = stored(hub)
    assert_valid_event(event)
    assert event["id"] == accepted and hub.store.enrichments.get(accepted).status == "done"
    assert event["time"] == "2026-11-30T19:02:11.418204Z"  # the review's createTime, now it is known
    assert event["data"]["score"] == {"type": "rating", "value": 2, "min": 1, "max": 5, "band": "negative"}
    assert event["data"]["text"] == "Waited forty minutes for a table we had booked."
    assert event["data"]["customer"]["name"] == "Maria Ortega"
    assert event["data"]["attributes"] == {"review_name": NEW_REVIEW["name"], "anonymous": "false"}
    assert [item["id"] for item in routed(httpserver)] == [accepted]
    assert routed(httpserver)[0]["data"]["score"]["value"] == 2  # the route ran on the enriched event


def test_a_poll_after_the_push_creates_nothing_new(hub, httpserver):
    serve_review(httpserver, NEW_REVIEW)
    [pushed] = push(hub.serve(), NEW_PUSH).json()["accepted"]
    hub.drain()
    serve_list(httpserver, [NEW_REVIEW])
    outcome = poll(hub)
    assert outcome.duplicates == [pushed] and outcome.accepted == []
    hub.drain()
    assert len(stored(hub)) == 1 and [item["id"] for item in routed(httpserver)] == [pushed]


def test_a_poll_before_the_enrichment_is_one_event_routed_once(hub, httpserver):
    serve_review(httpserver, NEW_REVIEW)
    serve_list(httpserver, [NEW_REVIEW])
    [pushed] = push(hub.serve(), NEW_PUSH).json()["accepted"]
    outcome = poll(hub)  # the thin event is still waiting for its worker
    assert outcome.duplicates == [pushed] and outcome.accepted == []
    hub.drain()
    [event] = stored(hub)
    assert event["data"]["score"]["value"] == 2
    assert [item["id"] for item in routed(httpserver)] == [pushed]


def test_a_push_after_the_poll_stores_and_routes_nothing_more(hub, httpserver):
    serve_list(httpserver, [NEW_REVIEW])
    [polled] = poll(hub).accepted
    hub.drain()
    response = push(hub.serve(), NEW_PUSH)
    assert response.status_code == 200 and response.json()["duplicates"] == [polled]
    hub.drain()
    assert api_calls(httpserver) == [(LIST, f"Bearer {TOKEN}")]  # the push needed no API call
    assert len(stored(hub)) == 1 and len(routed(httpserver)) == 1


@pytest.mark.parametrize("status", [429, 500, 503])
def test_the_api_down_is_retried_and_nothing_is_lost(hub, httpserver, status):
    httpserver.expect_oneshot_request(f"/v4/{NEW_REVIEW['name']}").respond_with_data("", status, {"Retry-After": "0"})
    serve_review(httpserver, NEW_REVIEW)
    [accepted] = push(hub.serve(), NEW_PUSH).json()["accepted"]
    hub.drain()
    assert [path for path, _ in api_calls(httpserver)] == [f"/v4/{NEW_REVIEW['name']}"] * 2
    [event] = stored(hub)
    assert event["data"]["score"]["value"] == 2 and hub.store.enrichments.get(accepted).status == "done"
    assert [item["id"] for item in routed(httpserver)] == [accepted]


def test_the_api_down_for_longer_than_the_retries_fails_visibly_and_is_retried_after(
        hub, httpserver, cxhub_redis_url, cxhub_database_url):
    path = f"/v4/{NEW_REVIEW['name']}"
    for _ in range(3):
        httpserver.expect_oneshot_request(path).respond_with_data("", 503)
    [accepted] = push(hub.serve(), NEW_PUSH).json()["accepted"]
    hub.drain()
    row = hub.store.enrichments.get(accepted)
    assert (row.status, row.attempts) == ("failed", 3) and routed(httpserver) == []
    env = {"CXHUB_CONFIG": hub.app.config["CXHUB_CONFIG"], "REDIS_URL": cxhub_redis_url,
           "DATABASE_URL": cxhub_database_url}
    listed = CliRunner().invoke(main, ["enrichment", "list"], env=env, catch_exceptions=False)
    assert listed.exit_code == 0 and accepted in listed.output and "503" in listed.output
    assert TOKEN not in listed.output
    serve_review(httpserver, NEW_REVIEW)
    retried = CliRunner().invoke(main, ["enrichment", "retry", accepted], env=env, catch_exceptions=False)
    assert retried.exit_code == 0, retried.output
    hub.drain()
    assert hub.store.enrichments.get(accepted).status == "done"
    assert [item["id"] for item in routed(httpserver)] == [accepted]


@pytest.mark.parametrize("status", [401, 404])
def test_an_api_refusal_gives_up_at_once(hub, httpserver, status):
    httpserver.expect_request(f"/v4/{NEW_REVIEW['name']}").respond_with_json({"error": {"code": status}}, status)
    [accepted] = push(hub.serve(), NEW_PUSH).json()["accepted"]
    hub.drain()
    row = hub.store.enrichments.get(accepted)
    assert (row.status, row.attempts) == ("failed", 1) and str(status) in row.last_error
    assert TOKEN not in row.last_error and routed(httpserver) == []


def test_a_review_with_no_star_rating_gives_up_with_the_reason(hub, httpserver):
    serve_review(httpserver, {**NEW_REVIEW, "starRating": "STAR_RATING_UNSPECIFIED"})
    [accepted] = push(hub.serve(), NEW_PUSH).json()["accepted"]
    hub.drain()
    row = hub.store.enrichments.get(accepted)
    assert row.status == "failed" and "starRating must be ONE to FIVE" in row.last_error


# UPDATED_REVIEW: the push names the review, the enrichment finds the edit


def test_an_updated_review_push_is_a_thin_update_known_by_its_message(hub, httpserver):
    response = push(hub.serve(), UPDATED_PUSH)
    assert response.status_code == 202, response.text
    [thin] = stored(hub)
    assert (thin["type"], thin["subject"]) == ("cx.review.updated", "AbFvOqmT2hY8LwQ0pD5e")
    assert thin["data"]["update"] is True
    assert thin["data"]["vendor_event_id"] == "review:AbFvOqmT2hY8LwQ0pD5e:notified:2070447812039912"
    assert api_calls(httpserver) == []
    assert push(hub.serve(), UPDATED_PUSH).status_code == 200  # Pub/Sub redelivering the message: a duplicate


def test_an_updated_review_becomes_the_edit_a_poll_names_routed_once(hub, httpserver):
    serve_review(httpserver, EDITED_REVIEW)
    [announced] = push(hub.serve(), UPDATED_PUSH).json()["accepted"]
    hub.drain()
    [event] = stored(hub)
    assert_valid_event(event)
    assert event["id"] != announced and hub.store.enrichments.get(announced) is None  # the announcement is gone
    assert (event["type"], event["subject"], event["data"]["update"]) == ("cx.review.updated",
                                                                          "AbFvOqmT2hY8LwQ0pD5e", True)
    assert event["data"]["vendor_event_id"].startswith("review:AbFvOqmT2hY8LwQ0pD5e:updated:")
    assert event["data"]["score"]["value"] == 5 and event["data"]["attributes"]["reply"] == "Thank you for coming back!"
    assert event["time"] == "2026-11-30T12:30:45.123456Z"  # the edit's updateTime
    assert [item["id"] for item in routed(httpserver)] == [event["id"]]
    serve_list(httpserver, [EDITED_REVIEW])
    outcome = poll(hub)  # the poll sees the same edit: nothing new
    assert [found["type"] for found in outcome.events] == ["cx.review.updated"]
    assert outcome.duplicates == [event["id"]] and outcome.accepted == []
    hub.drain()
    assert len(stored(hub)) == 1 and len(routed(httpserver)) == 1


def test_an_edit_the_poll_saw_first_is_not_routed_again_by_the_push(hub, httpserver):
    serve_list(httpserver, [EDITED_REVIEW])
    [polled] = poll(hub).accepted
    hub.drain()
    serve_review(httpserver, EDITED_REVIEW)
    assert push(hub.serve(), UPDATED_PUSH).status_code == 202
    hub.drain()
    [event] = stored(hub)
    assert event["id"] == polled and [item["id"] for item in routed(httpserver)] == [polled]


def test_a_further_edit_is_a_new_update_of_the_same_review(hub, httpserver):
    serve_review(httpserver, EDITED_REVIEW)
    push(hub.serve(), UPDATED_PUSH)
    hub.drain()
    httpserver.clear_all_handlers()
    httpserver.expect_request("/receiver", method="POST").respond_with_data("ok")
    again = copy.deepcopy(EDITED_REVIEW)
    again.update(starRating="THREE", comment="Slower this time.", updateTime="2026-12-01T09:00:00Z")
    serve_review(httpserver, again)
    second = json.loads(UPDATED_PUSH)
    second["message"]["messageId"] = second["message"]["message_id"] = "2070459921100457"
    assert push(hub.serve(), json.dumps(second).encode()).status_code == 202
    hub.drain()
    first, later = stored(hub)
    assert first["subject"] == later["subject"] and later["data"]["update"] is True
    assert later["data"]["score"]["value"] == 3 and later["data"]["text"] == "Slower this time."
    assert first["id"] != later["id"]
    # `everything` ran for the first edit and has no run_on_updates: the further edit is kept, not routed again.
    assert [item["id"] for item in routed(httpserver)] == [first["id"]]


def test_an_update_of_a_review_the_hub_routed_is_not_routed_again_by_the_same_route(hub, httpserver):
    created = {**EDITED_REVIEW, "updateTime": EDITED_REVIEW["createTime"]}
    serve_list(httpserver, [created])
    hub.store.cursors.save("google", "2026-11-19T00:00:00+00:00")
    [first] = poll_source(hub.hub, "google").accepted
    hub.drain()
    serve_review(httpserver, EDITED_REVIEW)
    push(hub.serve(), UPDATED_PUSH)
    hub.drain()
    assert len(stored(hub)) == 2
    # The route `everything` ran for the review; the edit is an update, and the route has no run_on_updates.
    assert [item["id"] for item in routed(httpserver)] == [first]


def without(body: bytes, *names: str) -> bytes:
    envelope = json.loads(body)
    for name in names:
        del envelope["message"][name]
    return json.dumps(envelope).encode()


@pytest.mark.parametrize(("body", "message"), [
    (without(UPDATED_PUSH, "messageId", "message_id"), "message.messageId is missing"),
    (without(NEW_PUSH, "publishTime", "publish_time"), "publishTime"),
    (b'{"message": "not an object"}', "message must be an object"),
    (b'{"message": {"data": "bm90IGpzb24="}}', "not base64 of a JSON notification"),
    (b'{"message": {"data": "WzFd"}}', "not a JSON object"),
])
def test_a_push_that_cannot_be_read_is_refused_and_quarantined(hub, httpserver, body, message):
    response = push(hub.serve(), body)
    assert response.status_code == 422, response.text
    assert message in response.json()["error"]["message"]
    assert hub.store.reads.events() == [] and len(hub.store.quarantine.requests()) == 1
    assert api_calls(httpserver) == []
