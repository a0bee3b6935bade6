"""An operator sends a quiet-hours delivery early (`release --now`), and /metrics shows what is held or collecting.

The hub's clock stays in the connection's quiet hours throughout: what goes, goes because it
was released early. Slack is a stand-in for its incoming webhook.
"""

from __future__ import annotations

from datetime import datetime, timezone

import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

import plugins.slack as slack
import plugins.webhook as webhook
from tests.conftest import APP_SOURCE, WHSEC
from tests.hub.noise.conftest import SLACK, SLACK_PATH, cli, detractor, post

TOKEN = "metrics-token-for-tests-0123456789"
CONFIG = APP_SOURCE + SLACK + """    quiet_hours: {from: "20:00", to: "08:00", timezone: Europe/Paris}
routes:
  - name: detractors
    actions:
      - {connection: slack, action: post_message, params: {text: "Detractor: {{ data.customer.email }}"}}
  - name: alerts
    max_per_hour: 1
    actions:
      - {connection: slack, action: post_message, params: {text: "Alert: {{ data.customer.email }}"}}
"""
NIGHT = datetime(2026, 3, 28, 22, 0, tzinfo=timezone.utc)  # 23:00 in Paris


def held_gauges(hub) -> dict[tuple[str, ...], float]:
    response = hub.client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    found = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            if sample.name == "cxhub_deliveries_held":
                found[(sample.labels["route"], sample.labels["connection"], sample.labels["reason"])] = sample.value
            elif sample.name == "cxhub_deliveries_collecting":
                found[(sample.labels["route"], sample.labels["connection"], "collecting")] = sample.value
    return found


@pytest.fixture
def hub(make_hub, httpserver):
    test_hub = make_hub(CONFIG, plugins=[webhook, slack],
                        env={"APP_SECRET": WHSEC, "SLACK_WEBHOOK_URL": httpserver.url_for(SLACK_PATH)})
    test_hub.app.config["CXHUB_METRICS_TOKEN"] = TOKEN
    test_hub.hub.clock = lambda: NIGHT
    httpserver.expect_request(SLACK_PATH, method="POST").respond_with_data("ok")
    return test_hub


def sent_texts(httpserver) -> list[str]:
    return [orjson.loads(request.data)["text"] for request, _ in httpserver.log]


def test_release_now_sends_a_quiet_hours_delivery_at_once_and_the_gauges_follow(hub, httpserver, cxhub_redis_url,
                                                                               cxhub_database_url):
    base = hub.serve()
    events = [post(base, detractor(number), f"msg_{number}").json()["accepted"][0] for number in (1, 2)]
    hub.drain()
    assert httpserver.log == []
    assert held_gauges(hub) == {("detractors", "slack", "review"): 0, ("detractors", "slack", "quiet_hours"): 2,
                                ("detractors", "slack", "collecting"): 0, ("alerts", "slack", "review"): 1,
                                ("alerts", "slack", "quiet_hours"): 1, ("alerts", "slack", "collecting"): 0}
    first = next(row for row in hub.store.reads.deliveries() if row.route == "detractors" and row.event_id == events[0])
    cxhub = cli(hub, cxhub_redis_url, cxhub_database_url, SLACK_WEBHOOK_URL=httpserver.url_for(SLACK_PATH))

    # without --now, a delivery held for quiet hours is not the operator's to release
    cxhub("deliveries", "release", first.id, code=1)
    assert hub.store.reads.delivery(first.id).status == "held"

    assert f"released {first.id}" in cxhub("deliveries", "release", "--now", first.id)
    hub.drain()  # still 23:00 in Paris
    assert sent_texts(httpserver) == ["Detractor: customer1@example.com"]
    assert hub.store.reads.delivery(first.id).status == "succeeded"
    assert held_gauges(hub)[("detractors", "slack", "quiet_hours")] == 1  # the other one waits for the morning

    # a route's deliveries, held for review and for quiet hours alike, go with --route --now
    released = cxhub("deliveries", "release", "--route", "alerts", "--now")
    assert released.count("released ") == 2
    hub.drain()
    assert sorted(sent_texts(httpserver)[1:]) == ["Alert: customer1@example.com", "Alert: customer2@example.com"]
    gauges = held_gauges(hub)
    assert (gauges[("alerts", "slack", "review")], gauges[("alerts", "slack", "quiet_hours")]) == (0, 0)
    assert gauges[("detractors", "slack", "quiet_hours")] == 1


def test_the_admin_api_releases_now_too(hub, httpserver):
    admin = "admin-token-release-now-0123"
    hub.app.config["CXHUB_ADMIN_TOKEN"] = admin
    assert post(hub.serve(), detractor(1), "msg_1").status_code == 202
    hub.drain()
    held = next(row for row in hub.store.reads.deliveries() if row.route == "detractors")
    headers = {"Authorization": f"Bearer {admin}"}
    response = hub.client.post("/admin/deliveries/release", json={"ids": [held.id]}, headers=headers)
    assert response.json == {"released": [], "skipped": [held.id]}
    response = hub.client.post("/admin/deliveries/release", json={"ids": [held.id], "now": True}, headers=headers)
    assert response.status_code == 202 and response.json == {"released": [held.id], "skipped": []}
    hub.drain()
    assert sent_texts(httpserver) == ["Detractor: customer1@example.com"]
    assert hub.client.post("/admin/deliveries/release", json={"ids": [held.id], "now": "soon"},
                           headers=headers).status_code == 400
