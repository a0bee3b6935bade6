"""With a bot token, a click is enriched with who clicked (users.info, as Slack documents it) before it is routed."""

from __future__ import annotations

import orjson
import pytest

import plugins.slack as slack
import plugins.webhook as webhook
from tests.conftest import WHSEC, fixture_bytes
from tests.plugins.slack.test_slack_source import CONFIG, FORM, OLD_SECRET, SECRET, interaction, make, post

TOKEN = "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy"
USER = orjson.loads(fixture_bytes("slack/users_info_response_ok.json"))  # documented: Egon Spengler
CLICK = orjson.loads(fixture_bytes("slack/block_actions.json"))  # clicked by W111
SETTINGS = 'bot_token: {$env: SLACK_BOT_TOKEN}\n      api_url: "%s"'


@pytest.fixture
def hub(make_hub, httpserver):
    httpserver.expect_request("/out", method="POST").respond_with_data("", status=204)
    hub = make_hub(CONFIG % (SETTINGS % httpserver.url_for("/api/"), httpserver.url_for("/out")),
                   plugins=[slack, webhook], env={"SLACK_SECRET": SECRET, "SLACK_OLD_SECRET": OLD_SECRET,
                                                  "OUT_SECRET": WHSEC, "SLACK_BOT_TOKEN": TOKEN})
    hub.base_url = hub.serve()
    return hub


def users_info(httpserver, answer: dict) -> None:
    httpserver.expect_request("/api/users.info", method="GET", query_string={"user": "W111"},
                              headers={"Authorization": f"Bearer {TOKEN}"}).respond_with_json(answer)


def the_click(hub) -> dict:
    [row] = hub.store.reads.events()
    return orjson.loads(row.body)


def forwarded(httpserver) -> list[dict]:
    return [orjson.loads(request.data) for request, _ in httpserver.log if request.path == "/out"]


def test_the_clickers_email_and_name_come_from_users_info_and_the_customer_stays(hub, httpserver):
    users_info(httpserver, {**USER, "user": {**USER["user"], "id": "W111"}})
    response = post(hub, interaction(CLICK), content_type=FORM)
    assert (response.status_code, response.content) == (200, b"")  # still the empty 200, before any API call
    assert forwarded(httpserver) == []  # not routed until enriched
    hub.drain()
    attributes = the_click(hub)["data"]["attributes"]
    assert (attributes["actor_id"], attributes["actor_email"], attributes["actor_name"]) == (
        "W111", "spengler@ghostbusters.example.com", "Egon Spengler")
    assert attributes["action_id"] == "take" and attributes["user"] == "W111"
    assert the_click(hub)["data"]["customer"] == {"id": "W111", "email": None, "name": "primary-owner"}
    [event] = forwarded(httpserver)
    assert event["data"]["attributes"]["actor_email"] == "spengler@ghostbusters.example.com"
    assert hub.store.enrichments.get(event["id"]).status == "done"


def test_without_the_email_scope_the_click_has_the_name_only(hub, httpserver):
    profile = {key: value for key, value in USER["user"]["profile"].items() if key != "email"}
    users_info(httpserver, {**USER, "user": {**USER["user"], "id": "W111", "profile": profile}})
    post(hub, interaction(CLICK), content_type=FORM)
    hub.drain()
    attributes = the_click(hub)["data"]["attributes"]
    assert "actor_email" not in attributes and attributes["actor_name"] == "Egon Spengler"
    assert len(forwarded(httpserver)) == 1


def test_a_user_deleted_since_leaves_the_click_as_it_came(hub, httpserver):
    users_info(httpserver, {"ok": False, "error": "user_not_found"})
    post(hub, interaction(CLICK), content_type=FORM)
    hub.drain()
    assert not any(key.startswith("actor_") for key in the_click(hub)["data"]["attributes"])
    assert len(forwarded(httpserver)) == 1


@pytest.mark.parametrize("answer", [{"ok": False, "error": "invalid_auth"}, {"ok": False, "error": "missing_scope"}])
def test_a_refused_token_fails_the_enrichment_and_says_so_without_the_token(hub, httpserver, answer):
    users_info(httpserver, answer)
    post(hub, interaction(CLICK), content_type=FORM)
    hub.drain()
    row = hub.store.enrichments.get(the_click(hub)["id"])
    assert row.status == "failed" and "refused the source's bot_token" in row.last_error
    assert answer["error"] in row.last_error and TOKEN not in row.last_error
    assert forwarded(httpserver) == []


def test_ratelimited_is_retried(hub, httpserver):
    httpserver.expect_ordered_request("/api/users.info", method="GET").respond_with_json(
        {"ok": False, "error": "ratelimited"})
    users_info(httpserver, {**USER, "user": {**USER["user"], "id": "W111"}})
    post(hub, interaction(CLICK), content_type=FORM)
    hub.drain()
    assert the_click(hub)["data"]["attributes"]["actor_email"] == "spengler@ghostbusters.example.com"


def test_without_a_bot_token_clicks_are_routed_at_once(make_hub, httpserver):
    httpserver.expect_request("/out", method="POST").respond_with_data("", status=204)
    hub = make(make_hub, httpserver)
    post(hub, interaction(CLICK), content_type=FORM)
    assert hub.store.enrichments.get(the_click(hub)["id"]) is None
    hub.drain()
    assert [request.path for request, _ in httpserver.log] == ["/out"]
