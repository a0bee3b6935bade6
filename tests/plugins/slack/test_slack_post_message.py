"""slack.post_message through an incoming webhook and through chat.postMessage, against local stand-ins."""

from __future__ import annotations

import orjson
import pytest
from werkzeug import Response

import plugins.slack as slack
import plugins.webhook as webhook
from hub.operations import connection_states
from hub.plugin import text_length
from plugins.slack.blocks import fit_mrkdwn
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
    # The Retry-After holds back every worker of the connection too, until that moment.
    [state] = [row for row in connection_states(bot_hub.hub) if row["connection"] == "slack"]
    assert state["status"] == "slowed"
    bot_hub.end_backoff("slack")  # the 30 seconds have passed
    bot_hub.drain(run_scheduled=True)
    assert bot_hub.store.reads.delivery(delivery.id).status == "succeeded"


def slack_limits(request):
    """A stand-in that refuses what Slack refuses (invalid_blocks) and answers "ok" to the rest."""
    message = request.get_json()
    header, section, context = message["blocks"]
    within = (len(message["blocks"]) <= 50 and len(header["text"]["text"]) <= 150
              and len(section["text"]["text"]) <= 3000 and len(context["elements"][0]["text"]) <= 3000
              and len(section["accessory"]["text"]["text"]) <= 75 and len(message["text"]) <= 40_000)
    return Response("ok") if within else Response("invalid_blocks", status=400)


def test_a_megabyte_review_is_posted_cut_to_slacks_limits_with_a_link(make_hub, httpserver):
    route = ROUTE.replace('"Detractor: {{ data.customer.email }} scored {{ data.score.value }}"', '"{{ data.text }}"')
    route = route.replace('"New detractor: {{ data.score.value }}/{{ data.score.max }}"', '"{{ data.text }}"')
    route = route.replace('"via cxhub"', '"{{ data.text }}"').replace("View response", '"{{ data.text }}"')
    hub = make_hub("hub: {max_body_bytes: 2097152}\n" + APP_SOURCE + WEBHOOK_CONNECTION + route % "",
                   plugins=[webhook, slack],
                   env={"APP_SECRET": WHSEC, "SLACK_WEBHOOK_URL": httpserver.url_for(WEBHOOK_PATH)})
    httpserver.expect_request(WEBHOOK_PATH, method="POST").respond_with_handler(slack_limits)
    review = "Refunds & <credits> take weeks! " * 33_000  # about 1 MB, with characters mrkdwn escapes
    assert send(hub, detractor(comment=review)).status_code == 202
    hub.drain()
    [delivery] = hub.store.reads.deliveries()
    assert delivery.status == "succeeded", delivery.last_error
    [(request, _)] = httpserver.log
    message = request.get_json()
    section = message["blocks"][1]["text"]["text"]
    assert section.startswith("*Ann Lee* said: Refunds &amp; &lt;credits&gt; take weeks!") and len(section) <= 3000
    assert section.endswith("… [truncated; full text: https://surveys.example.com/r/1001]")
    assert "&am…" not in section and not section[:-60].endswith("&")  # no entity cut in half
    assert message["text"].endswith("… [truncated; full text: https://surveys.example.com/r/1001]")
    assert len(message["text"]) <= 40_000 and message["blocks"][0]["text"]["text"].endswith("…")


@pytest.mark.parametrize("text", ["&" * 10_000, "<>" * 5_000, "a&" * 5_000, "😀&" * 5_000])
def test_fit_mrkdwn_fits_after_escaping_however_much_escaping_grows_the_text(text):
    fitted = fit_mrkdwn(text, 3000, full_text_at="https://surveys.example.com/r/1?a=1&b=2")
    assert 2500 < text_length(fitted) <= 3000
    assert fitted.endswith("… [truncated; full text: https://surveys.example.com/r/1?a=1&amp;b=2]")
    assert not fitted.split("…")[0].endswith(("&", "&a", "&am", "&amp", "&l", "&lt", "&g", "&gt"))
