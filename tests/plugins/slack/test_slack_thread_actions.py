"""slack.reply_in_thread, slack.update_message and buttons, against a local stand-in of the Web API."""

from __future__ import annotations

import orjson
import pytest

import plugins.slack as slack
import plugins.webhook as webhook
from hub.operations import connection_states
from hub.plugin import ValidationError
from plugins.slack.settings import PostMessageParams, ReplyInThreadParams, UpdateMessageParams
from tests.conftest import APP_SOURCE, WHSEC, detractor, fixture_bytes, send

TOKEN = "xoxb-test-token"
CHANNEL = "C123ABC456"
PARENT_TS = "1503435956.000247"  # the ts chat.postMessage returned for the hub's alert
CONNECTION = """
connections:
  slack:
    plugin: slack
    settings: {%s, api_url: "%s"}
    retry: {max_attempts: 3, initial_delay: 0, max_delay: 0}
    circuit_breaker: {failure_threshold: 0}
"""
ROUTE = """
routes:
  - name: alerts
    actions:
      - connection: slack
        action: %s
        params:
          text: "Detractor: {{ data.customer.email }} scored {{ data.score.value }}"
          body: "*{{ data.customer.name }}* said: {{ data.text }}"
          channel: %s
          %s
"""
REPLY = ("reply_in_thread", f"thread_ts: '{PARENT_TS}'")
UPDATE = ("update_message", f"ts: '{PARENT_TS}'")
BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Ann Lee* said: The export keeps failing."}}]
TEXT = "Detractor: ann@example.com scored 2"


def make(make_hub, httpserver, action: tuple[str, str], *, bot: bool = True, extra: str = ""):
    settings = "bot_token: {$env: SLACK_BOT_TOKEN}" if bot else "webhook_url: {$env: SLACK_WEBHOOK_URL}"
    api = httpserver.url_for("/api/")
    return make_hub(APP_SOURCE + CONNECTION % (settings, api) + ROUTE % (action[0], CHANNEL, action[1] + extra),
                    plugins=[webhook, slack], env={"APP_SECRET": WHSEC, "SLACK_BOT_TOKEN": TOKEN,
                                                   "SLACK_WEBHOOK_URL": httpserver.url_for("/hooks/T0/B0/X")})


def ok_answer(fixture: str = "slack/chat_post_message_response_ok.json", **changes) -> dict:
    return {**orjson.loads(fixture_bytes(fixture)), **changes}


def only_delivery(hub):
    [delivery] = hub.store.reads.deliveries()
    return delivery, hub.store.reads.attempts(delivery.id)


def test_reply_in_thread_posts_to_the_thread_with_the_bot_token(make_hub, httpserver):
    hub = make(make_hub, httpserver, REPLY)
    httpserver.expect_request("/api/chat.postMessage", method="POST").respond_with_json(
        ok_answer(ts="1503436200.000500"))
    send(hub, detractor())
    hub.drain()
    [(request, _)] = httpserver.log
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Content-Type"] == "application/json"
    body = request.get_json()
    assert body["channel"] == CHANNEL
    assert body["thread_ts"] == PARENT_TS
    assert body["text"] == TEXT
    assert body["blocks"] == BLOCKS
    assert "reply_broadcast" not in body
    assert set(body) == {"channel", "thread_ts", "text", "blocks"}
    delivery, _ = only_delivery(hub)
    assert delivery.status == "succeeded", delivery.last_error
    assert orjson.loads(delivery.result) == {"external_id": "1503436200.000500", "url": None, "detail": {
        "channel": CHANNEL, "ts": "1503436200.000500", "thread_ts": PARENT_TS},
        "link": {"system": "slack", "id": f"{CHANNEL}:1503436200.000500", "url": None, "type": "message"}}


def test_reply_broadcast_is_sent_when_asked(make_hub, httpserver):
    hub = make(make_hub, httpserver, REPLY, extra="\n          reply_broadcast: true")
    httpserver.expect_request("/api/chat.postMessage").respond_with_json(ok_answer())
    send(hub, detractor())
    hub.drain()
    [(request, _)] = httpserver.log
    assert request.get_json()["reply_broadcast"] is True


def test_update_message_changes_the_message_with_chat_update(make_hub, httpserver):
    hub = make(make_hub, httpserver, UPDATE)
    httpserver.expect_request("/api/chat.update", method="POST").respond_with_json(
        ok_answer("slack/chat_update_response_ok.json", channel=CHANNEL, ts=PARENT_TS))
    send(hub, detractor())
    hub.drain()
    [(request, _)] = httpserver.log
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    body = request.get_json()
    assert (body["channel"], body["ts"], body["text"], body["blocks"]) == (CHANNEL, PARENT_TS, TEXT, BLOCKS)
    assert set(body) == {"channel", "ts", "text", "blocks"}
    delivery, _ = only_delivery(hub)
    assert delivery.status == "succeeded", delivery.last_error
    assert orjson.loads(delivery.result)["detail"] == {"channel": CHANNEL, "ts": PARENT_TS}


def test_post_message_keeps_channel_and_ts_and_carries_buttons(make_hub, httpserver):
    buttons = """
          buttons:
            - {text: "I'll take it", action_id: take, value: "{{ data.link.id }}", style: primary}
            - {text: Resolved, action_id: resolved, value: "{{ data.link.id }}"}"""
    hub = make(make_hub, httpserver, ("post_message", buttons))
    httpserver.expect_request("/api/chat.postMessage").respond_with_json(ok_answer())
    send(hub, detractor())
    hub.drain()
    [(request, _)] = httpserver.log
    assert request.get_json()["blocks"] == [*BLOCKS, {"type": "actions", "elements": [
        {"type": "button", "action_id": "take", "value": "1001", "style": "primary",
         "text": {"type": "plain_text", "emoji": True, "text": "I'll take it"}},
        {"type": "button", "action_id": "resolved", "value": "1001",
         "text": {"type": "plain_text", "emoji": True, "text": "Resolved"}}]}]
    delivery, _ = only_delivery(hub)
    assert orjson.loads(delivery.result)["detail"] == {"channel": CHANNEL, "ts": PARENT_TS}


@pytest.mark.parametrize("error", ["invalid_auth", "token_revoked", "account_inactive", "not_authed"])
def test_a_refused_token_pauses_the_connection_with_the_reason(make_hub, httpserver, error):
    hub = make(make_hub, httpserver, REPLY)
    httpserver.expect_request("/api/chat.postMessage").respond_with_json({"ok": False, "error": error})
    send(hub, detractor(1001), msg_id="m1")
    send(hub, detractor(1002), msg_id="m2")
    hub.drain()
    assert len(httpserver.log) == 1  # the second delivery was not sent
    deliveries = hub.store.reads.deliveries()
    assert "dead" not in {d.status for d in deliveries}
    [tried] = [d for d in deliveries if d.attempts == 1]
    [attempt] = hub.store.reads.attempts(tried.id)
    assert attempt.outcome == "paused"
    [state] = [s for s in connection_states(hub.hub) if s["connection"] == "slack"]
    assert state["status"] == "paused"
    assert f"Slack refused the connection's bot token (chat.postMessage: {error})" in state["reason"]
    assert TOKEN not in str(deliveries) + str(attempt) + str(state)


def test_an_http_401_pauses_the_connection_too(make_hub, httpserver):
    hub = make(make_hub, httpserver, UPDATE)
    httpserver.expect_request("/api/chat.update").respond_with_data("", status=401)
    send(hub, detractor())
    hub.drain()
    _, [attempt] = only_delivery(hub)
    assert (attempt.outcome, attempt.status_code) == ("paused", 401)


def test_ratelimited_is_retried_after_its_retry_after(make_hub, httpserver):
    hub = make(make_hub, httpserver, REPLY)
    httpserver.expect_oneshot_request("/api/chat.postMessage").respond_with_json(
        {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "0"})
    httpserver.expect_oneshot_request("/api/chat.postMessage").respond_with_json({"ok": False, "error": "ratelimited"})
    httpserver.expect_request("/api/chat.postMessage").respond_with_json(ok_answer())
    send(hub, detractor())
    hub.drain()
    delivery, attempts = only_delivery(hub)
    assert delivery.status == "succeeded"
    assert [(a.status_code, a.outcome) for a in attempts] == [(429, "retry"), (200, "retry"), (None, "succeeded")]


@pytest.mark.parametrize("action, method, error", [
    (UPDATE, "chat.update", "message_not_found"),
    (REPLY, "chat.postMessage", "channel_not_found"),
    (REPLY, "chat.postMessage", "is_archived"),
])
def test_a_message_or_channel_that_is_gone_gives_up_with_the_reason(make_hub, httpserver, action, method, error):
    hub = make(make_hub, httpserver, action)
    httpserver.expect_request(f"/api/{method}").respond_with_json({"ok": False, "error": error})
    send(hub, detractor())
    hub.drain()
    delivery, attempts = only_delivery(hub)
    assert delivery.status == "dead" and len(attempts) == 1
    assert f"{method}: {error}" in delivery.last_error


def test_an_incoming_webhook_cannot_reply_in_a_thread(make_hub, httpserver):
    hub = make(make_hub, httpserver, REPLY, bot=False)
    send(hub, detractor())
    hub.drain()
    delivery, _ = only_delivery(hub)
    assert delivery.status == "dead" and "needs a bot_token" in delivery.last_error
    assert not httpserver.log


@pytest.mark.parametrize("schema, params, message", [
    (ReplyInThreadParams, {"text": "t", "channel": CHANNEL, "thread_ts": "yesterday"}, "a message ts is"),
    (UpdateMessageParams, {"text": "t", "channel": CHANNEL}, "Missing data for required field"),
    (PostMessageParams, {"text": "t", "buttons": [{"text": "A", "action_id": "x"}, {"text": "B", "action_id": "x"}]},
     "each button needs its own action_id"),
    (PostMessageParams, {"text": "t", "buttons": [{"text": "A", "action_id": str(n)} for n in range(26)]},
     "Longer than maximum length 25"),
])
def test_parameters_slack_would_refuse_are_refused_first(schema, params, message):
    with pytest.raises(ValidationError, match=message):
        schema().load(params)


@pytest.mark.parametrize("status, answer", [(200, {"ok": False, "error": "token_revoked"}), (401, None)])
def test_a_refused_token_is_auth_failed(httpserver, status, answer):
    """AuthFailed, not a plain PauseConnection: the hook, the log and the console read it as bad credentials."""
    from hub.plugin import AuthFailed, Connection, HttpClient, Secret
    from plugins.slack.webapi import call

    httpserver.expect_request("/api/chat.postMessage").respond_with_data(
        orjson.dumps(answer) if answer else "", status=status, content_type="application/json")
    connection = Connection("slack", "slack", {"bot_token": Secret(TOKEN, "SLACK_TOKEN")},
                            HttpClient(httpserver.url_for("/api/")))
    with pytest.raises(AuthFailed, match=r"Slack refused the connection's bot token \(chat.postMessage: "):
        call(connection, "chat.postMessage", {"channel": CHANNEL, "text": "x"})
