"""The example Grafana dashboard and Prometheus alert rules read only metrics the hub exposes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.hub.metrics.test_metrics import AUTH, hub  # noqa: F401 - the fixture

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def exposed(hub) -> set[str]:  # noqa: F811
    text = hub.client.get("/metrics", headers=AUTH).get_data(as_text=True)
    return {family.name + suffix for family in text_string_to_metric_families(text)
            for suffix in SUFFIXES.get(family.type, ("",))}


def names_in(expressions: list[str]) -> set[str]:
    return {name for expression in expressions for name in re.findall(r"\bcxhub_[a-z_]+", expression)}


def test_the_dashboard_reads_only_exposed_metrics(hub):  # noqa: F811
    dashboard = json.loads((EXAMPLES / "grafana-cxhub.json").read_text())
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    used = names_in(expressions)
    assert len(used) >= 15 and used <= exposed(hub)


def test_the_alert_rules_read_only_exposed_metrics_and_page_on_a_pause_of_10_minutes(hub):  # noqa: F811
    rules = yaml.safe_load((EXAMPLES / "prometheus-cxhub-alerts.yml").read_text())["groups"][0]["rules"]
    assert names_in([rule["expr"] for rule in rules]) <= exposed(hub)
    [paused] = [rule for rule in rules if rule["alert"] == "CxhubConnectionPaused"]
    assert paused["for"] == "10m" and "cxhub_connection_paused" in paused["expr"]
