"""One customer across three vendors, over real HTTP and real worker threads.

Laura answers a Typeform survey (her email, and the app's user id in a hidden field), opens a
Zendesk ticket (the event names only her requester id; the Users API stand-in gives her email),
and is a HubSpot contact (the contact id; the CRM API stand-in gives her email). Each request is
signed as its vendor signs it, and the three events end on one timeline.
"""

from __future__ import annotations

import json
import time

import orjson
import pytest
import requests
from click.testing import CliRunner

import plugins.hubspot as hubspot
import plugins.typeform as typeform
import plugins.webhook as webhook
import plugins.zendesk as zendesk
from hub.cli import main
from hub.testing import hmac_signature, wait_for
from tests.conftest import WHSEC, fixture_bytes
from tests.plugins.hubspot.hubspot_signing import CLIENT_SECRET, v3_headers

TYPEFORM_SECRET = "typeform-test-secret"
ZENDESK_SECRET = "dGhpcy1pcy1hLXNpZ25pbmctc2VjcmV0"
ZENDESK_TOKEN = "zendesk-api-token-123"
HUBSPOT_TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"
ENV = {"TYPEFORM_SECRET": TYPEFORM_SECRET, "ZD_SECRET": ZENDESK_SECRET, "ZD_TOKEN": ZENDESK_TOKEN,
       "HUBSPOT_CLIENT_SECRET": CLIENT_SECRET, "HUBSPOT_TOKEN": HUBSPOT_TOKEN, "OUT_SECRET": WHSEC}
REQUESTER = "35436"  # the user of Zendesk's documented Show User answer
CONTACT = "1246978"  # the contact of HubSpot's documented contact.creation event


def config(api: str, extra: str = "") -> str:
    return f"""
sources:
  typeform:
    plugin: typeform
    settings: {{secret: {{$env: TYPEFORM_SECRET}}}}
  support:
    plugin: zendesk
    settings:
      secret: {{$env: ZD_SECRET}}
      base_url: "{api}"
      email: cx-bot@example.com
      api_token: {{$env: ZD_TOKEN}}
    api_retry: {{max_attempts: 2, initial_delay: 0, max_delay: 0}}
  hubspot:
    plugin: hubspot
    settings:
      client_secret: {{$env: HUBSPOT_CLIENT_SECRET}}
      access_token: {{$env: HUBSPOT_TOKEN}}
      api_url: "{api}"
    api_retry: {{max_attempts: 2, initial_delay: 0, max_delay: 0}}
connections:
  out:
    plugin: webhook
    settings: {{url: "{api}/receiver", secret: {{$env: OUT_SECRET}}}}
    retry: {{max_attempts: 1}}
routes:
  - name: detractors
    when: {{field: data.score.band, equals: negative}}
    actions:
      - {{connection: out, action: forward}}
{extra}"""


def typeform_request(email: str = "laura@example.com", score: int = 3, token: str = "a3a12ec67a1365927098a606107fac15",
                     event_id: str = "LtWXD3crgy") -> bytes:
    sample = orjson.loads(fixture_bytes("typeform/form_response.json"))
    sample["event_id"] = event_id
    response = sample["form_response"]
    response["token"] = token
    for answer in response["answers"]:
        if answer["type"] == "email":
            answer["email"] = email
        if answer["type"] == "number" and answer["field"]["type"] == "opinion_scale":
            answer["number"] = score
    return orjson.dumps(sample)


def zendesk_request(requester: str = REQUESTER, event_id: str = "01HNXXXX-CTEXAMPLE") -> bytes:
    sample = orjson.loads(fixture_bytes("zendesk/ticket_created.json"))
    sample["id"] = event_id
    sample["detail"]["requester_id"] = requester  # the capture left it out; Zendesk's reference names it
    sample["detail"]["description"] = "The export has failed three times this week."
    return orjson.dumps(sample)


def hubspot_request() -> bytes:
    return json.dumps([json.loads(fixture_bytes("hubspot/contact_batch.json"))[1]]).encode()


def zendesk_headers(body: bytes) -> dict[str, str]:
    stamp = str(int(time.time()))
    return {"X-Zendesk-Webhook-Signature": hmac_signature(ZENDESK_SECRET, stamp.encode() + body, encoding="base64"),
            "X-Zendesk-Webhook-Signature-Timestamp": stamp, "Content-Type": "application/json"}


def typeform_headers(body: bytes) -> dict[str, str]:
    return {"Typeform-Signature": "sha256=" + hmac_signature(TYPEFORM_SECRET, body, encoding="base64"),
            "Content-Type": "application/json"}


def vendor_apis(httpserver, email: str = "Laura@Example.COM ") -> None:
    """The Users API and the CRM objects API, checking path, auth and query as the vendors document them."""
    user = orjson.loads(fixture_bytes("zendesk/show_user_response.json"))
    user["user"]["email"], user["user"]["name"] = email, "Laura Brown"
    basic = "Basic " + __import__("base64").b64encode(f"cx-bot@example.com/token:{ZENDESK_TOKEN}".encode()).decode()
    httpserver.expect_request(f"/api/v2/users/{REQUESTER}.json", method="GET",
                              headers={"Authorization": basic}).respond_with_json(user)
    contact = orjson.loads(fixture_bytes("hubspot/contact.json"))
    contact["properties"]["email"] = email.strip().lower()
    httpserver.expect_request(f"/crm/v3/objects/contacts/{CONTACT}", method="GET",
                              query_string={"properties": "email,firstname,lastname"},
                              headers={"Authorization": f"Bearer {HUBSPOT_TOKEN}"}).respond_with_json(contact)
    httpserver.expect_request("/receiver", method="POST").respond_with_data("")


@pytest.fixture
def hub(make_hub, httpserver):
    vendor_apis(httpserver)
    return make_hub(config(httpserver.url_for("/").rstrip("/")), plugins=[typeform, zendesk, hubspot, webhook],
                    env=ENV)


def test_three_vendors_one_customer_over_http_and_workers(hub):
    base = hub.serve()
    hub.start_workers(threads=2)
    body = typeform_request()
    assert requests.post(f"{base}/hooks/typeform", data=body, headers=typeform_headers(body)).status_code == 202
    body = zendesk_request()
    assert requests.post(f"{base}/hooks/support", data=body, headers=zendesk_headers(body)).status_code == 202
    body = hubspot_request()
    headers = {**v3_headers(body, url=f"{base}/hooks/hubspot"), "Content-Type": "application/json"}
    assert requests.post(f"{base}/hooks/hubspot", data=body, headers=headers).status_code == 202

    profiles = hub.store.profiles

    def one_customer():
        owner = profiles.owner("email", "laura@example.com")
        view = profiles.view(owner) if owner else None
        linked = [row.profile_state for row in hub.store.reads.events()]
        return view if view and view.events == 3 and set(linked) == {"linked"} else None

    view = wait_for(one_customer, timeout=30, what="three events on one profile")
    assert {(row.kind, row.value) for row in view.identifiers} == {
        ("email", "laura@example.com"), ("typeform", "abc123456"), ("zendesk", REQUESTER), ("hubspot", CONTACT)}
    assert len(view.members) == 1  # found by email each time: nothing to merge
    assert [score.metric for score in view.scores] == ["rating"]  # the sample scores on an opinion scale
    assert view.scores[0].value == 3 and view.scores[0].band == "negative"
    page = profiles.timeline(view.id)
    assert sorted(entry.source for entry in page.rows) == ["hubspot", "support", "typeform"]
    times = [(entry.time, entry.id) for entry in page.rows]
    assert times == sorted(times, reverse=True)
    [survey] = [entry for entry in page.rows if entry.source == "typeform"]
    assert [(d.route, d.status) for d in survey.deliveries] == [("detractors", "succeeded")]
    [ticket] = [entry for entry in page.rows if entry.source == "support"]
    assert ticket.enrichment == "done"
    assert orjson.loads(ticket.body)["data"]["customer"]["email"] == "Laura@Example.COM"


def test_the_cli_shows_the_timeline_and_the_admin_api_serves_it(hub, tmp_path):
    for body, headers, source in ((typeform_request(), typeform_headers, "typeform"),
                                  (zendesk_request(), zendesk_headers, "support")):
        assert hub.post(source, body, headers(body)).status_code == 202
    hub.drain()
    result = CliRunner().invoke(main, ["customers", "show", " LAURA@example.com", "--config",
                                       hub.app.config["CXHUB_CONFIG"]],
                                env={"DATABASE_URL": hub.store.url, **ENV})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("customer cus_")
    assert [line.split()[:2] for line in lines if line.startswith("  ") and line.split()[0] in ("email", "typeform",
                                                                                              "zendesk")] == [
        ["email", "laura@example.com"], ["typeform", "abc123456"], ["zendesk", REQUESTER]]
    assert any(line.split()[:4] == ["rating", "3/10", "negative", "2018-01-18T18:17:02Z"] for line in lines)
    assert "open cases: none" in lines
    events = [line.split()[1] for line in lines if line.startswith("  20")]
    assert events == ["support", "typeform"]  # newest first
    assert "      -> detractors: out.forward succeeded" in result.output
    assert "Laura Brown <Laura@Example.COM>" in result.output  # as the event has it; the identifier is normalised
