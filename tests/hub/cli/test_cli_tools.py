"""`cxhub check-config`, `serve` refusing a bad config, `normalize` and `plugins`."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from hub.cli import main, tools
from hub.plugin import PluginInfo, SourceInfo, hookimpl
from hub.pluginhost import PluginHost, build_plugin_manager

ROOT = Path(__file__).parents[3]
EXAMPLE = ROOT / "examples" / "cxhub.yaml"
DEMO_ENV = ROOT / "examples" / "demo.env"


def run(*args: str, env: dict | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env=env or {})
    return result.exit_code, result.output


def demo_env() -> dict[str, str]:
    lines = [line.split("=", 1) for line in DEMO_ENV.read_text().splitlines() if line and not line.startswith("#")]
    return {name: value for name, value in lines}


def test_check_config_accepts_the_example():
    code, output = run("check-config", str(EXAMPLE), env=demo_env())
    assert code == 0
    assert "OK — 1 source(s), 3 connection(s), 2 route(s)" in output


def test_check_config_reports_every_problem_with_file_and_line(tmp_path):
    env = {name: value for name, value in demo_env().items() if name != "JIRA_EMAIL"}
    broken = tmp_path / "broken.yaml"
    broken.write_text(EXAMPLE.read_text().replace("connection: slack", "connection: slak"))
    code, output = run("check-config", str(broken), env=env)
    assert code == 1
    assert f"error: {broken}:20: connections.jira.settings.email: environment variable JIRA_EMAIL is not set" in output
    assert f"error: {broken}:55: routes[0].actions[1].connection: unknown connection 'slak'" in output
    assert "2 problem(s) found" in output


@pytest.fixture
def restored_environ():
    """--env-file writes to os.environ in this process: put it back for the tests that follow."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def test_check_config_reads_an_env_file(restored_environ):
    code, output = run("check-config", str(EXAMPLE), "--env-file", str(DEMO_ENV))
    assert code == 0, output
    assert "OK — 1 source(s), 3 connection(s), 2 route(s)" in output


def test_check_config_reports_each_problem_once_and_no_false_one(tmp_path):
    env = {name: value for name, value in demo_env().items() if name not in ("JIRA_API_TOKEN", "SLACK_WEBHOOK_URL")}
    broken = tmp_path / "broken.yaml"
    broken.write_text(EXAMPLE.read_text()
                      .replace("      equals: negative", "      equal: negative")
                      .replace("action: create_issue", "action: create_ticket")
                      .replace("connection: forward", "connection: forwrd"))
    code, output = run("check-config", str(broken), env=env)
    assert code == 1
    assert output.splitlines() == [
        f"error: {broken}:21: connections.jira.settings.api_token: environment variable JIRA_API_TOKEN is not set",
        f"error: {broken}:26: connections.slack.settings.webhook_url: environment variable SLACK_WEBHOOK_URL "
        "is not set",
        f"error: {broken}:35: routes[0].when: a field test needs exactly one operator out of contains, equals, "
        "exists, gt, gte, in, lt, lte, not_equals, regex; got ['equal']",
        f"error: {broken}:40: routes[0].actions[0].action: connection 'jira' (jira) has no action 'create_ticket' "
        "(known: add_comment, assign_issue, create_issue, transition_issue)",
        f"error: {broken}:69: routes[1].actions[0].connection: unknown connection 'forwrd' "
        "(known: forward, jira, slack)",
        "5 problem(s) found",
    ]


def test_check_config_on_a_missing_file(tmp_path):
    code, output = run("check-config", str(tmp_path / "nope.yaml"))
    assert code == 1 and "cannot read the config file" in output


def test_serve_refuses_to_start_on_an_invalid_config(tmp_path):
    env = {name: value for name, value in demo_env().items() if name != "TYPEFORM_SECRET"}
    code, output = run("serve", "--config", str(EXAMPLE), "--data-dir", str(tmp_path), env=env)
    assert code == 2
    assert "sources.typeform.settings.secret: environment variable TYPEFORM_SECRET is not set" in output
    assert "cxhub on http" not in output


def test_normalize_prints_canonical_events(tmp_path):
    payload = tmp_path / "payload.json"
    payload.write_bytes(orjson.dumps({"event_id": "01HX", "event_type": "form_response", "form_response": {
        "form_id": "lT4Z3j", "token": "a3a12ec67a1365927098a606107fac15", "submitted_at": "2026-11-20T10:00:00Z",
        "definition": {"fields": [{"id": "f1", "type": "nps", "ref": "nps"}]},
        "answers": [{"type": "number", "number": 4, "field": {"id": "f1", "type": "nps"}}]}}))
    code, output = run("normalize", "typeform", str(payload))
    assert code == 0, output
    [event] = orjson.loads(output)
    assert event["data"]["score"]["band"] == "negative" and event["type"] == "cx.survey.response"


def test_normalize_explains_a_payload_it_does_not_understand(tmp_path):
    payload = tmp_path / "other.json"
    payload.write_text('{"event_type": "form_deleted"}')
    code, output = run("normalize", "typeform", str(payload))
    assert code == 1
    assert "other.json: expected a Typeform form_response event, got 'form_deleted'" in output


def test_normalize_respects_the_content_type_header(tmp_path):
    payload = tmp_path / "form.txt"
    payload.write_text("a=1")
    code, output = run("normalize", "typeform", str(payload), "-H", "Content-Type: application/x-www-form-urlencoded")
    assert code == 1 and "content type 'application/x-www-form-urlencoded' is not accepted" in output


def test_plugins_lists_the_built_ins_discovered_through_entry_points():
    code, output = run("plugins")
    assert code == 0
    lines = output.splitlines()
    assert lines[0].split() == ["PLUGIN", "VERSION", "SOURCE", "ACTIONS", "ANNOTATOR"]
    assert {line.split()[0] for line in lines[1:]} >= {"jira", "slack", "typeform", "webhook", "sentiment"}
    assert any(line.split() == ["jira", "0.3.0", "yes", "add_comment,", "assign_issue,", "create_issue,", "transition_issue", "-"]
               for line in lines)
    assert any(line.split() == ["sentiment", "0.1.0", "-", "-", "yes"] for line in lines)


class NeedsAnApiToken:
    """A source whose parse reads a setting that only a config gives (as an id-only vendor's would)."""

    @staticmethod
    @hookimpl
    def cxhub_plugin_info() -> PluginInfo:
        return PluginInfo(name="thin", version="1.0", source=SourceInfo())

    @staticmethod
    @hookimpl
    def cxhub_verify_request(source, request) -> None:
        """Nothing to verify here."""

    @staticmethod
    @hookimpl
    def cxhub_parse_request(source, request):
        return [source.settings["token"]]


def test_normalize_names_the_plugin_when_it_fails(tmp_path, monkeypatch):
    monkeypatch.setattr(tools, "_host", lambda: PluginHost(build_plugin_manager([NeedsAnApiToken], discover=False)))
    payload = tmp_path / "note.json"
    payload.write_text('{"object_id": "1"}')
    code, output = run("normalize", "thin", str(payload))
    assert code == 1
    assert ("note.json: the thin plugin needs the setting 'token', which has no default: pass --config FILE "
            "(and --source NAME) to take it from a config") in output


def test_normalize_names_a_missing_header_and_how_to_give_it(tmp_path):
    config = tmp_path / "cxhub.yaml"
    config.write_text("sources:\n  app:\n    plugin: webhook\n    settings:\n      secret: {$env: APP_SECRET}\n"
                      "      mapping: {object_id: response.id}\n")
    payload = tmp_path / "response.json"
    payload.write_text('{"response": {"id": 7}}')
    env = {"APP_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
    code, output = run("normalize", "webhook", str(payload), "--config", str(config), "--source", "app", env=env)
    assert code == 1
    assert output == ("error: response.json: the webhook-id header is missing: it gives the event id (or set "
                      "mapping.event_id); give it with -H 'webhook-id: VALUE'\n")
    code, output = run("normalize", "webhook", str(payload), "--config", str(config), "--source", "app",
                       "-H", "webhook-id: msg_1", env=env)
    assert code == 1 and "the webhook-timestamp header is missing: it gives the event time" in output
    code, output = run("normalize", "webhook", str(payload), "--config", str(config), "--source", "app",
                       "-H", "webhook-id: msg_1", "-H", "webhook-timestamp: 1764583200", env=env)
    assert code == 0, output
    [event] = orjson.loads(output)
    assert (event["data"]["vendor_event_id"], event["time"]) == ("msg_1", "2025-12-01T10:00:00Z")
