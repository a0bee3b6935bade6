"""`cxhub events/deliveries/replay/redeliver/quarantine` against the store a running hub uses."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest
from click.testing import CliRunner
from sqlalchemy import update

import plugins.jira as jira
import plugins.webhook as webhook
from hub.cli import main
from hub.store import now
from hub.store.tables import events
from tests.conftest import WHSEC, detractor, forward_everything, send



@pytest.fixture
def hub(make_hub, httpserver):
    return make_hub(forward_everything(httpserver.url_for("/receiver")), plugins=[webhook], env={"APP_SECRET": WHSEC})


@pytest.fixture
def cxhub(hub, cxhub_redis_url, cxhub_database_url):
    """Run `cxhub ...` against the same config, Redis and database as `hub`."""
    env = {"CXHUB_CONFIG": hub.app.config["CXHUB_CONFIG"], "REDIS_URL": cxhub_redis_url,
           "DATABASE_URL": cxhub_database_url, "APP_SECRET": WHSEC}

    def run(*args: str, code: int = 0) -> str:
        result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output

    return run


def test_events_and_deliveries_are_listed(hub, cxhub, httpserver):
    httpserver.expect_request("/receiver").respond_with_data("")
    [event_id] = send(hub, detractor()).json["accepted"]
    hub.drain()
    listing = cxhub("events", "list")
    assert event_id in listing and "cx.survey.response" in listing and "ann@example.com" in listing
    assert event_id not in cxhub("events", "list", "--band", "positive")
    [stored] = orjson.loads(cxhub("events", "list", "--json"))
    assert stored["id"] == event_id
    assert "succeeded" in cxhub("deliveries", "list", "--status", "succeeded")
    [with_attempts] = orjson.loads(cxhub("deliveries", "list", "--attempts"))
    assert [attempt["outcome"] for attempt in with_attempts["attempts_made"]] == ["succeeded"]


def test_customer_emails_match_whatever_their_case(hub, cxhub, httpserver):
    httpserver.expect_request("/receiver").respond_with_data("")
    payload = detractor()
    payload["customer"]["email"] = "Ann.Lee@Example.com"
    [event_id] = send(hub, payload).json["accepted"]
    for written in ("ann.lee@example.com", "ANN.LEE@EXAMPLE.COM", "Ann.Lee@Example.com"):
        assert [row["id"] for row in orjson.loads(cxhub("events", "list", "--customer", written, "--json"))] == [
            event_id]
    assert orjson.loads(cxhub("events", "list", "--customer", "ann@example.com", "--json")) == []


def test_dead_letter_then_redeliver_once_the_destination_recovers(hub, cxhub, httpserver):
    httpserver.expect_request("/receiver").respond_with_data("down", status=500)
    send(hub, detractor())
    hub.drain()
    [dead] = hub.store.reads.deliveries(status="dead")
    assert dead.attempts == 2 and "answered 500: down" in cxhub("deliveries", "list", "--status", "dead")

    httpserver.clear()
    httpserver.expect_request("/receiver").respond_with_data("", status=202)
    assert f"queued {dead.id}" in cxhub("redeliver", dead.id)
    hub.drain()
    delivered = hub.store.reads.delivery(dead.id)
    assert (delivered.status, delivered.attempts) == ("succeeded", 3)
    assert len(httpserver.log) == 1


def test_redeliver_refuses_deliveries_that_are_not_dead(hub, cxhub, httpserver):
    httpserver.expect_request("/receiver").respond_with_data("")
    send(hub, detractor())
    hub.drain()
    [delivery] = hub.store.reads.deliveries()
    output = cxhub("redeliver", delivery.id, "no-such-id", code=1)
    assert "only dead deliveries can be redelivered (status: succeeded)" in output
    assert "no-such-id: only dead deliveries can be redelivered (status: not found)" in output


def test_replay_routes_again_without_repeating_what_succeeded(hub, cxhub, httpserver):
    httpserver.expect_request("/receiver").respond_with_data("")
    [event_id] = send(hub, detractor()).json["accepted"]
    hub.drain()
    assert "queued 0 deliveries; left 1 alone" in cxhub("replay", event_id)
    assert "no event nope" in cxhub("replay", "nope", code=1)


def test_replay_requeues_a_dead_delivery(hub, cxhub, httpserver):
    httpserver.expect_request("/receiver").respond_with_data("", status=500)
    [event_id] = send(hub, detractor()).json["accepted"]
    hub.drain()
    assert "queued 1 deliveries" in cxhub("replay", event_id)
    assert hub.store.reads.deliveries()[0].status == "queued"


def test_quarantined_request_can_be_replayed_after_a_fix(make_hub, hub, cxhub, httpserver):
    httpserver.expect_request("/receiver").respond_with_data("")
    response = send(hub, {"response": {"ident": 5, "score": 1}})  # the mapping expects response.id
    assert response.status_code == 422
    quarantine_id = response.json["error"]["quarantine_id"]
    assert quarantine_id in cxhub("quarantine", "list")
    assert "still rejected (422)" in cxhub("quarantine", "replay", quarantine_id, code=1)

    fixed = hub.app.config["CXHUB_CONFIG"]
    with open(fixed, encoding="utf-8") as file:
        text = file.read().replace("object_id: response.id", "object_id: response.ident")
    with open(fixed, "w", encoding="utf-8") as file:
        file.write(text)
    assert "accepted 1 events" in cxhub("quarantine", "replay", quarantine_id)
    assert len(hub.store.reads.events()) == 1
    assert quarantine_id not in cxhub("quarantine", "list")
    assert "no open quarantined request" in cxhub("quarantine", "replay", quarantine_id, code=1)


def test_bulk_redelivery_after_a_long_outage(hub, cxhub, httpserver):
    httpserver.expect_request("/receiver").respond_with_data("down", status=503)
    for number in range(3):
        send(hub, detractor(response_id=number), msg_id=f"msg_{number}")
    hub.drain()
    assert len(hub.store.reads.dead_ids()) == 3
    assert "give delivery ids, or --all-dead" in cxhub("redeliver", code=2)
    assert "0 dead-lettered deliveries match" in cxhub("redeliver", "--all-dead", "--connection", "other")

    httpserver.clear()
    httpserver.expect_request("/receiver").respond_with_data("")
    output = cxhub("redeliver", "--all-dead", "--connection", "out")
    assert "3 dead-lettered deliveries match" in output and output.count("queued ") == 3
    hub.drain()
    assert [d.status for d in hub.store.reads.deliveries()] == ["succeeded"] * 3


def test_prune_deletes_finished_events_past_the_given_age(hub, cxhub, httpserver):
    httpserver.expect_request("/receiver").respond_with_data("")
    send(hub, detractor())
    hub.drain()
    assert cxhub("prune") == ("deleted 0 events, 0 deliveries, 0 attempts, 0 created_objects, 0 enrichments, "
                              "0 requests, 0 quarantine\n")
    with hub.store.database.engine.begin() as db:
        db.execute(update(events).values(received_at=now() - timedelta(days=3)))
    assert cxhub("prune", "--older-than-days", "7").startswith("deleted 0 events")
    assert "deleted 1 events, 1 deliveries, 1 attempts" in cxhub("prune", "--older-than-days", "2")
    assert hub.store.reads.events() == []


TERMINAL_TRICKS = "\x1b[31mann@example.com\x1b]0;pwned\x07\rroot@bank.example\u202emoc.\x9b2J\x7f"


def test_tables_show_terminal_escapes_in_stored_text_instead_of_acting_on_them(hub, cxhub, httpserver):
    httpserver.expect_request("/receiver").respond_with_data("\x1b[2Jdown\rOK", status=500)
    payload = detractor()
    payload["customer"]["email"] = TERMINAL_TRICKS
    [event_id] = send(hub, payload).json["accepted"]
    hub.drain()
    for listing in (cxhub("events", "list"), cxhub("deliveries", "list")):
        assert not any(char in listing for char in "\x1b\x07\r\u202e\x9b\x7f"), repr(listing)
    assert "\\x1b[31mann@example.com\\x1b]0;pwned\\x07\\rroot@bank.example\\u202emoc.\\x9b2J\\x7f" in cxhub("events", "list")
    assert "answered 500: \\x1b[2Jdown\\rOK" in cxhub("deliveries", "list")
    as_json = cxhub("events", "list", "--json")
    assert not any(char in as_json for char in "\x1b\x07\r\u202e\x9b\x7f"), repr(as_json)
    [stored] = orjson.loads(as_json)
    assert stored["id"] == event_id and stored["customer_email"] == TERMINAL_TRICKS  # escaped, never altered


WITH_JIRA = """
  jira:
    plugin: jira
    settings: {base_url: "https://example.atlassian.net", email: bot@example.com, api_token: {$env: JIRA_API_TOKEN}}
"""


@pytest.fixture
def cxhub_without_secrets(make_hub, cxhub_redis_url, cxhub_database_url, httpserver):
    """A hub with a Jira connection, and `cxhub ...` run with neither the Jira token nor any other secret set."""
    config = forward_everything(httpserver.url_for("/receiver")).replace("connections:\n", "connections:" + WITH_JIRA)
    hub = make_hub(config, plugins=[webhook, jira], env={"APP_SECRET": WHSEC, "JIRA_API_TOKEN": "t0ken"})
    env = {"CXHUB_CONFIG": hub.app.config["CXHUB_CONFIG"], "REDIS_URL": cxhub_redis_url,
           "DATABASE_URL": cxhub_database_url, "APP_SECRET": None, "JIRA_API_TOKEN": None}

    def run(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
        return result.exit_code, result.output

    return hub, run


def test_reading_commands_need_no_destination_secret(cxhub_without_secrets, httpserver):
    hub, run = cxhub_without_secrets
    httpserver.expect_request("/receiver").respond_with_data("down", status=500)
    [event_id] = send(hub, detractor()).json["accepted"]
    quarantined = send(hub, {"response": {"ident": 5}}).json["error"]["quarantine_id"]
    hub.drain()
    code, listing = run("events", "list")
    assert code == 0 and event_id in listing and "ann@example.com" in listing, listing
    code, listing = run("deliveries", "list", "--status", "dead")
    assert code == 0 and "out.forward" in listing and "answered 500: down" in listing, listing
    code, listing = run("quarantine", "list")
    assert code == 0 and quarantined in listing, listing
    code, listing = run("backlog", "--json")
    assert code == 0 and orjson.loads(listing)["jobs"] == {"queued": 0, "scheduled": 0}, listing


def test_writing_commands_still_need_the_full_config(cxhub_without_secrets, httpserver):
    hub, run = cxhub_without_secrets
    httpserver.expect_request("/receiver").respond_with_data("down", status=500)
    send(hub, detractor())
    hub.drain()
    [dead] = hub.store.reads.dead_ids()
    code, output = run("redeliver", dead)
    assert code == 2 and "environment variable JIRA_API_TOKEN is not set" in output, output
    assert hub.store.reads.delivery(dead).status == "dead"
