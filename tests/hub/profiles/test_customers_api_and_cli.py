"""`/admin/customers...` and `cxhub customers ...`: lookups, 404s and 400s, the timeline's stable
cursors, merge and unmerge, and vendor text printed with what a terminal acts on escaped."""

from __future__ import annotations

import orjson
import pytest
from click.testing import CliRunner

from hub.cli import main
from tests.conftest import WHSEC

TOKEN = "admin-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def api(app):
    app.hub.app.config["CXHUB_ADMIN_TOKEN"] = TOKEN
    return app


def get(app, path: str):
    return app.hub.client.get(path, headers=AUTH)


def post(app, path: str, body: dict):
    return app.hub.client.post(path, json=body, headers=AUTH)


def cli(app, *args: str):
    return CliRunner().invoke(main, [*args, "--config", app.hub.app.config["CXHUB_CONFIG"]],
                              env={"DATABASE_URL": app.hub.store.url, "APP_SECRET": WHSEC})


def test_a_customer_is_found_by_email_or_identifier_and_shown_with_scores_and_no_cases(api):
    api.send(email="Ann@Example.com", id="u1", score=3, at="2026-11-01T10:00:00Z")
    api.send(email="ann@example.com", score=9, at="2026-11-02T10:00:00Z")
    api.hub.drain()
    by_email = get(api, "/admin/customers?email=ANN@example.com ")
    assert by_email.status_code == 200
    [summary] = by_email.json["customers"]
    assert get(api, "/admin/customers?identifier=app:u1").json["customers"] == [summary]
    assert summary["events"] == 2
    shown = get(api, f"/admin/customers/{summary['id']}").json
    assert {(row["kind"], row["value"]) for row in shown["identifiers"]} == {("email", "ann@example.com"),
                                                                            ("app", "u1")}
    assert shown["first_seen"] == "2026-11-01T10:00:00+00:00" and shown["last_seen"] == "2026-11-02T10:00:00+00:00"
    assert shown["latest_scores"]["nps"]["value"] == 9  # the latest by the event's time
    assert shown["open_cases"] == []  # no route of this config opens cases


@pytest.mark.parametrize("path, status, code", [
    ("/admin/customers?email=nobody@example.com", 404, "unknown_customer"),
    ("/admin/customers?identifier=zendesk:404", 404, "unknown_customer"),
    ("/admin/customers/cus_00000000000000000000000000000000", 404, "unknown_customer"),
    ("/admin/customers/cus_00000000000000000000000000000000/timeline", 404, "unknown_customer"),
    ("/admin/customers/anything", 404, "unknown_customer"),
    ("/admin/customers", 400, "invalid_request"),
    ("/admin/customers?email=a@b.c&identifier=app:1", 400, "invalid_request"),
    ("/admin/customers?email=not-an-address", 400, "invalid_request"),
    ("/admin/customers?identifier=no%20kind", 400, "invalid_request"),
    ("/admin/customers?email=a@b.c&extra=1", 400, "invalid_request"),
])
def test_unknown_customers_are_404_and_bad_queries_400(api, path, status, code):
    response = get(api, path)
    assert (response.status_code, response.json["error"]["code"]) == (status, code), response.json
    if status == 404:
        assert "no customer" in response.json["error"]["message"]


def test_the_timeline_pages_newest_first_with_cursors_that_stay_put(api):
    sent = [api.send(email="ann@example.com", at=f"2026-11-{day:02d}T10:00:00Z") for day in range(1, 8)]
    api.hub.drain()
    [summary] = get(api, "/admin/customers?email=ann@example.com").json["customers"]
    first = get(api, f"/admin/customers/{summary['id']}/timeline?limit=3").json
    assert [event["id"] for event in first["events"]] == sent[::-1][:3]
    assert first["events"][0]["deliveries"] == [] and first["events"][0]["score"]["type"] == "nps"
    api.send(email="ann@example.com", at="2026-11-30T10:00:00Z")  # arrives between two pages
    api.hub.drain()
    second = get(api, f"/admin/customers/{summary['id']}/timeline?limit=3&after={first['next']}").json
    assert [event["id"] for event in second["events"]] == sent[::-1][3:6]
    last = get(api, f"/admin/customers/{summary['id']}/timeline?limit=3&after={second['next']}").json
    assert [event["id"] for event in last["events"]] == [sent[0]] and last["next"] is None
    bad = get(api, f"/admin/customers/{summary['id']}/timeline?after=broken")
    assert (bad.status_code, bad.json["error"]["code"]) == (400, "invalid_cursor")


def test_merge_and_unmerge_through_the_admin_api(api):
    api.send(email="ann@example.com")
    api.send(email="lee@example.com")
    api.hub.drain()
    merged = post(api, "/admin/customers/merge", {"keep": "ann@example.com", "absorb": "lee@example.com",
                                                   "reason": "same person", "by": "ops@example.com"})
    assert merged.status_code == 200, merged.json
    assert merged.json["merge"]["by"] == "ops@example.com" and merged.json["customer"]["events"] == 2
    same = post(api, "/admin/customers/merge", {"keep": "ann@example.com", "absorb": "lee@example.com"})
    assert (same.status_code, same.json["error"]["code"]) == (409, "same_profile")
    assert "cannot be merged with itself" in same.json["error"]["message"]
    unknown = post(api, "/admin/customers/merge", {"keep": "ann@example.com", "absorb": "x@example.com"})
    assert unknown.status_code == 404
    assert post(api, "/admin/customers/merge", {"keep": "ann@example.com"}).status_code == 400
    undone = post(api, "/admin/customers/unmerge", {"profile": "lee@example.com", "by": "ops@example.com"})
    assert undone.status_code == 200 and undone.json["merge"]["status"] == "undone"
    assert undone.json["customer"]["events"] == 1
    again = post(api, "/admin/customers/unmerge", {"profile": "lee@example.com"})
    assert (again.status_code, again.json["error"]["code"]) == (409, "not_merged")


def test_the_cli_shows_merges_and_unmerges_with_clear_errors(app):
    ann = app.send(email="ann@example.com", score=2)
    app.send(email="lee@example.com")
    app.hub.drain()
    shown = cli(app, "customers", "show", "ann@example.com")
    assert shown.exit_code == 0, shown.output
    assert f"event {ann}" in shown.output and "nps 2/10 negative" in shown.output
    merged = cli(app, "customers", "merge", "ann@example.com", "lee@example.com", "--reason", "same", "--by", "ops")
    assert merged.exit_code == 0 and merged.output.startswith("merged cus_"), merged.output
    assert "merged from cus_" in cli(app, "customers", "show", "lee@example.com").output
    same = cli(app, "customers", "merge", "ann@example.com", "lee@example.com")
    assert same.exit_code == 1 and "cannot be merged with itself" in same.output
    unknown = cli(app, "customers", "show", "nobody@example.com")
    assert unknown.exit_code == 1 and "no customer 'nobody@example.com'" in unknown.output
    as_json = orjson.loads(cli(app, "customers", "unmerge", "lee@example.com", "--json").output)
    assert as_json["status"] == "undone" and as_json["undone_by"].startswith("cli")
    not_merged = cli(app, "customers", "unmerge", "lee@example.com")
    assert not_merged.exit_code == 1 and "not merged into another profile" in not_merged.output
    data = orjson.loads(cli(app, "customers", "show", "ann@example.com", "--json").output)
    assert data["customer"]["open_cases"] == [] and [e["id"] for e in data["timeline"]["events"]] == [ann]


def test_hostile_names_and_texts_are_printed_escaped(app):
    app.send(email="eve@example.com", name="Eve\x1b[2J\x1b]0;pwned\x07 \u202eevil", comment="hi\rroot# \x9b31m")
    app.hub.drain()
    result = cli(app, "customers", "show", "eve@example.com")
    assert result.exit_code == 0
    assert "\x1b" not in result.output and "\u202e" not in result.output and "\x9b" not in result.output
    assert "\r" not in result.output and "\x07" not in result.output
    assert "Eve\\x1b[2J\\x1b]0;pwned\\x07 \\u202eevil" in result.output
    assert "hi root# \\x9b31m" in result.output  # the one-line summary folds whitespace, CR included
    as_json = cli(app, "customers", "show", "eve@example.com", "--json").output
    assert "\u202e" not in as_json and "\\u202e" in as_json
    assert orjson.loads(as_json)["timeline"]["events"][0]["customer"]["name"].startswith("Eve\x1b")
    weird = cli(app, "customers", "show", "\x1b[31mx@example.com")
    assert weird.exit_code == 1 and "\x1b" not in weird.output


def test_resolve_attaches_what_is_pending_and_retries_failed_events(app):
    event = app.send(email="ann@example.com")
    app.hub.store.profiles.mark([event], "failed")
    result = cli(app, "customers", "resolve")
    assert result.output.strip() == "processed 0 events; pending 0, failed 1"
    result = cli(app, "customers", "resolve", "--failed")
    assert result.output.strip() == "processed 1 events (1 had failed before); pending 0, failed 0"
    assert app.state_of(event) == "linked"
