"""slack.post_message through an incoming webhook and through chat.postMessage, against local stand-ins."""

from __future__ import annotations

import orjson
import pytest

import plugins.slack as slack
import plugins.webhook as webhook
from tests.conftest import APP_SOURCE, WHSEC, detractor, fixture_bytes, send

ROUTE = """
routes:
  - name: alerts
    actions:
      - connection: slack
        action: post_message
        params:
          text: "Detractor: {{ data.customer.email }} scored {{ data.score.value }}"
          title: "New detractor: {{ data.score.value }}/{{ data.score.max }}"
          body: "*{{ data.customer.name }}* said: {{ data.text }}"
          context: "via cxhub"
          link_url: "{{ data.link.url }}"
          link_text: View response
          %s
"""
WEBHOOK_CONNECTION = """
connections:
  slack:
    plugin: slack
    settings: {webhook_url: {$env: SLACK_WEBHOOK_URL}}
    retry: {max_attempts: 2, initial_delay: 0, max_delay: 0}
"""
BOT_CONNECTION = """
connections:
  slack:
    plugin: slack
    settings: {bot_token: {$env: SLACK_BOT_TOKEN}, api_url: "%s"}
    retry: {max_attempts: 2, initial_delay: 0, max_delay: 0}
"""
WEBHOOK_PATH = "/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"
TOKEN = "xoxb-test-token"

EXPECTED_BLOCKS = [
    {"type": "header", "text": {"type": "plain_text", "text": "New detractor: 2/10", "emoji": True}},
    {"type": "section", "text": {"type": "mrkdwn", "text": "*Ann Lee* said: The export keeps failing."},
     "accessory": {"type": "button", "text": {"type": "plain_text", "text": "View response"},
                   "url": "https://surveys.example.com/r/1001"}},
    {"type": "context", "elements": [{"type": "mrkdwn", "text": "via cxhub"}]},
]


@pytest.fixture
def webhook_hub(make_hub, httpserver):
    return make_hub(APP_SOURCE + WEBHOOK_CONNECTION + ROUTE % "", plugins=[webhook, slack],
                    env={"APP_SECRET": WHSEC, "SLACK_WEBHOOK_URL": httpserver.url_for(WEBHOOK_PATH)})


@pytest.fixture
def bot_hub(make_hub, httpserver):
    return make_hub(APP_SOURCE + BOT_CONNECTION % httpserver.url_for("/api/") + ROUTE % "channel: C0123456789",
                    plugins=[webhook, slack], env={"APP_SECRET": WHSEC, "SLACK_BOT_TOKEN": TOKEN})


def test_incoming_webhook_gets_blocks_and_fallback_text(webhook_hub, httpserver):
    httpserver.expect_request(WEBHOOK_PATH, method="POST", headers={"Content-Type": "application/json"}, json={
        "text": "Detractor: ann@example.com scored 2", "blocks": EXPECTED_BLOCKS}).respond_with_data("ok")
    send(webhook_hub, detractor())
    webhook_hub.drain()
    [delivery] = webhook_hub.store.reads.deliveries()
    assert delivery.status == "succeeded", delivery.last_error


def test_customer_text_cannot_ping_the_channel_or_fake_links(webhook_hub, httpserver):
    httpserver.expect_request(WEBHOOK_PATH, method="POST").respond_with_data("ok")
    send(webhook_hub, detractor(comment="<!channel> see <https://evil.example|your bank> & more"))
    webhook_hub.drain()
    [(request, _)] = httpserver.log
    section = request.get_json()["blocks"][1]["text"]["text"]
    assert section == "*Ann Lee* said: &lt;!channel&gt; see &lt;https://evil.example|your bank&gt; &amp; more"


@pytest.mark.parametrize("status, body, final", [(400, "invalid_payload", "dead"), (404, "channel_not_found", "dead"),
                                                  (410, "channel_is_archived", "dead"), (500, "rollup_error", "dead")])
def test_incoming_webhook_errors(webhook_hub, httpserver, status, body, final):
    httpserver.expect_request(WEBHOOK_PATH).respond_with_data(body, status=status)
    send(webhook_hub, detractor())
    webhook_hub.drain()
    [delivery] = webhook_hub.store.reads.deliveries()
    attempts = webhook_hub.store.reads.attempts(delivery.id)
    assert delivery.status == final and body in delivery.last_error
    assert len(attempts) == (2 if status >= 500 else 1)  # 5xx retried up to max_attempts, 4xx not
    assert WEBHOOK_PATH not in delivery.last_error  # the webhook URL is a secret


def test_chat_post_message_with_bot_token(bot_hub, httpserver):
    httpserver.expect_request("/api/chat.postMessage", method="POST",
                              headers={"Authorization": f"Bearer {TOKEN}"},
                              json={"channel": "C0123456789", "text": "Detractor: ann@example.com scored 2",
                                    "blocks": EXPECTED_BLOCKS}).respond_with_json(
        orjson.loads(fixture_bytes("slack/chat_post_message_response_ok.json")))
    send(bot_hub, detractor())
    bot_hub.drain()
    [delivery] = bot_hub.store.reads.deliveries()
    assert delivery.status == "succeeded"
    assert '"external_id":"1503435956.000247"' in delivery.result


@pytest.mark.parametrize("answer, status, attempts", [
    (orjson.loads(fixture_bytes("slack/chat_post_message_response_error.json")), "dead", 1),  # documented
    ({"ok": False, "error": "channel_not_found"}, "dead", 1),
    ({"ok": False, "error": "internal_error"}, "dead", 2),  # transient per Slack: retried up to max_attempts
])
def test_chat_post_message_errors_in_a_200(bot_hub, httpserver, answer, status, attempts):
    httpserver.expect_request("/api/chat.postMessage").respond_with_json(answer)
    send(bot_hub, detractor())
    bot_hub.drain()
    [delivery] = bot_hub.store.reads.deliveries()
    assert delivery.status == status and answer["error"] in delivery.last_error
    assert len(bot_hub.store.reads.attempts(delivery.id)) == attempts


def test_rate_limit_429_waits_for_retry_after(bot_hub, httpserver):
    httpserver.expect_oneshot_request("/api/chat.postMessage").respond_with_data(
        "", status=429, headers={"Retry-After": "30"})
    httpserver.expect_request("/api/chat.postMessage").respond_with_json({"ok": True, "ts": "1.2", "channel": "C"})
    send(bot_hub, detractor())
    bot_hub.drain(run_scheduled=False)
    [delivery] = bot_hub.store.reads.deliveries()
    assert delivery.status == "retrying"
    wait = (delivery.next_attempt_at - delivery.updated_at).total_seconds()
    assert 29 <= wait <= 31
    assert bot_hub.hub.queue.scheduled_count() == 1
    bot_hub.drain(run_scheduled=True)
    assert bot_hub.store.reads.delivery(delivery.id).status == "succeeded"
