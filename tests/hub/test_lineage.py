"""The lineage in the core: what deliveries created, origins stamped at take-in, `origin` in conditions
and templates, and what replay, retention, bad links and the admin API make of it."""

from __future__ import annotations

import time
from datetime import timedelta

import orjson
import pytest

import plugins.jira as jira
import plugins.webhook as webhook
from hub.delivery.runner import _recordable
from hub.operations import replay_event
from hub.plugin import Link
from hub.store import now
from hub.testing import hmac_signature
from tests.conftest import APP_SOURCE, WHSEC, detractor, fixture_bytes, send

ADMIN = {"Authorization": "Bearer admin-token-lineage-0123"}
CONFIG = APP_SOURCE + """
  jira:
    plugin: jira
    settings: {secret: {$env: JIRA_SECRET}}
connections:
  jira:
    plugin: jira
    settings: {base_url: "%(jira)s", email: cx-bot@example.com, api_token: {$env: JIRA_TOKEN}}
    retry: {max_attempts: 1}
  out:
    plugin: webhook
    settings: {url: "%(out)s", secret: {$env: APP_SECRET}}
    retry: {max_attempts: 1}
routes:
  - name: detractors
    when: {all: [{field: data.score.band, equals: negative}, {field: origin, exists: false}]}
    actions:
      - {connection: jira, action: create_issue, params: {project: CX, summary: "{{ data.customer.email }}"}}
  - name: follow-ups
    when: {field: origin.route, equals: detractors}
    actions:
      - connection: out
        action: forward
  - name: needs-an-origin
    when: {field: data.attributes.jira_event_type, equals: "jira:issue_updated"}
    actions:
      - connection: jira
        action: add_comment
        params: {issue: "{{ origin.result.external_id }}", comment: "{{ origin.event.data.text }}"}
"""
CREATED = fixture_bytes("jira/create_issue_response_201.json")  # ED-24


@pytest.fixture
def hub(make_hub, httpserver):
    httpserver.expect_request("/rest/api/3/issue", method="POST").respond_with_data(
        CREATED, status=201, content_type="application/json")
    httpserver.expect_request("/out", method="POST").respond_with_data("")
    httpserver.expect_request("/rest/api/3/issue/ED-24/comment", method="POST").respond_with_json(
        {"id": "10000"}, status=201)
    test_hub = make_hub(CONFIG % {"jira": httpserver.url_for("/"), "out": httpserver.url_for("/out")},
                        plugins=[webhook, jira], env={"APP_SECRET": WHSEC, "JIRA_TOKEN": "t", "JIRA_SECRET": "s"})
    test_hub.app.config["CXHUB_ADMIN_TOKEN"] = ADMIN["Authorization"].split()[1]
    return test_hub


def jira_update(hub, key: str = "ED-24", identifier: str = "id-1"):
    payload = orjson.loads(fixture_bytes("jira/issue_updated_status.json"))
    payload["timestamp"] = int(time.time() * 1000)
    payload["issue"]["key"] = key
    body = orjson.dumps(payload)
    return hub.post("jira", body, {"X-Hub-Signature": "sha256=" + hmac_signature("s", body),
                                   "X-Atlassian-Webhook-Identifier": identifier})


def event_body(hub, event_id: str) -> dict:
    return orjson.loads(hub.store.reads.event(event_id).body)


def routes_of(hub, event_id: str) -> list[str]:
    return sorted(row.route for row in hub.store.reads.deliveries(event_id=event_id))


def test_a_created_object_is_recorded_and_a_later_event_about_it_is_stamped_and_routed(hub):
    [first] = send(hub, detractor()).json["accepted"]
    hub.drain()
    [created] = hub.store.lineage.of_event(first).created
    [delivery] = hub.store.reads.deliveries(event_id=first)
    assert (created.system, created.object_id, created.delivery_id) == ("jira", "ED-24", delivery.id)
    assert orjson.loads(delivery.result)["link"]["id"] == "ED-24"
    [later] = jira_update(hub).json["accepted"]
    hub.drain()
    origin = event_body(hub, later)["data"]["origin"]
    assert origin == {"event_id": first, "delivery_id": delivery.id, "route": "detractors", "connection": "jira",
                      "action": "create_issue", "object": {"system": "jira", "id": "ED-24"}}
    assert hub.store.reads.event(later).origin_event_id == first
    assert routes_of(hub, later) == ["follow-ups", "needs-an-origin"]
    assert {row.status for row in hub.store.reads.deliveries(event_id=later)} == {"succeeded"}


def test_templates_read_the_origin_and_fail_clearly_without_one(hub, httpserver):
    send(hub, detractor(comment="Export broken"))
    hub.drain()
    [followed] = jira_update(hub).json["accepted"]
    [orphan] = jira_update(hub, key="OTHER-1", identifier="id-2").json["accepted"]  # not the hub's issue
    hub.drain()
    [comment] = [orjson.loads(request.data) for request, _ in httpserver.log
                 if request.path == "/rest/api/3/issue/ED-24/comment"]
    assert "Export broken" in orjson.dumps(comment["body"]).decode()
    assert routes_of(hub, orphan) == ["needs-an-origin"]  # follow-ups needs origin.route: no match
    [dead] = hub.store.reads.deliveries(event_id=orphan)
    assert dead.status == "dead" and "'origin' is undefined" in dead.last_error
    assert "origin" not in event_body(hub, orphan)["data"]
    assert hub.store.reads.event(followed).origin_event_id is not None


def test_a_replay_of_the_event_that_created_an_object_does_not_follow_itself_up(hub):
    [first] = send(hub, detractor()).json["accepted"]
    hub.drain()
    replay_event(hub.hub, first)
    hub.drain()
    assert "origin" not in event_body(hub, first)["data"]
    assert routes_of(hub, first) == ["detractors"]
    assert hub.store.lineage.of_event(first).follow_ups == []


@pytest.mark.parametrize(("link", "kept"), [
    (Link(system="jira", id="ED-24"), True),
    (Link(system="jira", id="x" * 513), False),  # over the column: not linked, the delivery still succeeds
    (Link(system="j" * 65, id="ED-24"), False),
    (Link(system="jira", id="ED\x0024"), False),  # PostgreSQL cannot store NUL
])
def test_a_link_the_store_cannot_keep_is_not_recorded(link, kept):
    assert _recordable(link) is kept


def test_retention_deletes_what_a_pruned_event_created(hub):
    [first] = send(hub, detractor()).json["accepted"]
    hub.drain()
    counts = hub.store.retention.prune(now() + timedelta(seconds=1))
    assert counts["created_objects"] == 1 and counts["events"] == 1
    assert hub.store.lineage.cause_of("jira", "ED-24") is None


def test_the_admin_api_shows_lineage_and_says_what_it_does_not_know(hub):
    [first] = send(hub, detractor()).json["accepted"]
    hub.drain()
    [later] = jira_update(hub).json["accepted"]
    detail = hub.client.get(f"/admin/events/{first}", headers=ADMIN).json
    assert [item["id"] for item in detail["lineage"]["created"]] == ["ED-24"]
    assert [item["id"] for item in detail["lineage"]["follow_ups"]] == [later]
    lineage = hub.client.get(f"/admin/events/{later}/lineage", headers=ADMIN).json
    assert lineage["origin"]["event"]["id"] == first and lineage["origin"]["object"]["id"] == "ED-24"
    caused = hub.client.get("/admin/objects/jira/ED-24", headers=ADMIN).json
    assert caused["event"]["id"] == first and caused["delivery"]["route"] == "detractors"
    assert hub.client.get("/admin/events/nope/lineage", headers=ADMIN).status_code == 404
    missing = hub.client.get("/admin/objects/jira/NOPE-1", headers=ADMIN)
    assert missing.status_code == 404 and "created no jira object 'NOPE-1'" in missing.json["error"]["message"]
    assert hub.client.get("/admin/objects/jira/ED-24").status_code == 401


def test_origins_are_looked_up_only_in_systems_the_routes_create_objects_in(hub, make_hub, httpserver):
    from hub.ingest.service import origin_finder
    from tests.conftest import forward_everything

    assert origin_finder(hub.hub).systems == {"jira"}  # create_issue; add_comment and forward create nothing
    forwarding = make_hub(forward_everything(httpserver.url_for("/out")), plugins=[webhook], env={"APP_SECRET": WHSEC})
    assert origin_finder(forwarding.hub).systems == frozenset()


def test_the_console_event_page_shows_what_it_follows_up_and_what_followed(make_hub, httpserver):
    from tests.hub.console.conftest import ENV as CONSOLE_ENV, console_section, sign_in

    httpserver.expect_request("/rest/api/3/issue", method="POST").respond_with_data(
        CREATED, status=201, content_type="application/json")
    httpserver.expect_request("/out", method="POST").respond_with_data("")
    hub = make_hub(CONFIG % {"jira": httpserver.url_for("/"), "out": httpserver.url_for("/out")} + console_section(),
                   plugins=[webhook, jira], env={**CONSOLE_ENV, "JIRA_TOKEN": "t", "JIRA_SECRET": "s"})
    [first] = send(hub, detractor()).json["accepted"]
    hub.drain()
    [later] = jira_update(hub).json["accepted"]
    sign_in(hub.client, "vera")
    page = hub.client.get(f"/console/events/{first}").get_data(as_text=True)
    assert "Later events about what it created" in page and f"/console/events/{later}" in page
    assert "jira ED-24" in page
    page = hub.client.get(f"/console/events/{later}").get_data(as_text=True)
    assert "Follows up" in page and f"/console/events/{first}" in page and "created jira ED-24" in page


def test_cxhub_routes_test_matches_follow_ups_with_their_origin(hub):
    from datetime import datetime, timezone

    from hub.backtest import rehearse

    send(hub, detractor(comment="Export broken"))
    hub.drain()
    [later] = jira_update(hub).json["accepted"]
    outcome = rehearse(hub.store, hub.hub.plugins, hub.hub.config, None,
                       since=datetime(2000, 1, 1, tzinfo=timezone.utc))
    by_route = {item.name: item for item in outcome.routes}
    assert by_route["follow-ups"].running == 1 and by_route["detractors"].running == 1
    [sample] = by_route["needs-an-origin"].samples
    assert sample.event["id"] == later
    assert sample.actions[0]["params"]["comment"] == "Export broken"  # rendered from origin.event.data.text
