"""Alert rules: a cx.metric.alert event fires once and clears once, routed like any event; bad rules are reported."""

from __future__ import annotations

import textwrap
from datetime import datetime, timedelta, timezone

import orjson
import pytest
import requests
from pytest_httpserver import HTTPServer

import plugins.webhook as webhook
from hub.alerting import metrics_pass
from hub.config import ConfigError, parse_config
from hub.pluginhost import PluginHost, build_plugin_manager
from hub.testing import sign_standard_webhook
from tests.conftest import OTHER_WHSEC, WHSEC

SOURCE = """
sources:
  app:
    plugin: webhook
    settings:
      secret: {$env: APP_SECRET}
      mapping: {object_id: response.id, score: response.score, time: response.submitted_at,
                customer_email: customer.email, attributes: {form_id: response.form}}
      score_scale: {type: nps, min: 0, max: 10}
connections:
  pager:
    plugin: webhook
    settings: {url: "%s", secret: {$env: OUT_SECRET}}
    retry: {max_attempts: 2, initial_delay: 0, max_delay: 0}
routes:
  - name: alerts
    when: {field: type, equals: cx.metric.alert}
    run_on_updates: true
    actions:
      - {connection: pager, action: forward}
alerts:
  - name: form-x-nps-low
    metric: nps
    form: form-x
    window: 7d
    below: 20
    min_responses: 3
  - name: detractor-burst
    metric: nps
    count: detractors
    per: customer
    at_least: 3
    window: 24h
"""


def post(base: str, msg_id: str, response_id: str, score: int, when: datetime, email: str = "ann@example.com"):
    body = orjson.dumps({"response": {"id": response_id, "score": score, "form": "form-x",
                                      "submitted_at": when.isoformat()}, "customer": {"email": email}})
    answer = requests.post(f"{base}/hooks/app", data=body, timeout=10,
                           headers={"Content-Type": "application/json", **sign_standard_webhook(WHSEC, msg_id, body)})
    assert answer.status_code == 202, answer.text


def forwarded(httpserver: HTTPServer) -> list[dict]:
    return [orjson.loads(request.get_data()) for request, _ in httpserver.log]


def test_an_alert_fires_once_and_clears_once_routed_to_its_destination(make_hub, httpserver: HTTPServer):
    httpserver.expect_request("/pager", method="POST").respond_with_data("ok")
    hub = make_hub(SOURCE % httpserver.url_for("/pager"), plugins=[webhook],
                   env={"APP_SECRET": WHSEC, "OUT_SECRET": OTHER_WHSEC})
    base = hub.serve()
    now = datetime.now(timezone.utc)
    for number, score in enumerate((2, 3, 9)):  # NPS (1-2)/3 = -33: below 20 with 3 responses
        post(base, f"m{number}", f"r{number}", score, now - timedelta(hours=2), email=f"c{number}@example.com")
    hub.drain()
    for number in range(3, 6):  # more responses, still below: no new alert
        post(base, f"m{number}", f"r{number}", 5, now - timedelta(hours=1), email=f"c{number}@example.com")
    hub.drain()
    hub.drain()
    alerts = [event for event in forwarded(httpserver) if event["type"] == "cx.metric.alert"]
    assert [(event["data"]["alert"]["rule"], event["data"]["alert"]["state"]) for event in alerts] == [
        ("form-x-nps-low", "firing")]
    firing = alerts[0]["data"]["alert"]
    assert (firing["metric"], firing["value"], firing["threshold"], firing["window"], firing["responses"]) == (
        "nps", -33.3, 20.0, "7d", 3)
    for number in range(6, 6 + 12):  # twelve promoters: (13-5)/18 = 44 -> cleared
        post(base, f"m{number}", f"r{number}", 10, now - timedelta(minutes=30), email=f"c{number}@example.com")
    hub.drain()
    hub.drain()
    alerts = [event for event in forwarded(httpserver) if event["type"] == "cx.metric.alert"]
    assert [event["data"]["alert"]["state"] for event in alerts] == ["firing", "cleared"]
    assert alerts[1]["data"]["alert"]["value"] == 44.4 and alerts[1]["subject"] == alerts[0]["subject"]
    stored = [row for row in hub.store.reads.events(limit=100) if row.type == "cx.metric.alert"]
    assert len(stored) == 2 and {row.source for row in stored} == {"alerts"}


def test_three_detractors_from_one_customer_fire_per_customer(make_hub, httpserver: HTTPServer):
    httpserver.expect_request("/pager", method="POST").respond_with_data("ok")
    hub = make_hub(SOURCE % httpserver.url_for("/pager"), plugins=[webhook],
                   env={"APP_SECRET": WHSEC, "OUT_SECRET": OTHER_WHSEC})
    base = hub.serve()
    now = datetime.now(timezone.utc)
    for number in range(3):
        post(base, f"b{number}", f"b{number}", 1, now - timedelta(hours=number), email="bob@example.com")
    post(base, "c0", "c0", 1, now, email="cat@example.com")
    hub.drain()
    bursts = [event for event in forwarded(httpserver) if event["data"]["attributes"].get("rule") == "detractor-burst"]
    assert [(event["data"]["customer"]["email"], event["data"]["alert"]["value"]) for event in bursts] == [
        ("bob@example.com", 3.0)]
    metrics_pass(hub.hub, now=now + timedelta(hours=23))  # the oldest leaves the 24 h window: cleared
    hub.drain(metrics=False)  # the alert's delivery job, without evaluating again at the real now
    bursts = [event for event in forwarded(httpserver) if event["data"]["attributes"].get("rule") == "detractor-burst"]
    assert [event["data"]["alert"]["state"] for event in bursts] == ["firing", "cleared"]
    # A third detractor within the window again: the next episode fires (its state was read though cleared).
    post(base, "b9", "b9", 0, now + timedelta(hours=22), email="bob@example.com")
    metrics_pass(hub.hub, now=now + timedelta(hours=23))
    hub.drain(metrics=False)
    bursts = [event for event in forwarded(httpserver) if event["data"]["attributes"].get("rule") == "detractor-burst"]
    assert [(event["data"]["alert"]["state"], event["data"]["alert"]["episode"]) for event in bursts] == [
        ("firing", 1), ("cleared", 1), ("firing", 2)]


@pytest.fixture(scope="module")
def host() -> PluginHost:
    return PluginHost(build_plugin_manager([webhook], discover=False))


def test_check_config_reports_rules_that_do_not_compile_with_their_line(host):
    text = textwrap.dedent("""\
        metrics: {timezone: Europe/Nowhere}
        alerts:
          - name: one
            metric: nsp
            window: 7d
            below: 20
          - name: two
            metric: nps
            window: 7d
            below: 20
            drop: 10
          - name: three
            metric: csat
            window: fortnight
            below: 80
          - name: four
            metric: nps
            window: 24h
            at_least: 3
            count: satisfied
          - name: five
            metric: nps
            window: 7d
            below: 20
            per: customer
          - name: five
            metric: nps
            window: 7d
            above: 50
        """)
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "cxhub.yaml", host, {})
    found = [str(problem) for problem in caught.value.problems]
    assert found[0].startswith("cxhub.yaml:1: metrics.timezone: 'Europe/Nowhere' is not an IANA timezone")
    assert any(line.startswith("cxhub.yaml:4: alerts[0].metric: Must be one of") for line in found), found
    assert "cxhub.yaml:11: alerts[1].drop: give exactly one condition: below, above, drop or at_least (with count); " \
           "this rule gives below, drop" in found
    assert any(line.startswith("cxhub.yaml:14: alerts[2].window: 'fortnight' is not a window") for line in found)
    assert "cxhub.yaml:20: alerts[3].count: nps counts responses, promoters, passives, detractors, not 'satisfied'" \
        in found
    assert "cxhub.yaml:25: alerts[4].per: count and per go with at_least, not below" in found
    assert "cxhub.yaml:26: alerts[5].name: alert rule name 'five' is used twice" in found
