"""`cxhub routes test`: stored events through one config or two, with nothing sent and nothing stored."""

from __future__ import annotations

import orjson
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

import plugins.jira as jira
import plugins.webhook as webhook
from hub.cli import main
from hub.store.tables import metadata
from tests.conftest import APP_SOURCE, WHSEC, detractor, send

ENV = {"APP_SECRET": WHSEC, "JIRA_TOKEN": "jira-api-token-not-real"}


def config(jira_url: str, detractors_when: str, extra_route: str = "") -> str:
    return APP_SOURCE + f"""
connections:
  jira:
    plugin: jira
    settings: {{base_url: "{jira_url}", email: bot@example.com, api_token: {{$env: JIRA_TOKEN}}}}
routes:
  - name: detractors
    when: {detractors_when}
    actions:
      - connection: jira
        action: create_issue
        params: {{project: CX, summary: "{{{{ data.customer.email }}}}: {{{{ data.text }}}}"}}
{extra_route}"""


RUNNING_WHEN = "{field: data.score.band, equals: negative}"
CANDIDATE_WHEN = "{field: data.score.value, lte: 1}"
PROMOTERS = """  - name: promoters
    when: {field: data.score.band, equals: positive}
    actions:
      - connection: jira
        action: add_comment
        params: {issue: "CX-{{ data.no_such_field }}", comment: thanks}
"""


def response(response_id: int, score: int, comment: str) -> dict:
    payload = detractor(response_id, comment)
    payload["response"]["score"] = score
    return payload


@pytest.fixture
def hub(make_hub, httpserver):
    test_hub = make_hub(config(httpserver.url_for("/jira"), RUNNING_WHEN), plugins=[webhook, jira], env=ENV)
    ids = {}
    ids["two"] = send(test_hub, response(1001, 2, "Export fails"), "msg_1").json["accepted"][0]
    ids["one"] = send(test_hub, response(1002, 1, "Hostile \x1b[31mred\u202e text"), "msg_2").json["accepted"][0]
    ids["ten"] = send(test_hub, response(1003, 10, "Lovely"), "msg_3").json["accepted"][0]
    ids["update"] = send(test_hub, response(1001, 2, "Export still fails"), "msg_4").json["accepted"][0]
    test_hub.ids = ids
    return test_hub


@pytest.fixture
def cxhub(hub, cxhub_redis_url, cxhub_database_url):
    def run(*args: str, code: int = 0) -> str:
        env = {"CXHUB_CONFIG": hub.app.config["CXHUB_CONFIG"], "REDIS_URL": cxhub_redis_url,
               "DATABASE_URL": cxhub_database_url, **ENV}
        result = CliRunner().invoke(main, ["routes", "test", *args], env=env, catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output

    return run


def snapshot(hub) -> tuple[dict[str, int], list[bytes], list[bytes]]:
    """Row counts of every table, every Redis key, and the deliveries as stored."""
    with hub.store.database.engine.connect() as db:
        counts = {table.name: db.execute(select(func.count()).select_from(table)).scalar_one()
                  for table in metadata.sorted_tables}
    return counts, sorted(hub.hub.redis.keys("*")), sorted(row.status.encode() for row in hub.store.reads.deliveries())


def test_one_config_counts_matches_once_per_object_and_renders_examples(hub, cxhub, httpserver):
    before = snapshot(hub)
    output = cxhub("--since", "30d")
    assert "4 events received in the last 30d" in output and "nothing was sent or stored" in output
    # the update of response 1001 does not count: the route already ran for the response itself
    assert "route detractors: 2 of 4 events match" in output
    assert f"event {hub.ids['two']} cx.survey.response /sources/app" in output
    assert '    jira.create_issue {"project":"CX","summary":"ann@example.com: Export fails"' in output
    assert snapshot(hub) == before and httpserver.log == []


def test_two_configs_show_what_starts_and_stops_matching(hub, cxhub, httpserver, tmp_path):
    candidate = tmp_path / "changed.yaml"
    candidate.write_text(config(httpserver.url_for("/jira"), CANDIDATE_WHEN, PROMOTERS))
    before = snapshot(hub)
    output = cxhub("--since", "30d", "--config", str(candidate))
    assert f"candidate: {candidate}" in output
    assert "route detractors: 2 match now, 1 with the candidate; 0 start matching, 1 stop" in output
    assert f"  stop matching: {hub.ids['two']}\n" in output
    assert "route promoters (new in the candidate): 0 match now, 1 with the candidate; 1 start matching, 0 stop" \
        in output
    assert "jira.add_comment would fail: params.issue: UndefinedError" in output

    report = orjson.loads(cxhub("--since", "30d", "--config", str(candidate), "--json"))
    assert (report["events_in_window"], report["scanned"], report["limit"]) == (4, 4, 10_000)
    detractors, promoters = report["routes"]
    assert detractors["matched"] == {"running": 2, "candidate": 1}
    assert detractors["stop_matching"] == {"count": 1, "events": [hub.ids["two"]]}
    assert detractors["start_matching"] == {"count": 0, "events": []}
    [example] = detractors["examples"]  # with the candidate's routes
    assert example["event"]["id"] == hub.ids["one"]
    [action] = example["actions"]
    assert action["params"] == {"project": "CX", "summary": "ann@example.com: Hostile \x1b[31mred\u202e text",
                                "description": "", "issue_type": "Task", "priority": None, "labels": []}
    assert promoters["start_matching"]["events"] == [hub.ids["ten"]]
    assert (promoters["in_running"], promoters["in_candidate"]) == (False, True)
    assert snapshot(hub) == before and httpserver.log == []


def test_vendor_text_is_escaped_on_the_terminal(hub, cxhub, tmp_path, httpserver):
    candidate = tmp_path / "changed.yaml"
    candidate.write_text(config(httpserver.url_for("/jira"), CANDIDATE_WHEN))
    output = cxhub("--since", "1d", "--config", str(candidate), "--route", "detractors")
    assert "\x1b" not in output and "\u202e" not in output
    assert "Hostile \\u001b[31mred\\u202e text" in output  # JSON's escape for ESC, visible()'s for U+202E


def test_the_window_and_the_number_of_events_are_bounded(hub, cxhub):
    output = cxhub("--since", "30d", "--limit", "2")
    assert "4 events received in the last 30d" in output and "scanned the newest 2 (--limit 2)" in output
    assert "route detractors: 0 of 2 events match" in output  # the newest two: the promoter and the update
    report = orjson.loads(cxhub("--since", "30d", "--limit", "2", "--json"))
    assert report["scanned"] == 2 and report["first_received_at"] <= report["last_received_at"]

    assert "longer than the longest window, 366d" in cxhub("--since", "400d", code=2)
    assert "not a window" in cxhub("--since", "30 days", code=2)
    assert "1<=x<=1000000" in cxhub("--since", "1d", "--limit", "0", code=2)
    assert "no route 'nope' (routes: detractors)" in cxhub("--since", "1d", "--route", "nope", code=1)


def test_an_update_whose_first_event_is_older_than_the_window_counts_once(hub, cxhub):
    from sqlalchemy import update

    from hub.store import now
    from hub.store.tables import events
    from datetime import timedelta

    with hub.store.database.engine.begin() as db:  # response 1001's first event was received two days ago
        db.execute(update(events).where(events.c.id == hub.ids["two"]).values(received_at=now() - timedelta(days=2)))
    output = cxhub("--since", "1d")
    assert "3 events received in the last 1d" in output
    assert "route detractors: 1 of 3 events match" in output  # response 1002 only, not 1001's update
