"""examples/closed-loop.yaml, run as it is, end to end.

Real HTTP webhooks in (signed as each vendor signs them), real RQ jobs, pytest-httpserver
stand-ins for Jira, Slack and Zendesk (one server each) checking every request as the vendor
documents it, and a real SMTP server (aiosmtpd, STARTTLS with authentication) receiving the
emails. The vendors' own webhooks are the samples in tests/fixtures (their SOURCES.md say
where each came from), with only the ids changed to those of the objects the stand-ins created,
and the timestamps to now.
"""

from __future__ import annotations

import base64
import copy
import re
import time
import urllib.parse
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import orjson
import pytest
import requests
from click.testing import CliRunner
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

import plugins.email as email_plugin
import plugins.jira as jira
import plugins.slack as slack
import plugins.typeform as typeform
import plugins.zendesk as zendesk
from hub.cli import main
from hub.testing import hmac_signature
from tests.conftest import fixture_bytes
from tests.plugins.email.conftest import ca, smtp_server  # noqa: F401  (the real SMTP server's fixtures)

EXAMPLE = Path(__file__).parent.parent / "examples" / "closed-loop.yaml"
ADMIN = "admin-token-closed-loop-0123"
SECRETS = {"TYPEFORM_SECRET": "tf-secret-0123", "JIRA_WEBHOOK_SECRET": "jira-webhook-secret-0123",
           "SLACK_SIGNING_SECRET": "8f742231b10e8888abcd99yyyzzz85a5",
           "ZENDESK_WEBHOOK_SECRET": "dGhpcy1pcy1hLXNpZ25pbmctc2VjcmV0"}
JIRA_TOKEN, SLACK_TOKEN, ZENDESK_TOKEN = "jira-api-token-0123", "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy", "zd-token-0123"
JIRA_BASIC = "Basic " + base64.b64encode(f"cx-bot@example.com:{JIRA_TOKEN}".encode()).decode()
ZENDESK_BASIC = "Basic " + base64.b64encode(f"cx-bot@example.com/token:{ZENDESK_TOKEN}".encode()).decode()
SLACK_BEARER = f"Bearer {SLACK_TOKEN}"
CHANNEL = "C123ABC456"
ALERT = orjson.loads(fixture_bytes("slack/chat_post_message_response_ok.json"))  # ts 1503435956.000247
ALERT_TS = ALERT["ts"]
ISSUE = orjson.loads(fixture_bytes("jira/create_issue_response_201.json"))["key"]  # ED-24
TICKET = orjson.loads(fixture_bytes("zendesk/create_ticket_response_201.json"))["ticket"]["id"]  # 3
REQUESTER = "8447388090494"  # the requester id of the Zendesk sample
CUSTOMER = "laura@example.com"  # the respondent of the Typeform sample


@pytest.fixture
def vendors() -> Iterator[dict[str, HTTPServer]]:
    servers = {name: HTTPServer(host="127.0.0.1", port=0) for name in ("jira", "slack", "zendesk")}
    for server in servers.values():
        server.start()
    yield servers
    for server in servers.values():
        server.clear()
        if server.is_running():
            server.stop()


class JiraIssue:
    """The Jira stand-in's one issue: it starts in To Do and moves as transitions are posted."""

    TRANSITIONS = orjson.loads(fixture_bytes("jira/get_transitions_response.json"))

    def __init__(self) -> None:
        self.status = "To Do"
        done = copy.deepcopy(self.TRANSITIONS["transitions"][0])  # the documented shape, leading to Done
        done.update(id="31", name="Done")
        done["to"] = {**done["to"], "name": "Done", "id": "10002"}
        self.transitions = {"transitions": [*self.TRANSITIONS["transitions"], done]}
        self.posted: list[dict] = []

    def show(self, request: Request) -> Response:
        return Response(orjson.dumps({"id": "10000", "key": ISSUE, "fields": {"status": {"name": self.status}}}),
                        content_type="application/json")

    def list_transitions(self, request: Request) -> Response:
        return Response(orjson.dumps(self.transitions), content_type="application/json")

    def transition(self, request: Request) -> Response:
        body = orjson.loads(request.data)
        self.posted.append(body)
        chosen = next(t for t in self.transitions["transitions"] if t["id"] == body["transition"]["id"])
        self.status = chosen["to"]["name"]
        return Response("", status=204)


@pytest.fixture
def loop(make_hub, vendors, smtp_server, tmp_path):
    mail = smtp_server(security="starttls", users={"cx-bot": "smtp-password-0123"})
    env = {**SECRETS, "JIRA_BASE_URL": vendors["jira"].url_for("/"), "JIRA_EMAIL": "cx-bot@example.com",
           "JIRA_API_TOKEN": JIRA_TOKEN, "JIRA_PROJECT": "CX", "SLACK_BOT_TOKEN": SLACK_TOKEN,
           "SLACK_API_URL": vendors["slack"].url_for("/api/"), "SLACK_CHANNEL": CHANNEL,
           "ZENDESK_URL": vendors["zendesk"].url_for("/").rstrip("/"), "ZENDESK_EMAIL": "cx-bot@example.com",
           "ZENDESK_API_TOKEN": ZENDESK_TOKEN, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(mail.port),
           "SMTP_USERNAME": "cx-bot", "SMTP_PASSWORD": "smtp-password-0123", "MAIL_FROM": "CX team <cx@example.com>",
           "SMTP_CA_FILE": mail.ca_file}
    hub = make_hub(EXAMPLE.read_text(), plugins=[typeform, jira, slack, zendesk, email_plugin], env=env)
    hub.app.config["CXHUB_ADMIN_TOKEN"] = ADMIN
    hub.base_url = hub.serve()
    hub.mail = mail.recorder
    hub.issue = JiraIssue()
    serve_vendors(vendors, hub.issue)
    return hub


def serve_vendors(vendors: dict[str, HTTPServer], issue: JiraIssue) -> None:
    jira_server, slack_server, zendesk_server = vendors["jira"], vendors["slack"], vendors["zendesk"]
    jira_auth = {"Authorization": JIRA_BASIC, "Accept": "application/json"}
    jira_server.expect_request("/rest/api/3/issue", method="POST", headers=jira_auth).respond_with_data(
        fixture_bytes("jira/create_issue_response_201.json"), status=201, content_type="application/json")
    jira_server.expect_request(f"/rest/api/3/issue/{ISSUE}", method="GET", query_string="fields=status",
                               headers=jira_auth).respond_with_handler(issue.show)
    jira_server.expect_request(f"/rest/api/3/issue/{ISSUE}/transitions", method="GET",
                               headers=jira_auth).respond_with_handler(issue.list_transitions)
    jira_server.expect_request(f"/rest/api/3/issue/{ISSUE}/transitions", method="POST",
                               headers=jira_auth).respond_with_handler(issue.transition)
    replies = iter(["1503436200.000500", "1503436300.000600", "1503436400.000700"])

    def post_message(request: Request) -> Response:
        body = orjson.loads(request.data)
        ts = ALERT_TS if "thread_ts" not in body else next(replies)
        return Response(orjson.dumps({**ALERT, "channel": body["channel"], "ts": ts,
                                      "message": {**ALERT["message"], "ts": ts}}), content_type="application/json")

    slack_server.expect_request("/api/chat.postMessage", method="POST",
                                headers={"Authorization": SLACK_BEARER}).respond_with_handler(post_message)
    zendesk_auth = {"Authorization": ZENDESK_BASIC, "Accept": "application/json"}
    zendesk_server.expect_request("/api/v2/tickets.json", method="POST", headers=zendesk_auth).respond_with_data(
        fixture_bytes("zendesk/create_ticket_response_201.json"), status=201, content_type="application/json",
        headers={"x-idempotency-lookup": "miss"})
    user = orjson.loads(fixture_bytes("zendesk/show_user_response.json"))
    user["user"].update(id=int(REQUESTER), name="Laura Smith", email=CUSTOMER, role="end-user")
    zendesk_server.expect_request(f"/api/v2/users/{REQUESTER}.json", method="GET",
                                  headers=zendesk_auth).respond_with_json(user)


# --- the vendors' webhooks, signed as each signs them ------------------------------------------


def typeform_response(hub) -> requests.Response:
    body = fixture_bytes("typeform/form_response.json")
    signature = "sha256=" + hmac_signature(SECRETS["TYPEFORM_SECRET"], body, encoding="base64")
    return requests.post(f"{hub.base_url}/hooks/typeform", data=body, timeout=10,
                         headers={"Content-Type": "application/json", "Typeform-Signature": signature})


def slack_request(hub, body: bytes, content_type: str) -> requests.Response:
    """v0=hex(HMAC-SHA256(signing secret, "v0:<timestamp>:<body>")), as "Verifying requests from Slack" says."""
    timestamp = str(int(time.time()))
    signature = "v0=" + hmac_signature(SECRETS["SLACK_SIGNING_SECRET"], f"v0:{timestamp}:".encode() + body)
    return requests.post(f"{hub.base_url}/hooks/slack", data=body, timeout=10, headers={
        "Content-Type": content_type, "X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature})


def slack_click(hub, action_id: str, text: str, action_ts: str) -> requests.Response:
    """The block_actions sample, on the alert the hub posted (its channel and ts), form-encoded as Slack posts it."""
    payload = orjson.loads(fixture_bytes("slack/block_actions.json"))
    payload["container"].update(channel_id=CHANNEL, message_ts=ALERT_TS)
    payload["channel"]["id"] = CHANNEL
    payload["message"]["ts"] = ALERT_TS
    payload["actions"][0].update(action_id=action_id, action_ts=action_ts, text={**payload["actions"][0]["text"],
                                                                                  "text": text})
    body = urllib.parse.urlencode({"payload": orjson.dumps(payload).decode()}).encode()
    return slack_request(hub, body, "application/x-www-form-urlencoded")


def slack_thread_reply(hub) -> requests.Response:
    """The thread-reply sample as it is: a reply in the thread of message 1503435956.000247 of C123ABC456."""
    return slack_request(hub, fixture_bytes("slack/event_thread_reply.json"), "application/json")


def jira_issue_done(hub) -> requests.Response:
    """The issue_updated sample about the hub's issue, moved to Done (a status of the done category)."""
    payload = orjson.loads(fixture_bytes("jira/issue_updated_status.json"))
    payload["timestamp"] = int(time.time() * 1000)
    payload["issue"].update(key=ISSUE, self=payload["issue"]["self"].replace("TEST-1", ISSUE))
    payload["issue"]["fields"]["status"].update(name="Done", id="10002", statusCategory={
        **payload["issue"]["fields"]["status"]["statusCategory"], "id": 3, "key": "done", "name": "Done"})
    payload["changelog"]["items"][0].update({"from": "3", "fromString": "In Progress", "to": "10002",
                                             "toString": "Done"})
    body = orjson.dumps(payload)
    return requests.post(f"{hub.base_url}/hooks/jira", data=body, timeout=10, headers={
        "Content-Type": "application/json; charset=utf-8", "User-Agent": "Atlassian Webhook HTTP Client",
        "X-Atlassian-Webhook-Identifier": "8d2f7a3e-0b61-4c38-9a0f-1c2f5f0e9b99",
        "X-Hub-Signature": "sha256=" + hmac_signature(SECRETS["JIRA_WEBHOOK_SECRET"], body)})


def zendesk_ticket_solved(hub) -> requests.Response:
    """The status_changed sample about the hub's ticket, signed base64(HMAC-SHA256(timestamp + body))."""
    payload = orjson.loads(fixture_bytes("zendesk/ticket_status_changed.json"))
    payload["detail"]["id"], payload["subject"] = str(TICKET), f"zen:ticket:{TICKET}"
    body = orjson.dumps(payload)
    timestamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    signature = hmac_signature(SECRETS["ZENDESK_WEBHOOK_SECRET"], timestamp.encode() + body, encoding="base64")
    return requests.post(f"{hub.base_url}/hooks/zendesk", data=body, timeout=10, headers={
        "Content-Type": "application/json", "X-Zendesk-Webhook-Signature": signature,
        "X-Zendesk-Webhook-Signature-Timestamp": timestamp})


# --- what the stand-ins received --------------------------------------------------------------


def received(server: HTTPServer, path: str, method: str = "POST") -> list[dict]:
    return [orjson.loads(request.data) for request, _ in server.log
            if request.path == path and request.method == method]


def statuses(hub, event_id: str) -> dict[str, str]:
    return {f"{row.route}:{row.connection}.{row.action}": row.status for row in hub.store.reads.deliveries(event_id=event_id)}


def clicked(hub, response: requests.Response) -> str:
    """A click is answered with the empty 200 Slack asks for; its event is the newest from slack."""
    assert (response.status_code, response.text) == (200, "")
    return hub.store.reads.events(source="slack", type="cx.ticket.updated", limit=1)[0].id


def accepted(response: requests.Response) -> str:
    assert response.status_code == 202, response.text
    [event_id] = response.json()["accepted"]
    return event_id


def test_the_closed_loop_runs_from_a_detractor_to_the_customer_hearing_back(loop, vendors, cxhub_redis_url,
                                                                           cxhub_database_url):
    jira_server, slack_server, zendesk_server = vendors["jira"], vendors["slack"], vendors["zendesk"]

    # 1. The detractor: a Jira issue, a Slack alert with buttons, a Zendesk ticket.
    detractor = accepted(typeform_response(loop))
    loop.drain()
    assert statuses(loop, detractor) == {"detractors:jira.create_issue": "succeeded",
                                         "detractors:slack.post_message": "succeeded",
                                         "detractors:zendesk.create_ticket": "succeeded"}
    [created] = received(jira_server, "/rest/api/3/issue")
    fields = created["fields"]
    assert fields["project"] == {"key": "CX"} and fields["issuetype"] == {"name": "Task"}
    assert fields["priority"] == {"name": "High"} and fields["labels"][0] == "cx-detractor"
    assert fields["labels"][1].startswith("cxhub-")  # the idempotency label
    assert fields["summary"] == "laura@example.com scored 2/10"
    assert fields["description"]["type"] == "doc" and fields["description"]["version"] == 1
    [alert] = received(slack_server, "/api/chat.postMessage")
    assert alert["channel"] == CHANNEL and alert["text"] == "Detractor: laura@example.com scored 2/10"
    buttons = [element for block in alert["blocks"] if block["type"] == "actions" for element in block["elements"]]
    assert [(button["action_id"], button["text"]["text"], button["value"]) for button in buttons
            if button.get("action_id") in ("take", "resolved")] == [("take", "I'll take it", detractor),
                                                                   ("resolved", "Resolved", detractor)]
    [ticket_request] = [request for request, _ in zendesk_server.log if request.path == "/api/v2/tickets.json"]
    ticket = orjson.loads(ticket_request.data)["ticket"]
    assert ticket["requester"] == {"email": CUSTOMER} and ticket["priority"] == "high"
    assert ticket["tags"] == ["cx-detractor"] and ticket["subject"] == "Your feedback: 2/10"
    assert ticket["comment"]["body"].startswith("It's cold right now!")
    [jira_delivery] = [row for row in loop.store.reads.deliveries(event_id=detractor) if row.connection == "jira"]
    assert ticket_request.headers["Idempotency-Key"] == \
        next(row.id for row in loop.store.reads.deliveries(event_id=detractor) if row.connection == "zendesk")

    # 2. Someone answers in the alert's thread (a follow-up no route acts on), then clicks "I'll take it".
    assert slack_thread_reply(loop).status_code == 202
    taken = clicked(loop, slack_click(loop, "take", "I'll take it", "1596530385.194939"))
    loop.drain()
    assert statuses(loop, taken) == {"taken:jira.transition_issue": "succeeded",
                                     "taken:slack.reply_in_thread": "succeeded"}
    assert loop.issue.posted == [{"transition": {"id": "2"}}]  # "Close Issue", the sample's way to In Progress
    [_, took] = received(slack_server, "/api/chat.postMessage")
    assert (took["channel"], took["thread_ts"]) == (CHANNEL, ALERT_TS)
    assert took["text"] == f"primary-owner took it: {ISSUE} is in progress."

    # 3. "Resolved": the issue moves to Done; Jira's webhook says so; the thread and the customer hear.
    resolved_click = clicked(loop, slack_click(loop, "resolved", "Resolved", "1596530399.000001"))
    loop.drain()
    assert statuses(loop, resolved_click) == {"resolved-button:jira.transition_issue": "succeeded"}
    assert loop.issue.posted[-1] == {"transition": {"id": "31"}} and loop.issue.status == "Done"
    done = accepted(jira_issue_done(loop))
    loop.drain()
    assert statuses(loop, done) == {"resolved-in-jira:slack.reply_in_thread": "succeeded",
                                    "resolved-in-jira:mail.send": "succeeded"}
    [_, _, resolved] = received(slack_server, "/api/chat.postMessage")
    assert (resolved["channel"], resolved["thread_ts"]) == (CHANNEL, ALERT_TS)
    assert resolved["text"] == f"Resolved: {ISSUE} is Done. The customer has been told."
    [fixed] = loop.mail.messages()
    assert fixed["To"] == CUSTOMER and fixed["From"] == "CX team <cx@example.com>"
    assert fixed["Subject"] == "About your feedback: it is fixed"
    text = fixed.get_body(("plain",)).get_content()
    assert text.startswith("Hello there,\n\nYou told us: \"It's cold right now!")  # the sample has no name
    assert f"({ISSUE}) is now Done." in text
    assert loop.mail.received[0].rcpt_tos == [CUSTOMER]

    # 4. Zendesk says the ticket is solved: the requester is looked up, and gets an email by name.
    solved = accepted(zendesk_ticket_solved(loop))
    loop.drain()
    assert statuses(loop, solved) == {"solved-in-zendesk:mail.send": "succeeded"}
    assert [request.path for request, _ in zendesk_server.log if request.method == "GET"] == \
        [f"/api/v2/users/{REQUESTER}.json"]
    [_, solved_mail] = loop.mail.messages()
    assert solved_mail["To"] == CUSTOMER and solved_mail["Subject"] == f"Your ticket #{TICKET} is solved"
    assert solved_mail.get_body(("plain",)).get_content().startswith("Hello Laura Smith,")

    # The lineage, both ways: what happened to the detractor, and which event caused each object.
    lineage = loop.store.lineage.of_event(detractor)
    assert {(item.system, item.object_id) for item in lineage.created} == {
        ("jira", ISSUE), ("slack", f"{CHANNEL}:{ALERT_TS}"), ("zendesk", str(TICKET))}
    follow_ups = [orjson.loads(row.body) for row in lineage.follow_ups]
    assert [event["type"] for event in follow_ups] == ["cx.message.received", "cx.ticket.updated",
                                                       "cx.ticket.updated", "cx.ticket.updated",
                                                       "cx.ticket.updated"]
    assert [event["id"] for event in follow_ups][1:] == [taken, resolved_click, done, solved]
    assert {event["data"]["origin"]["event_id"] for event in follow_ups} == {detractor}
    assert follow_ups[0]["data"]["origin"]["object"] == {"system": "slack", "id": f"{CHANNEL}:{ALERT_TS}"}
    assert follow_ups[3]["data"]["origin"]["delivery_id"] == jira_delivery.id
    for system, object_id in (("jira", ISSUE), ("slack", f"{CHANNEL}:{ALERT_TS}"), ("zendesk", str(TICKET))):
        assert loop.store.lineage.cause_of(system, object_id).event.id == detractor
    assert loop.store.lineage.of_event(done).origin.event.id == detractor

    shown = loop.client.get(f"/admin/events/{detractor}/lineage", headers={"Authorization": f"Bearer {ADMIN}"}).json
    assert [item["id"] for item in shown["follow_ups"]][1:] == [taken, resolved_click, done, solved]
    assert len(shown["deliveries"]) == 3 and shown["origin"] is None
    caused = loop.client.get(f"/admin/objects/jira/{ISSUE}", headers={"Authorization": f"Bearer {ADMIN}"}).json
    assert caused["event"]["id"] == detractor and caused["delivery"]["action"] == "create_issue"

    # What `cxhub events show` reports for the detractor (printed: run with -s to read it).
    env = {"CXHUB_CONFIG": loop.app.config["CXHUB_CONFIG"], "REDIS_URL": cxhub_redis_url,
           "DATABASE_URL": cxhub_database_url}
    shown = CliRunner().invoke(main, ["events", "show", detractor], env=env, catch_exceptions=False).output
    print(shown)
    assert shown.count("\n    ") == 3 + 5  # three deliveries, five later events
    for event_id in (taken, resolved_click, done, solved):
        assert f"    {event_id}  " in shown


def test_cxhub_events_show_prints_the_lineage(loop, vendors, cxhub_redis_url, cxhub_database_url):
    detractor = accepted(typeform_response(loop))
    loop.drain()
    done = accepted(jira_issue_done(loop))
    loop.drain()
    env = {**{key: None for key in SECRETS}, "CXHUB_CONFIG": loop.app.config["CXHUB_CONFIG"],
           "REDIS_URL": cxhub_redis_url, "DATABASE_URL": cxhub_database_url}
    shown = CliRunner().invoke(main, ["events", "show", detractor], env=env, catch_exceptions=False)
    assert shown.exit_code == 0, shown.output
    assert f"event {detractor}  cx.survey.response from typeform" in shown.output
    assert re.search(rf"succeeded  jira\.create_issue  route detractors  created jira {ISSUE} http://", shown.output)
    assert f"created slack {CHANNEL}:{ALERT_TS}" in shown.output
    assert f"{done}  " in shown.output and f"cx.ticket.updated from jira about {ISSUE}" in shown.output
    origin = CliRunner().invoke(main, ["events", "origin", "jira", ISSUE], env=env, catch_exceptions=False)
    assert origin.exit_code == 0, origin.output
    assert f"for event {detractor}  cx.survey.response from typeform" in origin.output
    followed = CliRunner().invoke(main, ["events", "show", done, "--json"], env=env, catch_exceptions=False)
    assert orjson.loads(followed.output)["origin"]["event"]["id"] == detractor
    unknown = CliRunner().invoke(main, ["events", "origin", "jira", "NOPE-1"], env=env)
    assert unknown.exit_code == 1 and "created no jira object 'NOPE-1'" in unknown.output


def test_an_event_about_an_object_the_hub_did_not_create_follows_nothing_up(loop, vendors):
    accepted(typeform_response(loop))
    loop.drain()
    payload_issue = jira_issue_done(loop)  # about ED-24: the hub's issue
    assert payload_issue.status_code == 202
    other = orjson.loads(fixture_bytes("zendesk/ticket_status_changed.json"))  # ticket 5158: not the hub's
    body = orjson.dumps(other)
    timestamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    response = requests.post(f"{loop.base_url}/hooks/zendesk", data=body, timeout=10, headers={
        "Content-Type": "application/json", "X-Zendesk-Webhook-Signature-Timestamp": timestamp,
        "X-Zendesk-Webhook-Signature": hmac_signature(SECRETS["ZENDESK_WEBHOOK_SECRET"], timestamp.encode() + body,
                                                      encoding="base64")})
    event_id = accepted(response)
    loop.drain()
    event = orjson.loads(loop.store.reads.event(event_id).body)
    assert "origin" not in event["data"]
    assert loop.store.reads.deliveries(event_id=event_id) == []  # solved-in-zendesk needs an origin
