"""The console shows held deliveries (until when, or for review) and lets an operator release or discard them."""

from __future__ import annotations

import plugins.slack as slack
import plugins.webhook as webhook
from tests.conftest import APP_SOURCE
from tests.hub.console.conftest import ENV, console_section, sign_in, token_of
from tests.hub.noise.conftest import SLACK, SLACK_PATH, detractor, post

ROUTE = """
routes:
  - name: alerts
    max_per_hour: 1
    actions:
      - connection: slack
        action: post_message
        params: {text: "Detractor: {{ data.customer.email }}"}
"""


def test_an_operator_sees_held_deliveries_and_releases_or_discards_them(make_hub, httpserver):
    hub = make_hub(APP_SOURCE + SLACK + ROUTE + console_section(), plugins=[webhook, slack],
                   env={**ENV, "SLACK_WEBHOOK_URL": httpserver.url_for(SLACK_PATH)})
    httpserver.expect_request(SLACK_PATH, method="POST").respond_with_data("ok")
    base = hub.serve()
    for number in (1, 2, 3):
        assert post(base, detractor(number), f"msg_{number}").status_code == 202
    hub.drain()
    first, second = sorted(hub.store.reads.deliveries(status="held"), key=lambda row: row.created_at)
    client = hub.client
    sign_in(client, "vera")  # a viewer sees them, with no buttons
    page = client.get("/console/deliveries?status=held").get_data(as_text=True)
    assert page.count('<span class="held">for review</span>') == 2 and 'class="release"' not in page
    client.get("/console/sign-out")
    sign_in(client, "otto")
    page = client.get(f"/console/events/{first.event_id}").get_data(as_text=True)
    assert '<span class="held">for review</span>' in page and 'class="release"' in page
    done = client.post(f"/console/deliveries/{first.id}/release", data={"csrf_token": token_of(client)},
                       follow_redirects=True)
    assert "Released" in done.get_data(as_text=True)
    done = client.post(f"/console/deliveries/{second.id}/discard", data={"csrf_token": token_of(client)},
                       follow_redirects=True)
    assert "Discarded" in done.get_data(as_text=True)
    again = client.post(f"/console/deliveries/{second.id}/release", data={"csrf_token": token_of(client)},
                        follow_redirects=True)
    assert "Not released" in again.get_data(as_text=True)
    hub.drain()
    assert hub.store.reads.delivery(first.id).status == "succeeded"
    assert hub.store.reads.delivery(second.id).status == "discarded"
    assert len(httpserver.log) == 2
    assert client.post("/console/deliveries/nope/release", data={"csrf_token": token_of(client)}).status_code == 404
