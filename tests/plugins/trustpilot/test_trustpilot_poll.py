"""Polling Trustpilot's Business Units API (a pytest-httpserver stand-in): path, query, auth, pages,
overlap with webhooks, cursors across restarts, `cxhub poll`, and the API's 401 and 429."""

from __future__ import annotations

import json

import orjson
import pytest
import requests
from click.testing import CliRunner

import plugins.trustpilot as trustpilot
import plugins.webhook as webhook
from hub.cli import main
from hub.polling import PollFailed, poll_due_sources, poll_source
from tests.conftest import fixture_bytes
from tests.plugins.trustpilot.conftest import (
    HOOK,
    ACCESS_TOKEN,
    API_KEY,
    BUSINESS_UNIT,
    ENV,
    routed,
    trustpilot_config,
)

PRIVATE = f"/v1/private/business-units/{BUSINESS_UNIT}/reviews"
PUBLIC = f"/v1/business-units/{BUSINESS_UNIT}/reviews"
PAGE = json.loads(fixture_bytes("trustpilot/private_reviews_page.json"))
CURSOR = "2026-11-30T00:00:00+00:00"
START = "2026-11-29T23:50:00"  # the cursor less the 10-minute overlap, UTC without a zone as documented
AUTH = {"apikey": API_KEY, "Authorization": f"Bearer {ACCESS_TOKEN}"}


def query(page: int, start: str | None = START) -> dict[str, str]:
    found = {"orderBy": "createdat.desc", "perPage": "100", "page": str(page)}
    return {**found, "startDateTime": start} if start else found


def full_page() -> dict:
    """100 reviews written on 30 November after the cursor, newest first."""
    return {"reviews": [{"id": f"6571c0f2a1b2c3d4e5f7{n:04d}", "stars": 1 + n % 5, "title": f"Review {n}",
                         "text": "Fine.", "language": "en", "createdAt": f"2026-11-30T23:{59 - n // 2:02d}:00Z",
                         "consumer": {"id": f"c{n}", "displayName": f"Reviewer {n}"}} for n in range(100)],
            "links": []}


def test_a_poll_reads_private_reviews_page_by_page_with_the_documented_query_and_auth(tp_hub, httpserver):
    tp_hub.store.cursors.save("trustpilot", CURSOR)
    httpserver.expect_ordered_request(PRIVATE, method="GET", query_string=query(1), headers=AUTH) \
        .respond_with_json(full_page())
    httpserver.expect_ordered_request(PRIVATE, method="GET", query_string=query(2), headers=AUTH) \
        .respond_with_json(PAGE)
    outcome = poll_source(tp_hub.hub, "trustpilot")
    # 100 + 1 reviews written after the cursor; the second fixture review is older but was edited since.
    assert len(outcome.accepted) == 102 and outcome.duplicates == []
    kinds = [event["type"] for event in outcome.events]
    assert kinds.count("cx.review.created") == 101 and kinds.count("cx.review.updated") == 1
    first = next(event for event in outcome.events if event["subject"] == "6571c0f2a1b2c3d4e5f60001")
    assert first["data"]["customer"] == {"id": "6571c0f2a1b2c3d4e5f6c001", "email": "ana.souza@example.com",
                                         "name": "Ana Souza"}
    assert outcome.cursor_after == "2026-11-30T23:59:00+00:00"  # the newest createdAt seen
    assert tp_hub.store.cursors.read("trustpilot") == outcome.cursor_after


def test_without_an_access_token_the_poll_reads_public_reviews_with_the_api_key(make_hub, httpserver):
    hub = make_hub(trustpilot_config(httpserver.url_for("/receiver"), httpserver.url_for("/"), private=False),
                   plugins=[trustpilot, webhook], env=ENV)
    hub.store.cursors.save("trustpilot", CURSOR)
    httpserver.expect_ordered_request(PUBLIC, method="GET", query_string=query(1, start=None),
                                      headers={"apikey": API_KEY}).respond_with_json(PAGE)
    outcome = poll_source(hub.hub, "trustpilot")
    assert len(outcome.accepted) == 2
    [request] = [request for request, _ in httpserver.log if request.path == PUBLIC]
    assert "Authorization" not in request.headers
    # The public API carries no email: the empty referralEmail here is read as none.
    second = next(event for event in outcome.events if event["subject"] == "6571c0f2a1b2c3d4e5f60002")
    assert second["data"]["customer"]["email"] == "kunde@example.de"  # from its referenceId


def test_an_item_seen_by_the_webhook_and_the_poll_is_one_event_routed_once(tp_hub, httpserver):
    url = tp_hub.serve()
    webhooked = requests.post(f"{url}/hooks/{HOOK}", data=fixture_bytes("trustpilot/batch_created_updated_deleted.json"),
                              headers={"Content-Type": "application/json"}, timeout=10).json()["accepted"]
    tp_hub.drain()
    tp_hub.store.cursors.save("trustpilot", CURSOR)
    httpserver.expect_request(PRIVATE, method="GET").respond_with_json(PAGE)
    outcome = poll_source(tp_hub.hub, "trustpilot")
    # The created review and the edit the poll finds are the ones the webhook brought.
    assert outcome.accepted == [] and sorted(outcome.duplicates) == sorted(webhooked[:2])
    tp_hub.drain()
    assert sorted(routed(httpserver)) == sorted(webhooked)


def test_a_webhook_after_the_poll_routes_only_what_the_poll_could_not_see(tp_hub, httpserver):
    tp_hub.store.cursors.save("trustpilot", CURSOR)
    httpserver.expect_request(PRIVATE, method="GET").respond_with_json(PAGE)
    polled = poll_source(tp_hub.hub, "trustpilot").accepted
    response = tp_hub.post(HOOK, fixture_bytes("trustpilot/batch_created_updated_deleted.json"))
    assert response.status_code == 202
    assert sorted(response.json["duplicates"]) == sorted(polled)
    [deletion] = response.json["accepted"]  # deletions come only by webhook
    tp_hub.drain()
    assert sorted(routed(httpserver)) == sorted([*polled, deletion])


def test_the_cursor_survives_a_restart(make_hub, tp_hub, httpserver):
    tp_hub.store.cursors.save("trustpilot", CURSOR)
    httpserver.expect_ordered_request(PRIVATE, query_string=query(1)).respond_with_json(PAGE)
    cursor = poll_source(tp_hub.hub, "trustpilot").cursor_after
    assert cursor == "2026-11-30T08:15:02+00:00"
    tp_hub.close()
    restarted = make_hub(trustpilot_config(httpserver.url_for("/receiver"), httpserver.url_for("/")),
                         plugins=[trustpilot, webhook], env=ENV)
    httpserver.expect_ordered_request(PRIVATE, query_string=query(1, start="2026-11-30T08:05:02")) \
        .respond_with_json(PAGE)
    outcome = poll_source(restarted.hub, "trustpilot")
    assert outcome.cursor_before == cursor and outcome.accepted == []
    httpserver.check_assertions()


def test_the_first_poll_looks_back_backfill_hours(tp_hub, httpserver):
    httpserver.expect_request(PRIVATE).respond_with_json({"reviews": [], "links": []})
    outcome = poll_source(tp_hub.hub, "trustpilot")
    [request] = [request for request, _ in httpserver.log if request.path == PRIVATE]
    assert outcome.cursor_before is None and outcome.cursor_after is not None
    assert request.args["startDateTime"] < outcome.cursor_after[:19]


@pytest.fixture
def cxhub(tp_hub, cxhub_redis_url, cxhub_database_url):
    env = {"CXHUB_CONFIG": tp_hub.app.config["CXHUB_CONFIG"], "REDIS_URL": cxhub_redis_url,
           "DATABASE_URL": cxhub_database_url, **ENV}

    def run(*args: str, code: int = 0) -> str:
        result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.stdout if code == 0 else result.stderr

    return run


def test_cxhub_poll_prints_what_it_found_new_then_known(tp_hub, cxhub, httpserver):
    tp_hub.store.cursors.save("trustpilot", CURSOR)
    httpserver.expect_request(PRIVATE).respond_with_json(PAGE)
    first = cxhub("poll", "trustpilot")
    assert first.splitlines()[0].split() == ["FOUND", "EVENT", "TYPE", "SUBJECT", "TIME"]
    assert [line.split()[0] for line in first.splitlines()[1:-1]] == ["new", "new"]
    assert first.splitlines()[-1] == ("trustpilot: 2 event(s) found, 2 new, 0 already known; cursor "
                                      f"{CURSOR} -> 2026-11-30T08:15:02+00:00")
    second = cxhub("poll", "trustpilot", "--json")
    # The newest review lies inside the overlap, and the edit after the new cursor: both are known.
    assert (len(json.loads(second)["known"]), json.loads(second)["new"]) == (2, [])


def test_a_401_is_reported_as_refused_credentials_and_moves_nothing(tp_hub, cxhub, httpserver):
    tp_hub.store.cursors.save("trustpilot", CURSOR)
    httpserver.expect_request(PRIVATE).respond_with_json({"message": "Unauthorized"}, status=401)
    error = cxhub("poll", "trustpilot", code=1)
    assert "refused the source's credentials (401)" in error
    assert API_KEY not in error and ACCESS_TOKEN not in error
    assert tp_hub.store.cursors.read("trustpilot") == CURSOR and tp_hub.store.reads.events() == []


def test_a_429_waits_for_retry_after_before_the_next_scheduled_poll(make_hub, httpserver):
    hub = make_hub(trustpilot_config(httpserver.url_for("/receiver"), httpserver.url_for("/"), every="1m"),
                   plugins=[trustpilot, webhook], env=ENV)
    httpserver.expect_request(PRIVATE).respond_with_json({"message": "Too many requests"}, status=429,
                                                         headers={"Retry-After": "600"})
    with pytest.raises(PollFailed) as failure:
        poll_source(hub.hub, "trustpilot")
    assert failure.value.retry_after == 600 and "rate limiting" in failure.value.message
    assert poll_due_sources(hub.hub) == ["trustpilot"]
    assert hub.hub.redis.ttl("cxhub:cxhub:poll:trustpilot:due") > 60  # pushed past `every` to Retry-After
    assert poll_due_sources(hub.hub) == []
    assert hub.store.cursors.read("trustpilot") is None


def test_a_review_the_api_lists_unreadable_is_skipped_and_the_rest_kept(tp_hub, httpserver):
    tp_hub.store.cursors.save("trustpilot", CURSOR)
    page = json.loads(json.dumps(PAGE))
    page["reviews"].insert(0, {"id": "broken", "createdAt": "2026-11-30T10:00:00Z", "stars": "five"})
    httpserver.expect_request(PRIVATE).respond_with_json(page)
    outcome = poll_source(tp_hub.hub, "trustpilot")
    assert len(outcome.accepted) == 2
    assert all(event["subject"] != "broken" for event in outcome.events)
    assert orjson.loads(tp_hub.store.reads.event(outcome.accepted[0]).body)["source"] == "/sources/trustpilot"
