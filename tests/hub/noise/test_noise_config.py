"""check-config on digests, quiet hours and budgets: every mistake named with its file, line and key."""

from __future__ import annotations

import textwrap
from datetime import time

import pytest
from click.testing import CliRunner

import plugins.email as email
import plugins.jira as jira
import plugins.slack as slack
import plugins.webhook as webhook
from hub.cli import main
from hub.config import ConfigError, parse_config
from hub.pluginhost import PluginHost, build_plugin_manager

ENV = {"HOOK": "https://hooks.slack.com/services/T0/B0/X", "JIRA_TOKEN": "jira-token-value"}

CONFIG = """\
connections:
  slack:
    plugin: slack
    settings: {webhook_url: {$env: HOOK}}
    timezone: Europe/Paris
    quiet_hours: {from: "20:00", to: "08:00", all_day: [sun]}
  jira:
    plugin: jira
    settings: {base_url: "https://example.atlassian.net", email: bot@example.com, api_token: {$env: JIRA_TOKEN}}
routes:
  - name: detractors
    max_per_hour: 3
    actions:
      - connection: slack
        action: post_message
        digest: {every: 1h, max_items: 20}
        params:
          text: "{{ digest.count }} detractors:{% for e in digest.events %} {{ e.data.customer.email }}{% endfor %}"
  - name: morning
    actions:
      - connection: slack
        action: post_message
        digest: {at: ["09:00", "17:30"]}
        params: {text: "{{ digest.count }} new"}
"""


@pytest.fixture(scope="module")
def host() -> PluginHost:
    return PluginHost(build_plugin_manager([webhook, jira, slack, email], discover=False))


def problems(text: str, host: PluginHost) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "cxhub.yaml", host, ENV)
    return [str(problem) for problem in caught.value.problems]


def changed(replace: str, by: str) -> str:
    assert replace in CONFIG, replace
    return CONFIG.replace(replace, by, 1)


def test_a_valid_config_builds_the_policies(host):
    config = parse_config(CONFIG, "cxhub.yaml", host, ENV)
    slack_connection = config.connections["slack"]
    quiet = slack_connection.quiet_hours
    assert slack_connection.zone.key == "Europe/Paris" and quiet.zone.key == "Europe/Paris"  # the connection's
    assert (quiet.start, quiet.end, quiet.days, quiet.all_day) == (time(20), time(8), frozenset(range(7)),
                                                                     frozenset({6}))
    detractors, morning = config.routes
    assert detractors.max_per_hour == 3
    assert detractors.actions[0].digest.every_seconds == 3600 and detractors.actions[0].digest.max_items == 20
    assert morning.actions[0].digest.at == (time(9), time(17, 30)) and morning.actions[0].digest.max_items == 50
    assert morning.actions[0].digest.zone.key == "Europe/Paris"  # digest times read the connection's clock


@pytest.mark.parametrize("replace, by, expected", [
    ("digest: {every: 1h, max_items: 20}", "digest: {every: 1 hour}",
     "cxhub.yaml:16: routes[0].actions[0].digest.every: '1 hour' is not a duration"),
    ("digest: {every: 1h, max_items: 20}", "digest: {every: 0s}",
     "cxhub.yaml:16: routes[0].actions[0].digest.every: a digest window is between 1s and 7d"),
    ("digest: {every: 1h, max_items: 20}", "digest: {every: 1h, at: \"09:00\"}",
     "cxhub.yaml:16: routes[0].actions[0].digest: give either every"),
    ("digest: {every: 1h, max_items: 20}", "digest: {max_items: 5}",
     "cxhub.yaml:16: routes[0].actions[0].digest: give either every"),
    ("digest: {every: 1h, max_items: 20}", "digest: {every: 1h, max_items: 0}",
     "cxhub.yaml:16: routes[0].actions[0].digest.max_items: max_items is between 1 and 200"),
    ("digest: {at: [\"09:00\", \"17:30\"]}", "digest: {at: \"9am\"}",
     "cxhub.yaml:23: routes[1].actions[0].digest.at: '9am' is not a time of day"),
    ("digest: {at: [\"09:00\", \"17:30\"]}", "digest: {at: [\"09:00\", \"09:00\"]}",
     "cxhub.yaml:23: routes[1].actions[0].digest.at: a time of day is given twice"),
    ("timezone: Europe/Paris", "timezone: Europe/Pariss",
     "cxhub.yaml:5: connections.slack.timezone: 'Europe/Pariss' is not a timezone"),
    ("timezone: Europe/Paris", "timezone: ../../etc/passwd",
     "cxhub.yaml:5: connections.slack.timezone: '../../etc/passwd' is not a timezone"),
    ("all_day: [sun]}", "all_day: [sun], timezone: Mars/Olympus}",
     "cxhub.yaml:6: connections.slack.quiet_hours.timezone: 'Mars/Olympus' is not a timezone"),
    ("from: \"20:00\"", "from: \"25:00\"",
     "cxhub.yaml:6: connections.slack.quiet_hours.from: '25:00' is not a time of day"),
    ("to: \"08:00\"", "to: \"20:00\"", "cxhub.yaml:6: connections.slack.quiet_hours.to: from and to are the same"),
    ("all_day: [sun]", "days: [sunday]", "cxhub.yaml:6: connections.slack.quiet_hours.days[0]: days are written mon"),
    ("all_day: [sun]", "all_day: [sun, sun]", "cxhub.yaml:6: connections.slack.quiet_hours.all_day: a day is named"),
    ("max_per_hour: 3", "max_per_hour: 0",
     "cxhub.yaml:12: routes[0].max_per_hour: max_per_hour is a whole number of events from 1 to 1000000"),
    ("max_per_hour: 3", "max_per_hour: -5", "cxhub.yaml:12: routes[0].max_per_hour: max_per_hour is a whole"),
    ("max_per_hour: 3", "max_per_hour: \"3\"", "cxhub.yaml:12: routes[0].max_per_hour: Not a valid integer."),
    # parameters that cannot render a digest: a per-event name, or no digest at all
    ("params: {text: \"{{ digest.count }} new\"}", "params: {text: \"{{ data.customer.email }} is unhappy\"}",
     "cxhub.yaml:24: routes[1].actions[0].params.text: a digest's parameters are rendered once for all its "
     "events, with only `digest`: data is not defined there"),
    ("params: {text: \"{{ digest.count }} new\"}", "params: {text: \"A new detractor\"}",
     "cxhub.yaml:24: routes[1].actions[0].params: a digest's parameters never use `digest`"),
])
def test_bad_noise_settings_are_reported_with_file_and_line(host, replace, by, expected):
    found = problems(changed(replace, by), host)
    assert any(line.startswith(expected) for line in found), found


def test_quiet_hours_and_digests_only_where_people_read(host):
    text = CONFIG.replace("""    settings: {base_url: "https://example.atlassian.net\"""", """    quiet_hours: {from: "20:00", to: "08:00"}
    settings: {base_url: "https://example.atlassian.net\"""") + """\
  - name: tickets
    actions:
      - connection: jira
        action: create_issue
        digest: {every: 1h}
        params: {project: CX, summary: "{{ digest.count }} complaints"}
"""
    found = problems(text, host)
    assert any(line.startswith("cxhub.yaml:9: connections.jira.quiet_hours: plugin 'jira' sends nothing people "
                               "read") for line in found), found
    assert any(line.startswith("cxhub.yaml:30: routes[2].actions[0].digest: connection 'jira' (jira) sends nothing")
               for line in found), found


def test_a_digest_on_a_connection_that_nobody_reads(host):
    text = CONFIG + """\
  - name: tickets
    actions:
      - connection: jira
        action: create_issue
        digest: {every: 1h}
        params: {project: CX, summary: "{{ digest.count }} complaints"}
"""
    found = problems(text, host)
    assert found == ["cxhub.yaml:29: routes[2].actions[0].digest: connection 'jira' (jira) sends nothing people "
                     "read, so its actions cannot be digests (digests are for chat and email)"], found


def test_one_digest_per_connection_action_in_a_route(host):
    text = CONFIG + """\
  - name: twice
    actions:
      - {connection: slack, action: post_message, digest: {every: 1h}, params: {text: "{{ digest.count }}"}}
      - {connection: slack, action: post_message, digest: {every: 1d}, params: {text: "{{ digest.count }}"}}
"""
    found = problems(text, host)
    assert any(line.startswith("cxhub.yaml:28: routes[2].actions[1].digest: this route already has a digest for "
                               "slack.post_message") for line in found), found


def test_check_config_prints_them(tmp_path):
    path = tmp_path / "cxhub.yaml"
    path.write_text(changed("max_per_hour: 3", "max_per_hour: 0").replace("timezone: Europe/Paris",
                                                                            "timezone: Nowhere/Land"))
    result = CliRunner().invoke(main, ["check-config", str(path)], env=ENV)
    assert result.exit_code == 1, result.output
    assert f"error: {path}:5: connections.slack.timezone: 'Nowhere/Land' is not a timezone" in result.output
    assert f"error: {path}:12: routes[0].max_per_hour: max_per_hour is a whole number" in result.output
