"""Closed-loop cases: opened by a route with case:, followed through Jira's webhooks, overdue once per breach.

Real HTTP in (signed webhooks), real RQ jobs, a Jira stand-in, and a receiver for the
`cx.case.overdue` event routed like any other. The check is given its clock: nothing sleeps.
"""

from __future__ import annotations

import base64
import time
from datetime import timedelta

import orjson
import requests
from click.testing import CliRunner
from werkzeug import Request, Response

import plugins.jira as jira
import plugins.webhook as webhook
from hub.cli import main
from hub.sla import check_cases
from hub.store import now
from hub.testing import hmac_signature, sign_standard_webhook
from tests.conftest import APP_SOURCE, WHSEC, detractor, fixture_bytes

TOKEN, JIRA_SECRET, ADMIN = "jira-api-token-123", "jira-webhook-secret-0123", "admin-token-cases-0123456"
BASIC = "Basic " + base64.b64encode(f"cx-bot@example.com:{TOKEN}".encode()).decode()
CONFIG = APP_SOURCE + """
  jira:
    plugin: jira
    settings: {secret: {$env: JIRA_SECRET}}
connections:
  jira:
    plugin: jira
    settings: {base_url: "%(jira)s", email: cx-bot@example.com, api_token: {$env: JIRA_TOKEN}}
  alerts:
    plugin: webhook
    settings: {url: "%(alerts)s", secret: {$env: APP_SECRET}}
routes:
  - name: detractors
    when: {field: data.score.band, equals: negative}
    case: {owner: "cx-team@example.com", sla: {first_response: 24h, close: 72h}}
    actions:
      - {connection: jira, action: create_issue, params: {project: CX, summary: "{{ data.customer.email }}"}}
  - name: overdue
    when: {field: type, equals: cx.case.overdue}
    actions:
      - {connection: alerts, action: forward}
"""


def make(make_hub, httpserver):
    httpserver.expect_request("/rest/api/3/issue", method="POST", headers={"Authorization": BASIC}).respond_with_data(
        fixture_bytes("jira/create_issue_response_201.json"), status=201, content_type="application/json")
    received: list[dict] = []

    def alert(request: Request) -> Response:
        assert request.headers["webhook-id"] and request.headers["webhook-signature"].startswith("v1,")
        received.append(orjson.loads(request.data))
        return Response("", 204)

    httpserver.expect_request("/alerts", method="POST").respond_with_handler(alert)
    hub = make_hub(CONFIG % {"jira": httpserver.url_for("/").rstrip("/"), "alerts": httpserver.url_for("/alerts")},
                   plugins=[webhook, jira], env={"APP_SECRET": WHSEC, "JIRA_TOKEN": TOKEN, "JIRA_SECRET": JIRA_SECRET})
    hub.app.config["CXHUB_ADMIN_TOKEN"] = ADMIN
    hub.base_url = hub.serve()
    hub.alerts = received
    return hub


def post_detractor(hub, number: int) -> str:
    body = orjson.dumps(detractor(number))
    response = requests.post(f"{hub.base_url}/hooks/app", data=body, timeout=10, headers={
        "Content-Type": "application/json", **sign_standard_webhook(WHSEC, f"m{number}", body)})
    assert response.status_code == 202, response.text
    return response.json()["accepted"][0]


def jira_issue_done(hub) -> None:
    payload = orjson.loads(fixture_bytes("jira/issue_updated_status.json"))
    payload["timestamp"] = int(time.time() * 1000)
    payload["issue"].update(key="ED-24")
    payload["issue"]["fields"]["status"].update(name="Done", statusCategory={"id": 3, "key": "done", "name": "Done"})
    body = orjson.dumps(payload)
    response = requests.post(f"{hub.base_url}/hooks/jira", data=body, timeout=10, headers={
        "Content-Type": "application/json", "X-Hub-Signature": "sha256=" + hmac_signature(JIRA_SECRET, body)})
    assert response.status_code == 202, response.text


def test_a_detractor_opens_a_case_that_goes_overdue_once_and_closes_when_jira_says_done(make_hub, httpserver,
                                                                                      cxhub_database_url):
    hub = make(make_hub, httpserver)
    event_id = post_detractor(hub, 1)
    hub.drain()
    [case] = hub.store.cases.list()
    assert (case.status, case.owner, case.customer_email, case.event_id) == ("open", "cx-team@example.com",
                                                                            "ann@example.com", event_id)
    assert case.first_response_due - case.opened_at == timedelta(hours=24)
    assert case.close_due - case.opened_at == timedelta(hours=72)
    # a second detractor of the same customer joins the open case
    second = post_detractor(hub, 2)
    hub.drain()
    assert [row.id for row in hub.store.cases.list()] == [case.id]
    assert [(row.event_id, row.why) for row in hub.store.cases.linked_events(case.id)] == [(second, "same_customer")]

    assert check_cases(hub.hub, at=now()) == []  # not due yet
    later = now() + timedelta(hours=25)
    [overdue] = check_cases(hub.hub, at=later)
    assert check_cases(hub.hub, at=later + timedelta(hours=1)) == []  # once per breach
    hub.drain()
    [alert] = hub.alerts
    assert alert["id"] == overdue and alert["type"] == "cx.case.overdue" and alert["source"] == "/sources/cases"
    assert alert["data"]["attributes"]["case_id"] == case.id and alert["data"]["attributes"]["sla"] == "first_response"
    assert alert["data"]["customer"]["email"] == "ann@example.com"

    admin = {"Authorization": f"Bearer {ADMIN}"}
    listed = hub.client.get("/admin/cases?status=open&overdue=true", headers=admin).json["cases"]
    assert [item["id"] for item in listed] == [case.id] and listed[0]["overdue"] == ["first_response"]
    [customer] = hub.client.get("/admin/customers?email=ann@example.com", headers=admin).json["customers"]
    profile = hub.client.get(f"/admin/customers/{customer['id']}", headers=admin).json
    assert [item["id"] for item in profile["open_cases"]] == [case.id]  # the customer's view shows its open case
    env = {"DATABASE_URL": cxhub_database_url, "CXHUB_CONFIG": hub.app.config["CXHUB_CONFIG"]}
    shown = CliRunner().invoke(main, ["cases", "list", "--status", "open", "--overdue"], env=env)
    assert shown.exit_code == 0 and case.id in shown.output and "first_response" in shown.output

    jira_issue_done(hub)
    hub.drain()
    assert check_cases(hub.hub, at=later) == []  # the check follows the case: closed, nothing more is due
    case_now = hub.store.cases.get(case.id)
    assert case_now.status == "closed" and case_now.closed_at is not None
    assert case_now.first_response_at == case_now.closed_at  # closing answers it too
    assert hub.client.get("/admin/cases?overdue=true", headers=admin).json["cases"] == []
    detail = hub.client.get(f"/admin/cases/{case.id}", headers=admin).json
    assert detail["status"] == "closed"
    assert [(item["system"], item["id"]) for item in detail["tickets"]] == [("jira", "ED-24")]
    assert [item["counts_as"] for item in detail["follow_ups"]] == ["close"]
    assert {item["why"] for item in detail["events"]} == {"opened", "same_customer"}
    assert hub.client.get("/admin/cases/nope", headers=admin).status_code == 404
    shown = CliRunner().invoke(main, ["cases", "show", case.id], env=env)
    assert shown.exit_code == 0 and "ED-24" in shown.output and "close" in shown.output
    report = CliRunner().invoke(main, ["cases", "report", "--by", "week", "--json"], env=env)
    [row] = orjson.loads(report.output)
    assert (row["opened"], row["closed"], row["breached"]) == (1, 1, 1)
    assert row["time_to_close_hours"]["median"] is not None
