"""`post_message`: through an incoming webhook, or `chat.postMessage` with a bot token.

Incoming webhooks signal errors with HTTP statuses (the shared client maps them); the Web
API answers HTTP 200 with `{"ok": false, "error": ...}`, mapped here.
"""

from __future__ import annotations

from typing import Any, Mapping

from hub.plugin import ActionResult, Connection, GiveUp, RetryLater, full_text_location
from plugins.slack.blocks import message_blocks, message_text

TRANSIENT_ERRORS = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable",
                              "request_timeout"})


def post_message(connection: Connection, params: Mapping[str, Any], event: Mapping[str, Any]) -> ActionResult:
    assert connection.http is not None  # the plugin declares a url_setting, so the core always gives a client
    full_text_at = full_text_location(event)
    message: dict[str, Any] = {"text": message_text(params, full_text_at),
                               "blocks": message_blocks(params, full_text_at)}
    token = connection.settings["bot_token"]
    if token is None:
        connection.http.post(json=message)
        return ActionResult()
    if not params["channel"]:
        raise GiveUp("post_message needs a channel when the connection uses a bot token")
    response = connection.http.post("chat.postMessage", json={"channel": params["channel"], **message},
                                    headers={"Authorization": f"Bearer {token.reveal()}"})
    answer = response.json()
    if not answer.get("ok"):
        error = answer.get("error", "unknown_error")
        if error in TRANSIENT_ERRORS:
            raise RetryLater(f"chat.postMessage: {error}")
        raise GiveUp(f"chat.postMessage: {error}")
    return ActionResult(external_id=answer.get("ts"), detail={"channel": answer.get("channel")})
