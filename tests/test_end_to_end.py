"""The quick start, end to end: examples/cxhub.yaml as shipped, a signed Typeform webhook over real
HTTP, worker threads on a real Redis, and local stand-ins for Jira, Slack and the forward target."""

from __future__ import annotations

import base64
from pathlib import Path

import orjson
import pytest
import requests
from standardwebhooks import Webhook

from hub.testing import hmac_signature, wait_for
from tests.conftest import WHSEC, fixture_bytes

EXAMPLE = Path(__file__).parents[1] / "examples" / "cxhub.yaml"
TYPEFORM_SECRET = "typeform-webhook-secret"
JIRA_TOKEN = "jira-api-token"
SLACK_PATH = "/slack/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"


@pytest.fixture
def running_hub(make_hub, httpserver):
    env = {"TYPEFORM_SECRET": TYPEFORM_SECRET, "JIRA_BASE_URL": httpserver.url_for("/jira"),
           "JIRA_EMAIL": "cx-bot@example.com", "JIRA_API_TOKEN": JIRA_TOKEN, "JIRA_PROJECT": "CX",
           "SLACK_WEBHOOK_URL": httpserver.url_for(SLACK_PATH), "FORWARD_URL": httpserver.url_for("/forward"),
           "FORWARD_SECRET": WHSEC}
    hub = make_hub(EXAMPLE.read_text(), discover=True, env=env)  # plugins found through entry points
    base_url = hub.serve()
    hub.start_workers()
    return hub, base_url


def post_typeform(base_url: str, body: bytes) -> requests.Response:
    signature = "sha256=" + hmac_signature(TYPEFORM_SECRET, body, encoding="base64")
    return requests.post(f"{base_url}/hooks/typeform", data=body, timeout=10,
                         headers={"Typeform-Signature": signature, "Content-Type": "application/json"})


def requests_to(httpserver, path: str) -> list:
    return [request for request, _ in httpserver.log if request.path == path]


def test_detractor_reaches_jira_slack_and_the_forward_target(running_hub, httpserver):
    hub, base_url = running_hub
    basic = "Basic " + base64.b64encode(f"cx-bot@example.com:{JIRA_TOKEN}".encode()).decode()
    httpserver.expect_request("/jira/rest/api/3/issue", method="POST", headers={"Authorization": basic}) \
        .respond_with_json({"id": "10000", "key": "CX-1", "self": "http://jira/rest/api/3/issue/10000"}, status=201)
    httpserver.expect_request(SLACK_PATH, method="POST").respond_with_data("ok")
    httpserver.expect_request("/forward", method="POST").respond_with_data("", status=204)
    body = fixture_bytes("typeform/form_response.json")

    response = post_typeform(base_url, body)
    assert response.status_code == 202, response.text
    [event_id] = response.json()["accepted"]
    wait_for(lambda: [d.status for d in hub.store.reads.deliveries()] == ["succeeded"] * 3)

    event = orjson.loads(hub.store.reads.event(event_id).body)
    [issue] = requests_to(httpserver, "/jira/rest/api/3/issue")
    fields = issue.get_json()["fields"]
    assert fields["project"] == {"key": "CX"} and fields["issuetype"] == {"name": "Task"}
    assert fields["priority"] == {"name": "High"}
    assert fields["labels"][:2] == ["cx-detractor", "typeform"] and fields["labels"][2].startswith("cxhub-")
    customer = event["data"]["customer"]
    assert (customer["name"] or customer["email"]) in fields["summary"]
    assert f"scored {event['data']['score']['value']}/10" in fields["summary"]
    quote = next(block for block in fields["description"]["content"] if block["type"] == "blockquote")
    assert quote["content"][0]["content"][0]["text"] == event["data"]["text"].split("\n")[0]

    [message] = requests_to(httpserver, SLACK_PATH)
    slack = message.get_json()
    assert slack["text"].startswith("Detractor: ")
    assert [block["type"] for block in slack["blocks"]] == ["header", "section", "context"]

    [forwarded] = requests_to(httpserver, "/forward")
    assert Webhook(WHSEC).verify(forwarded.get_data(), dict(forwarded.headers)) == event


def test_resending_the_webhook_creates_nothing_twice(running_hub, httpserver):
    hub, base_url = running_hub
    httpserver.expect_request("/jira/rest/api/3/issue").respond_with_json({"id": "1", "key": "CX-1"}, status=201)
    httpserver.expect_request(SLACK_PATH).respond_with_data("ok")
    httpserver.expect_request("/forward").respond_with_data("")
    body = fixture_bytes("typeform/form_response.json")
    assert post_typeform(base_url, body).status_code == 202
    wait_for(lambda: [d.status for d in hub.store.reads.deliveries()] == ["succeeded"] * 3)
    again = post_typeform(base_url, body)
    assert again.status_code == 200 and again.json()["accepted"] == []
    assert len(requests_to(httpserver, "/jira/rest/api/3/issue")) == 1
    assert len(httpserver.log) == 3


def test_bad_signature_over_real_http_changes_nothing(running_hub):
    hub, base_url = running_hub
    body = fixture_bytes("typeform/form_response.json")
    response = requests.post(f"{base_url}/hooks/typeform", data=body, timeout=10,
                             headers={"Typeform-Signature": "sha256=AAAA", "Content-Type": "application/json"})
    assert response.status_code == 401
    assert response.json() == {"error": {"code": "invalid_signature",
                                         "message": "the Typeform-Signature signature does not match the body"}}
    assert hub.store.reads.events() == []
