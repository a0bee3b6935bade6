"""Per-route budgets: past `max_per_hour` matching events, deliveries are held for review, listed, released or discarded."""

from __future__ import annotations

import threading

import orjson
import pytest
import requests

import plugins.slack as slack
import plugins.webhook as webhook
from tests.conftest import APP_SOURCE, WHSEC
from tests.hub.noise.conftest import SLACK, SLACK_PATH, cli, detractor, post

TOKEN = "admin-token-for-tests-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ROUTE = """
routes:
  - name: alerts
    max_per_hour: 3
    actions:
      - connection: slack
        action: post_message
        params: {text: "Detractor: {{ data.customer.email }}"}
"""


def body(number: int) -> dict:
    text = f"Detractor: customer{number}@example.com"
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


@pytest.fixture
def budget_hub(make_hub, httpserver):
    hub = make_hub(APP_SOURCE + SLACK + ROUTE, plugins=[webhook, slack],
                   env={"APP_SECRET": WHSEC, "SLACK_WEBHOOK_URL": httpserver.url_for(SLACK_PATH)})
    hub.app.config["CXHUB_ADMIN_TOKEN"] = TOKEN
    return hub


def test_the_fourth_in_an_hour_is_held_and_releasing_sends_it(budget_hub, httpserver, cxhub_redis_url,
                                                               cxhub_database_url):
    base = budget_hub.serve()
    for number in (1, 2, 3):
        httpserver.expect_ordered_request(SLACK_PATH, method="POST", json=body(number)).respond_with_data("ok")
    for number in (1, 2, 3, 4):
        assert post(base, detractor(number), f"msg_{number}").status_code == 202
    budget_hub.drain()
    httpserver.check_assertions()
    assert len(httpserver.log) == 3
    [held] = budget_hub.store.reads.deliveries(status="held")
    assert held.attempts == 0 and held.next_attempt_at is None
    assert held.last_error.startswith("route alerts is over its budget of 3 events per hour: held for review")

    # a resend of a delivered event is not a new event: it spends nothing and is not held
    assert post(base, detractor(2), "msg_2").status_code == 200
    assert len(budget_hub.store.reads.deliveries(status="held")) == 1

    cxhub = cli(budget_hub, cxhub_redis_url, cxhub_database_url, SLACK_WEBHOOK_URL=httpserver.url_for(SLACK_PATH))
    assert f"{held.id}  held for review" in cxhub("deliveries", "list", "--status", "held")
    listed = requests.get(f"{base}/admin/deliveries", params={"status": "held"}, headers=AUTH, timeout=10).json()
    assert [(row["id"], row["held_until"]) for row in listed["deliveries"]] == [(held.id, None)]

    httpserver.expect_ordered_request(SLACK_PATH, method="POST", json=body(4)).respond_with_data("ok")
    assert cxhub("deliveries", "release", held.id) == f"released {held.id}\n"
    budget_hub.drain()
    httpserver.check_assertions()
    assert budget_hub.store.reads.delivery(held.id).status == "succeeded"
    # released once: a second release finds nothing held
    assert "not held for review" in cxhub("deliveries", "release", held.id, code=1)


def test_the_admin_api_releases_and_discards_by_route(budget_hub, httpserver):
    base = budget_hub.serve()
    httpserver.expect_request(SLACK_PATH, method="POST").respond_with_data("ok")
    for number in range(1, 7):
        assert post(base, detractor(number), f"msg_{number}").status_code == 202
    held = [row.id for row in budget_hub.store.reads.deliveries(status="held")]
    assert len(held) == 3

    answer = requests.post(f"{base}/admin/deliveries/discard", json={"ids": [held[0], "no-such-delivery"]},
                           headers=AUTH, timeout=10)
    assert answer.status_code == 200 and answer.json() == {"discarded": [held[0]], "skipped": ["no-such-delivery"]}
    answer = requests.post(f"{base}/admin/deliveries/release", json={"route": "alerts"}, headers=AUTH, timeout=10)
    assert answer.status_code == 202
    assert sorted(answer.json()["released"]) == sorted(held[1:]) and answer.json()["skipped"] == []
    budget_hub.drain()
    assert budget_hub.store.reads.delivery(held[0]).status == "discarded"
    assert {budget_hub.store.reads.delivery(i).status for i in held[1:]} == {"succeeded"}
    assert len(httpserver.log) == 5  # three at once, two released, the discarded one never

    for bad in ({}, {"ids": []}, {"route": 7}, {"ids": ["x"], "all": True}, {"route": "a\u0000b"}):
        answer = requests.post(f"{base}/admin/deliveries/release", json=bad, headers=AUTH, timeout=10)
        assert answer.status_code == 400, bad
    assert requests.post(f"{base}/admin/deliveries/release", json={"route": "alerts"},
                         timeout=10).status_code == 401


def test_the_budget_holds_across_processes_at_once(budget_hub, make_hub, httpserver):
    """Two web processes (two apps on one Redis and database) take ten events at the same moment: three go."""
    other = make_hub(APP_SOURCE + SLACK + ROUTE, plugins=[webhook, slack],
                     env={"APP_SECRET": WHSEC, "SLACK_WEBHOOK_URL": httpserver.url_for(SLACK_PATH)})
    bases = [budget_hub.serve(), other.serve()]
    start = threading.Barrier(10)
    codes: list[int] = []

    def send(number: int) -> None:
        start.wait()
        codes.append(post(bases[number % 2], detractor(number), f"msg_{number}").status_code)

    threads = [threading.Thread(target=send, args=(number,)) for number in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert codes == [202] * 10
    statuses = sorted(row.status for row in budget_hub.store.reads.deliveries(limit=100))
    assert statuses == ["held"] * 7 + ["queued"] * 3


def test_cli_release_needs_ids_or_a_route(budget_hub, cxhub_redis_url, cxhub_database_url):
    cxhub = cli(budget_hub, cxhub_redis_url, cxhub_database_url, SLACK_WEBHOOK_URL="http://unused")
    assert "give delivery ids, or --route" in cxhub("deliveries", "release", code=2)
    assert "route alerts has no deliveries held" in cxhub("deliveries", "discard", "--route", "alerts")
    assert orjson.loads(cxhub("deliveries", "list", "--status", "held", "--json")) == []
