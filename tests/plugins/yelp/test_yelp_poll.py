"""Polling Yelp's reviews API (a pytest-httpserver stand-in) for many businesses: path, query and
auth, the cursor, one event for a review both a webhook and a poll bring, and the API's 401."""

from __future__ import annotations

import pytest

import plugins.webhook as webhook
import plugins.yelp as yelp
from hub.polling import PollFailed, poll_source
from tests.plugins.yelp.test_yelp_source import (
    API_KEY,
    BEARER,
    BUSINESS,
    ENV,
    NEW,
    REVIEWS,
    REVIEWS_PATH,
    config,
    post,
    routed,
)

OTHER = "WavvLdfdP6g8aZTtbBQHTw"
OTHER_PATH = f"/v3/businesses/{OTHER}/reviews"
POLL = f"""
    poll: {{every: 15m}}"""
CURSOR = "2016-09-28T00:00:00+00:00"


@pytest.fixture
def hub(make_hub, httpserver):
    httpserver.expect_request("/receiver", method="POST").respond_with_data("")
    text = config(httpserver.url_for("/"), httpserver.url_for("/receiver"), poll=POLL).replace(
        "      api_key:", f'      business_ids: ["{BUSINESS}", "{OTHER}"]\n      api_key:')
    return make_hub(text, plugins=[yelp, webhook], env=ENV)


def test_a_poll_reads_each_business_newest_first_and_keeps_what_was_written_since_the_cursor(hub, httpserver):
    hub.store.cursors.save("yelp", CURSOR)
    for path in (REVIEWS_PATH, OTHER_PATH):
        answer = REVIEWS if path == REVIEWS_PATH else {"reviews": []}
        httpserver.expect_request(path, method="GET", query_string={"sort_by": "newest"},
                                  headers=BEARER).respond_with_json(answer)
    outcome = poll_source(hub.hub, "yelp")
    # The cursor less the hour of overlap keeps the reviews of 28 and 29 September, not August's.
    assert sorted(event["subject"] for event in outcome.events) == ["D73wpY6vVS75JXlZjJvmSA", "xAG4O7l-t1ubbwVAlPnDKg"]
    assert len(outcome.accepted) == 2
    second = next(event for event in outcome.events if event["subject"] == "D73wpY6vVS75JXlZjJvmSA")
    assert second["time"] == "2016-09-28T15:55:29Z"  # 08:55:29 Pacific (daylight) time
    assert second["data"]["text"] == "The tacos were cold and the wait was long."
    assert second["data"]["attributes"] == {"business_id": BUSINESS}
    assert outcome.cursor_after == "2016-09-29T21:12:01+00:00"
    assert hub.store.cursors.read("yelp") == outcome.cursor_after
    assert [request.path for request, _ in httpserver.log] == [REVIEWS_PATH, OTHER_PATH]


def test_a_review_seen_by_the_webhook_and_the_poll_is_one_event_routed_once(hub, httpserver):
    httpserver.expect_request(REVIEWS_PATH, headers=BEARER).respond_with_json(REVIEWS)
    httpserver.expect_request(OTHER_PATH, headers=BEARER).respond_with_json({"reviews": []})
    [webhooked] = post(hub, NEW).json["accepted"]
    hub.drain()
    hub.store.cursors.save("yelp", "2016-08-01T00:00:00+00:00")
    outcome = poll_source(hub.hub, "yelp")
    assert outcome.duplicates == [webhooked] and len(outcome.accepted) == 2
    hub.drain()
    assert routed(httpserver).count(webhooked) == 1 and len(routed(httpserver)) == 3


def test_a_401_fails_the_poll_and_moves_nothing(hub, httpserver):
    hub.store.cursors.save("yelp", CURSOR)
    httpserver.expect_request(REVIEWS_PATH).respond_with_json({"error": {"code": "UNAUTHORIZED"}}, status=401)
    with pytest.raises(PollFailed) as failure:
        poll_source(hub.hub, "yelp")
    assert "401" in failure.value.message and API_KEY not in failure.value.message
    assert hub.store.cursors.read("yelp") == CURSOR and hub.store.reads.events() == []


def test_a_poll_without_business_ids_says_so(make_hub, httpserver):
    hub = make_hub(config(httpserver.url_for("/"), httpserver.url_for("/receiver"), poll=POLL),
                   plugins=[yelp, webhook], env=ENV)
    with pytest.raises(PollFailed, match="needs business_ids"):
        poll_source(hub.hub, "yelp")
