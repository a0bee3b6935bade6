"""Shadow routes: matched and rendered, recorded as `shadow` deliveries, never sent (no job, no request)."""

from __future__ import annotations

import orjson
import pytest
from click.testing import CliRunner

import plugins.jira as jira
import plugins.webhook as webhook
from hub.cli import main
from hub.retention import prune
from tests.conftest import APP_SOURCE, WHSEC, detractor, send

TOKEN = "admin-token-0123456789"
ENV = {"APP_SECRET": WHSEC, "JIRA_TOKEN": "jira-api-token-not-real", "OUT_SECRET": WHSEC}


def config(jira_url: str, forward_url: str | None = None, shadow: str = "true") -> str:
    live = f"""
  out:
    plugin: webhook
    settings: {{url: "{forward_url}", secret: {{$env: OUT_SECRET}}}}
    retry: {{max_attempts: 1}}""" if forward_url else ""
    live_route = """
  - name: everything
    actions:
      - {connection: out, action: forward}""" if forward_url else ""
    return APP_SOURCE + f"""
connections:
  jira:
    plugin: jira
    settings: {{base_url: "{jira_url}", email: bot@example.com, api_token: {{$env: JIRA_TOKEN}}}}
    retry: {{max_attempts: 1}}{live}
routes:
  - name: detractors
    shadow: {shadow}
    when: {{field: data.score.band, equals: negative}}
    actions:
      - connection: jira
        action: create_issue
        params:
          project: CX
          summary: "{{{{ data.customer.email }}}} scored {{{{ data.score.value }}}}"
          labels: [detractor]
      - connection: jira
        action: add_comment
        params: {{issue: "{{{{ data.no_such_field }}}}", comment: "never rendered"}}{live_route}
"""


@pytest.fixture
def cxhub(cxhub_redis_url, cxhub_database_url):
    def run(test_hub, *args: str) -> str:
        env = {"CXHUB_CONFIG": test_hub.app.config["CXHUB_CONFIG"], "REDIS_URL": cxhub_redis_url,
               "DATABASE_URL": cxhub_database_url, **ENV}
        result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    return run


def test_a_shadow_route_records_what_it_would_send_and_sends_nothing(make_hub, httpserver, cxhub):
    hub = make_hub(config(httpserver.url_for("/jira")), plugins=[webhook, jira], env=ENV)
    [event_id] = send(hub, detractor()).json["accepted"]
    assert hub.hub.queue.count() == 0 and hub.hub.queue.scheduled_count() == 0  # no RQ job at all
    assert hub.drain() == 0
    assert httpserver.log == []  # the stand-in Jira received nothing

    deliveries = {row.action: row for row in hub.store.reads.deliveries(status="shadow")}
    assert set(deliveries) == {"create_issue", "add_comment"}
    created = deliveries["create_issue"]
    assert (created.event_id, created.route, created.attempts) == (event_id, "detractors", 0)
    shown = orjson.loads(created.result)
    assert shown["shadow"] is True
    assert shown["params"] == {"project": "CX", "summary": "ann@example.com scored 2", "labels": ["detractor"],
                               "description": "", "issue_type": "Task", "priority": None}  # after the schema
    failed = deliveries["add_comment"]
    assert failed.result is None and "UndefinedError" in failed.last_error  # would have been dead-lettered

    listing = cxhub(hub, "deliveries", "list", "--status", "shadow")
    assert listing.count("shadow") >= 2 and "jira.create_issue" in listing
    [as_json] = [row for row in orjson.loads(cxhub(hub, "deliveries", "list", "--status", "shadow", "--json"))
                 if row["action"] == "create_issue"]
    assert orjson.loads(as_json["result"])["params"]["summary"] == "ann@example.com scored 2"

    hub.app.config["CXHUB_ADMIN_TOKEN"] = TOKEN
    answer = hub.client.get("/admin/deliveries?status=shadow", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200
    by_action = {row["action"]: row for row in answer.json["deliveries"]}
    assert by_action["create_issue"]["status"] == "shadow"
    assert by_action["create_issue"]["result"]["params"]["summary"] == "ann@example.com scored 2"

    # a resend routes nothing new, and a replay leaves the shadow records alone: still nothing is sent
    send(hub, detractor())
    cxhub(hub, "replay", event_id)
    assert hub.drain() == 0 and httpserver.log == []
    assert len(hub.store.reads.deliveries()) == 2
    assert prune(hub.hub, older_than_days=1e-9)["events"] == 1  # a shadow record does not hold its event back


def test_live_and_shadow_routes_side_by_side(make_hub, httpserver):
    httpserver.expect_request("/forward", method="POST").respond_with_data("")
    hub = make_hub(config(httpserver.url_for("/jira"), httpserver.url_for("/forward")), plugins=[webhook, jira],
                   env=ENV)
    send(hub, detractor())
    assert hub.drain() == 1
    assert [request.path for request, _ in httpserver.log] == ["/forward"]  # the live route only
    statuses = sorted((row.route, row.status) for row in hub.store.reads.deliveries())
    assert statuses == [("detractors", "shadow"), ("detractors", "shadow"), ("everything", "succeeded")]


def test_shadow_is_true_or_false_and_check_config_says_which_routes(tmp_path, httpserver):
    path = tmp_path / "cxhub.yaml"
    path.write_text(config(httpserver.url_for("/jira")))
    result = CliRunner().invoke(main, ["check-config", str(path)], env=ENV)
    assert result.exit_code == 0, result.output
    assert "2 connection(s)" not in result.output and "1 route(s), 1 in shadow mode" in result.output
    assert "shadow routes (matched, rendered and recorded, never sent): detractors" in result.output

    path.write_text(config(httpserver.url_for("/jira"), shadow='"yes"'))
    result = CliRunner().invoke(main, ["check-config", str(path)], env=ENV)
    assert result.exit_code == 1
    assert "cxhub.yaml:" in result.output and "routes[0].shadow: Not a valid boolean." in result.output

    path.write_text(config(httpserver.url_for("/jira"), shadow="false"))
    result = CliRunner().invoke(main, ["check-config", str(path)], env=ENV)
    assert result.exit_code == 0 and result.output.endswith("1 route(s)\n") and "shadow routes" not in result.output
