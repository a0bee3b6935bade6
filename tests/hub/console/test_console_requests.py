"""The event page shows the raw request the event came in: credential headers masked, the body as text."""

from __future__ import annotations

import orjson

import plugins.salesforce as salesforce
import plugins.webhook as webhook
from hub.store import EventFilter
from hub.testing import sign_standard_webhook
from tests.conftest import WHSEC, detractor
from tests.hub.console.conftest import ENV, console_config, console_section, sign_in
from tests.plugins.salesforce.conftest import CASE_ORG, CASES, HOOK, SOAP_TYPE, SOURCE_TOKEN, source_config

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'
BEARER = "Bearer proxy-credential-0123456789"


def post_signed(hub, payload: dict, msg_id: str = "msg_raw"):
    body = orjson.dumps(payload)
    headers = {**sign_standard_webhook(WHSEC, msg_id, body), "Authorization": BEARER, "X-Trace": "trace-7"}
    return hub.post("app", body, headers), headers


def test_the_event_page_shows_the_request_with_its_credentials_masked(make_hub, httpserver):
    httpserver.expect_request("/receiver").respond_with_data("")
    hub = make_hub(console_config(httpserver.url_for("/receiver")), plugins=[webhook], env=ENV)
    response, headers = post_signed(hub, detractor(comment=HOSTILE))
    assert response.status_code == 202
    [row] = hub.store.browse.events(EventFilter()).rows
    sign_in(hub.client, "vera")  # a viewer may read it
    html = hub.client.get(f"/console/events/{row.id}").get_data(as_text=True)
    assert "POST /hooks/app" in html
    assert '<tr class="masked"><td>authorization</td>' in html
    assert '<tr class="masked"><td>webhook-signature</td>' in html
    assert BEARER not in html and "proxy-credential" not in html
    assert headers["webhook-signature"] not in html and headers["webhook-signature"].split(",", 1)[1] not in html
    assert "<td>webhook-id</td><td><code>msg_raw</code></td>" in html and "<code>trace-7</code>" in html
    body = html.split('<pre id="request-body">', 1)[1].split("</pre>", 1)[0]
    assert "&lt;script&gt;alert(\\&#34;x\\&#34;)&lt;/script&gt;" in body  # the JSON as sent, escaped
    assert "<script>alert" not in html and "<img src=x" not in html


def test_a_batch_request_links_each_of_its_events(make_hub):
    config = source_config(CASE_ORG) + console_section()
    hub = make_hub(config, plugins=[salesforce, webhook], env={**ENV, "SF_SOURCE_TOKEN": SOURCE_TOKEN})
    assert hub.post(HOOK, CASES, content_type=SOAP_TYPE).status_code == 200
    first, second = hub.store.browse.events(EventFilter()).rows
    sign_in(hub.client, "vera")
    html = hub.client.get(f"/console/events/{first.id}").get_data(as_text=True)
    assert "This request carried 2 events" in html
    assert f'href="/console/events/{second.id}"' in html
    assert '<tr class="masked"><td>token</td>' in html and SOURCE_TOKEN not in html  # the query's source token


def test_an_event_without_a_kept_request_says_why(make_hub, httpserver):
    httpserver.expect_request("/receiver").respond_with_data("")
    config = "hub: {keep_requests: false}\n" + console_config(httpserver.url_for("/receiver"))
    hub = make_hub(config, plugins=[webhook], env=ENV)
    post_signed(hub, detractor())
    [row] = hub.store.browse.events(EventFilter()).rows
    sign_in(hub.client, "vera")
    html = hub.client.get(f"/console/events/{row.id}").get_data(as_text=True)
    assert 'id="no-request"' in html and 'id="request-headers"' not in html


def test_a_large_body_and_odd_header_bytes_are_kept_and_shown_cut(make_hub, httpserver):
    httpserver.expect_request("/receiver").respond_with_data("")
    hub = make_hub(console_config(httpserver.url_for("/receiver")), plugins=[webhook], env=ENV)
    payload = detractor(comment="x" * 400_000)
    body = orjson.dumps(payload)
    headers = {**sign_standard_webhook(WHSEC, "msg_big", body), "X-Note": "caf\xe9 \x00 \x7f"}
    assert hub.post("app", body, headers).status_code == 202
    [row] = hub.store.browse.events(EventFilter()).rows
    kept = hub.store.reads.request(row.request_id)
    assert kept.body == body and orjson.loads(kept.headers)["x-note"] == "caf\xe9 \x00 \x7f"
    sign_in(hub.client, "vera")
    html = hub.client.get(f"/console/events/{row.id}").get_data(as_text=True)
    assert "Cut at 256 KiB." in html and "caf\xe9" in html
