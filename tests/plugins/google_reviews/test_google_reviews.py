"""Google reviews: polls of the Business Profile API (a pytest-httpserver stand-in) with the documented
path, query, auth and page tokens; Pub/Sub push notifications, byte for byte over HTTP, fetched and
recognised as the review a poll finds, so each review is routed once."""

from __future__ import annotations

import base64
import json

import pytest
import requests

import plugins.google_reviews as google_reviews
import plugins.webhook as webhook
from hub.polling import PollFailed, poll_source
from tests.conftest import WHSEC, fixture_bytes

ACCOUNT, LOCATION, TOKEN = "108219477364531127071", "4512076309871534571", "ya29.test-token"
REVIEWS = f"/v4/accounts/{ACCOUNT}/locations/{LOCATION}/reviews"
PAGE = json.loads(fixture_bytes("google_reviews/reviews_page.json"))
NOTIFICATION = fixture_bytes("google_reviews/pubsub_new_review.json")
CURSOR = "2026-11-30T00:00:00+00:00"
SOURCE_TOKEN = "google-push-token-9f3b2d"  # the push URL carries it: with no audience set, no OIDC token is checked
HOOK = f"google?token={SOURCE_TOKEN}"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def hub(make_hub, httpserver):
    httpserver.expect_request("/receiver", method="POST").respond_with_data("ok")
    config = f"""
sources:
  google:
    plugin: google_reviews
    token: {{$env: GOOGLE_PUSH_TOKEN}}
    poll: {{every: 15m}}
    settings:
      account_id: "{ACCOUNT}"
      location_id: "{LOCATION}"
      access_token: {{$env: GOOGLE_TOKEN}}
      api_url: "{httpserver.url_for("/")}"
connections:
  out:
    plugin: webhook
    settings: {{url: "{httpserver.url_for("/receiver")}", secret: {{$env: APP_SECRET}}}}
routes:
  - name: everything
    actions:
      - {{connection: out, action: forward}}
"""
    return make_hub(config, plugins=[google_reviews, webhook], env={"GOOGLE_TOKEN": TOKEN, "GOOGLE_PUSH_TOKEN": SOURCE_TOKEN, "APP_SECRET": WHSEC})


def routed(httpserver) -> int:
    return sum(1 for request, _ in httpserver.log if request.path == "/receiver")


def test_a_poll_follows_page_tokens_with_the_documented_query_and_auth(hub, httpserver):
    hub.store.cursors.save("google", CURSOR)
    first = {"pageSize": "50", "orderBy": "updateTime desc"}
    httpserver.expect_ordered_request(REVIEWS, query_string=first, headers=AUTH).respond_with_json(PAGE)
    last = {**first, "pageToken": PAGE["nextPageToken"]}
    older = {"reviews": [{**PAGE["reviews"][0], "reviewId": "old", "createTime": "2026-11-01T00:00:00Z",
                          "updateTime": "2026-11-01T00:00:00Z"}]}
    httpserver.expect_ordered_request(REVIEWS, query_string=last, headers=AUTH).respond_with_json(older)
    outcome = poll_source(hub.hub, "google")
    httpserver.check_assertions()
    # The new review, and the edit of the older one; the review from November 1st is before the cursor.
    assert [(event["type"], event["subject"]) for event in outcome.events] == [
        ("cx.review.created", "AbFvOqmR9xkq7Vb3Zt2c"), ("cx.review.updated", "AbFvOqmT2hY8LwQ0pD5e")]
    new, edited = outcome.events
    assert new["data"]["score"] == {"type": "rating", "value": 2, "min": 1, "max": 5, "band": "negative"}
    assert new["data"]["customer"] == {"id": None, "email": None, "name": "Maria Ortega"}
    assert edited["data"]["customer"]["name"] is None and edited["data"]["text"] is None  # anonymous, rating only
    assert edited["time"] == "2026-11-30T12:30:45.123456Z"  # nanoseconds cut to microseconds
    assert edited["data"]["attributes"]["reply"] == "Thank you for coming back!"
    assert outcome.cursor_after == "2026-11-30T19:02:11.418204+00:00"


def test_a_notification_and_a_poll_of_the_same_review_are_one_event_routed_once(hub, httpserver):
    review = PAGE["reviews"][0]
    httpserver.expect_request(f"/v4/{review['name']}", headers=AUTH).respond_with_json(review)
    response = requests.post(f"{hub.serve()}/hooks/{HOOK}", data=NOTIFICATION,
                             headers={"Content-Type": "application/json"}, timeout=10)
    assert response.status_code == 202, response.text
    [notified] = response.json()["accepted"]
    hub.drain()
    hub.store.cursors.save("google", CURSOR)
    httpserver.expect_request(REVIEWS).respond_with_json({**PAGE, "nextPageToken": None})
    outcome = poll_source(hub.hub, "google")
    assert notified in outcome.duplicates and len(outcome.accepted) == 1  # only the edit is new
    hub.drain()
    assert routed(httpserver) == 2


def test_other_notification_types_are_acknowledged_and_store_nothing(hub):
    envelope = json.loads(NOTIFICATION)
    envelope["message"]["data"] = "eyJ0eXBlIjoiTkVXX0NVU1RPTUVSX01FRElBIn0="  # {"type":"NEW_CUSTOMER_MEDIA"}
    response = hub.post(HOOK, json.dumps(envelope))
    assert response.status_code == 200 and hub.store.reads.events() == []


@pytest.mark.parametrize("name", ["accounts/1/locations/2/reviews/3", f"accounts/{ACCOUNT}/locations/{LOCATION}/reviews/..",
                                  f"accounts/{ACCOUNT}/locations/{LOCATION}/reviews/x/../../../other"])
def test_a_notification_naming_a_review_elsewhere_is_refused_and_quarantined(hub, httpserver, name):
    envelope = json.loads(NOTIFICATION)
    note = {"type": "NEW_REVIEW", "reviewName": name}
    envelope["message"]["data"] = base64.b64encode(json.dumps(note).encode()).decode()
    response = hub.post(HOOK, json.dumps(envelope))
    assert response.status_code == 422 and "is not a review of this source's location" in response.json["error"]["message"]
    assert [request for request, _ in httpserver.log if request.path.startswith("/v4/")] == []
    assert len(hub.store.quarantine.requests()) == 1


def test_an_expired_token_is_reported_as_refused_credentials(hub, httpserver):
    httpserver.expect_request(REVIEWS).respond_with_json({"error": {"code": 401, "status": "UNAUTHENTICATED"}},
                                                         status=401)
    with pytest.raises(PollFailed, match=r"refused the source's credentials \(401\)") as failure:
        poll_source(hub.hub, "google")
    assert TOKEN not in failure.value.message
