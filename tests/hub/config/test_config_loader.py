"""Config problems are reported with file, line and key path — all of them, not just the first."""

from __future__ import annotations

import textwrap

import pytest

import plugins.jira as jira
import plugins.slack as slack
import plugins.teams as teams
import plugins.typeform as typeform
import plugins.webhook as webhook
from hub.config import ConfigError, parse_config
from hub.pluginhost import PluginHost, build_plugin_manager
from hub.plugin.settings import Secret

ENV = {"TF_SECRET": "s3cret-value", "JIRA_TOKEN": "jira-token-value", "HOOK": "https://hooks.example.com/x"}

VALID = """\
sources:
  typeform:
    plugin: typeform
    settings:
      secret: {$env: TF_SECRET}
connections:
  jira:
    plugin: jira
    settings:
      base_url: https://example.atlassian.net
      email: bot@example.com
      api_token: {$env: JIRA_TOKEN}
  slack:
    plugin: slack
    settings:
      webhook_url: {$env: HOOK}
routes:
  - name: detractors
    when:
      all:
        - {field: data.score.band, equals: negative}
        - {field: data.text, regex: "(?i)refund"}
    actions:
      - connection: jira
        action: create_issue
        params:
          project: CX
          summary: "{{ data.customer.email }} is unhappy"
"""


@pytest.fixture(scope="module")
def host() -> PluginHost:
    return PluginHost(build_plugin_manager([typeform, webhook, jira, slack, teams], discover=False))


def problems(text: str, host: PluginHost, env: dict | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(textwrap.dedent(text), "cxhub.yaml", host, ENV if env is None else env)
    return [str(problem) for problem in caught.value.problems]


def test_valid_config_loads_with_secrets_hidden(host):
    config = parse_config(VALID, "cxhub.yaml", host, ENV)
    secret = config.sources["typeform"].settings["secret"]
    assert isinstance(secret, Secret) and secret.reveal() == "s3cret-value"
    assert "s3cret-value" not in repr(config)
    assert [route.name for route in config.routes] == ["detractors"]
    assert config.routes[0].when.matches({"data": {"score": {"band": "negative"}, "text": "I want a REFUND"}})


@pytest.mark.parametrize("text, expected", [
    ("sources: [1\n", "cxhub.yaml:2: invalid YAML"),
    ("sources: {}\nsources: {}\n", "cxhub.yaml:2: invalid YAML: while constructing a mapping found duplicate key"),
    ("source: {}\n", "cxhub.yaml:1: source: unknown key; expected one of alerts, connections, console, customers, hub, "
                     "metrics, routes, sources"),
    ("sources:\n  tf:\n    plugin: nope\n", "cxhub.yaml:3: sources.tf.plugin: unknown source plugin 'nope' "
                                              "(known: jira, slack, typeform, webhook)"),
    ("sources:\n  tf:\n    plugin: teams\n", "cxhub.yaml:3: sources.tf.plugin: plugin 'teams' provides no source"),
    ("sources:\n  tf:\n    plugin: typeform\n    settings:\n      secret: inline\n",
     "cxhub.yaml:5: sources.tf.settings.secret: secrets must come from the environment"),
    ("sources:\n  tf:\n    plugin: typeform\n    settings:\n      secret: {$env: MISSING_VAR}\n",
     "cxhub.yaml:5: sources.tf.settings.secret: environment variable MISSING_VAR is not set"),
    ("sources:\n  Bad Name:\n    plugin: typeform\n", "cxhub.yaml:2: sources.Bad Name: invalid name"),
    ("hub:\n  max_body_bytes: 10\n", "cxhub.yaml:2: hub.max_body_bytes: Must be greater than or equal to 1024"),
])
def test_structural_problems(host, text, expected):
    found = problems(text, host)
    assert any(line.startswith(expected) for line in found), found


def route_problem(host, replace: str, by: str) -> list[str]:
    assert replace in VALID
    return problems(VALID.replace(replace, by), host)


@pytest.mark.parametrize("replace, by, expected", [
    ("    actions:", "    acitons:", "cxhub.yaml:23: routes[0].acitons: Unknown field."),
    ("connection: jira\n", "connection: jra\n",
     "cxhub.yaml:24: routes[0].actions[0].connection: unknown connection 'jra' (known: jira, slack)"),
    ("action: create_issue", "action: create_ticket",
     "cxhub.yaml:25: routes[0].actions[0].action: connection 'jira' (jira) has no action 'create_ticket' "
     "(known: add_comment, create_issue, transition_issue)"),
    ("equals: negative", "equal: negative", "cxhub.yaml:21: routes[0].when.all[0]: a field test needs exactly one operator"),
    ('regex: "(?i)refund"', 'regex: "(unclosed"', "cxhub.yaml:22: routes[0].when.all[1].regex: invalid regular "
                                                   "expression"),
    ("is unhappy", "is {{ unhappy", "cxhub.yaml:28: routes[0].actions[0].params.summary: template does not "
                                    "compile"),
    ('summary: "{{ data.customer.email }} is unhappy"', "summary: {{ data.customer.email }}",
     "cxhub.yaml:28: routes[0].actions[0].params.summary: YAML read an unquoted template here as a mapping"),
    ("          project: CX\n", "          project: CX\n          assignee: bob\n",
     "cxhub.yaml:28: routes[0].actions[0].params.assignee: unknown parameter"),
    ("          project: CX\n", "", "cxhub.yaml:26: routes[0].actions[0].params.project: missing required parameter"),
    ("  - name: detractors", "  - name: Detractors!", "cxhub.yaml:18: routes[0].name: names use a-z"),
    ("      email: bot@example.com\n", "", "cxhub.yaml:9: connections.jira.settings.email: Missing data for "
                                          "required field."),
    ("      webhook_url: {$env: HOOK}", "      webhook_url: {$env: HOOK}\n      bot_token: {$env: HOOK}",
     "cxhub.yaml:15: connections.slack.settings: set exactly one of webhook_url"),
    ("    actions:", '    run_on_updates: "yes"\n    actions:',
     "cxhub.yaml:23: routes[0].run_on_updates: Not a valid boolean."),
])
def test_route_and_connection_problems(host, replace, by, expected):
    found = route_problem(host, replace, by)
    assert any(line.startswith(expected) for line in found), found


def test_every_problem_is_reported_at_once(host):
    text = VALID.replace("connection: jira\n", "connection: jra\n").replace("{$env: TF_SECRET}", "{$env: NOPE}")
    found = problems(text + "extra: 1\n", host)
    assert len(found) == 3, found


def test_missing_connection_is_reported_once_not_again_in_routes(host):
    found = problems(VALID, host, env={"TF_SECRET": "x" * 8, "HOOK": "https://h.example.com"})
    assert found == ["cxhub.yaml:12: connections.jira.settings.api_token: environment variable JIRA_TOKEN is not set"]


def test_secret_values_never_appear_in_problems(host):
    text = VALID.replace("base_url: https://example.atlassian.net", "base_url: {$env: JIRA_TOKEN}")
    found = problems(text, host)
    assert found and not any("jira-token-value" in line for line in found)


def test_a_bad_when_does_not_hide_the_problems_of_the_routes_actions(host):
    text = VALID.replace("equals: negative", "equal: negative").replace("connection: jira\n", "connection: jra\n")
    found = problems(text, host)
    assert [line.split(":")[1] for line in found] == ["21", "24"], found
    assert found[1] == "cxhub.yaml:24: routes[0].actions[0].connection: unknown connection 'jra' (known: jira, slack)"


def test_a_connection_missing_a_variable_is_still_known_to_the_routes(host):
    text = VALID.replace("action: create_issue", "action: create_ticket")
    found = problems(text, host, env={"TF_SECRET": "x" * 8, "HOOK": "https://h.example.com"})
    assert found == [
        "cxhub.yaml:12: connections.jira.settings.api_token: environment variable JIRA_TOKEN is not set",
        "cxhub.yaml:25: routes[0].actions[0].action: connection 'jira' (jira) has no action 'create_ticket' "
        "(known: add_comment, create_issue, transition_issue)",
    ]


def test_a_missing_variable_is_not_also_reported_as_a_missing_setting(host):
    # Slack's settings need exactly one of webhook_url or bot_token: webhook_url is there, just unresolved.
    found = problems(VALID, host, env={"TF_SECRET": "x" * 8, "JIRA_TOKEN": "t" * 8})
    assert found == ["cxhub.yaml:16: connections.slack.settings.webhook_url: environment variable HOOK is not set"]


def test_a_connection_with_a_bad_policy_still_has_its_actions_checked(host):
    text = VALID.replace("      api_token: {$env: JIRA_TOKEN}\n",
                         "      api_token: {$env: JIRA_TOKEN}\n    retry: {max_attempts: 0}\n")
    found = problems(text.replace("          project: CX\n", ""), host)
    assert [problem.split(": ")[1] for problem in found] == [
        "connections.jira.retry.max_attempts", "routes[0].actions[0].params.project"], found


SEVERAL_PROBLEMS = VALID[:VALID.index("routes:")] + """\
routes:
  - name: detractors
    when: {field: data.score.band, eqals: negative}
    actions:
      - connection: jra
        action: create_issue
      - connection: jira
        action: create_issue
        params: {project: CX, summary: "{{ oops", assignee: bob}
      - connection: slack
  - name: detractors
    actions:
      - connection: slack
        action: post_message
        params: {text: hi}
"""


def test_several_problems_are_each_reported_exactly_once(host):
    found = problems(SEVERAL_PROBLEMS, host, env={"TF_SECRET": "x" * 8})
    assert found == [
        "cxhub.yaml:12: connections.jira.settings.api_token: environment variable JIRA_TOKEN is not set",
        "cxhub.yaml:16: connections.slack.settings.webhook_url: environment variable HOOK is not set",
        "cxhub.yaml:19: routes[0].when: a field test needs exactly one operator out of contains, equals, exists, "
        "gt, gte, in, lt, lte, not_equals, regex; got ['eqals']",
        "cxhub.yaml:21: routes[0].actions[0].connection: unknown connection 'jra' (known: jira, slack)",
        "cxhub.yaml:25: routes[0].actions[1].params.assignee: unknown parameter; expected one of description, "
        "issue_type, labels, priority, project, summary",
        "cxhub.yaml:25: routes[0].actions[1].params.summary: template does not compile: unexpected end of "
        "template, expected 'end of print statement'.",
        "cxhub.yaml:26: routes[0].actions[2].action: Missing data for required field.",
        "cxhub.yaml:27: routes[1].name: route name 'detractors' is used twice",
    ]


def test_a_load_without_settings_needs_no_secret(host):
    text = SEVERAL_PROBLEMS.replace("settings:\n      webhook_url: {$env: HOOK}", "settings: {$env: SLACK_SETTINGS}")
    assert "SLACK_SETTINGS" in text
    config = parse_config(text, "cxhub.yaml", host, {}, with_settings=False)
    assert sorted(config.connections) == ["jira", "slack"]
    assert config.connections["jira"].settings == {} and config.sources == {} and config.routes == ()


def test_a_load_without_settings_still_checks_the_hub_section_and_policies(host):
    text = "hub:\n  queue: Bad Queue\nconnections:\n  jira:\n    plugin: jira\n    retry: {max_attempts: 0}\n"
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "cxhub.yaml", host, {}, with_settings=False)
    assert [problem.path for problem in caught.value.problems] == [
        ("hub", "queue"), ("connections", "jira", "retry", "max_attempts")]


def test_a_route_runs_once_per_object_unless_it_asks_for_updates(host):
    def routes(text: str):
        return parse_config(text, "cxhub.yaml", host, ENV).routes

    assert [route.run_on_updates for route in routes(VALID)] == [False]
    asking = VALID.replace("    actions:", "    run_on_updates: true\n    actions:")
    assert [route.run_on_updates for route in routes(asking)] == [True]
