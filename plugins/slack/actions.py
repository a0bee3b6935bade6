"""The Slack actions: `post_message` (incoming webhook or chat.postMessage), `reply_in_thread`, `update_message`.

Incoming webhooks signal errors with HTTP statuses (the shared client maps them) and return
no message `ts`, so only a bot-token post can be replied to or updated later. Bot-token calls
go through `webapi.call`, which maps the Web API's `{"ok": false}` answers.
"""

from __future__ import annotations

from typing import Any, Mapping

from hub.plugin import ActionResult, Connection, GiveUp, full_text_location
from plugins.slack import webapi
from plugins.slack.blocks import message_blocks, message_text
from plugins.slack.events import message_link


def post_message(connection: Connection, params: Mapping[str, Any], event: Mapping[str, Any]) -> ActionResult:
    assert connection.http is not None  # the plugin declares a url_setting, so the core always gives a client
    message = _message(params, event)
    if connection.settings["bot_token"] is None:
        connection.http.post(json=message)
        return ActionResult()
    if not params["channel"]:
        raise GiveUp("post_message needs a channel when the connection uses a bot token")
    return _posted(webapi.call(connection, "chat.postMessage", {"channel": params["channel"], **message}))


def reply_in_thread(connection: Connection, params: Mapping[str, Any], event: Mapping[str, Any]) -> ActionResult:
    body = {"channel": params["channel"], "thread_ts": params["thread_ts"], **_message(params, event)}
    if params["reply_broadcast"]:
        body["reply_broadcast"] = True
    return _posted(webapi.call(connection, "chat.postMessage", body), thread_ts=params["thread_ts"])


def update_message(connection: Connection, params: Mapping[str, Any], event: Mapping[str, Any]) -> ActionResult:
    answer = webapi.call(connection, "chat.update", {"channel": params["channel"], "ts": params["ts"],
                                                      **_message(params, event)})
    return _posted(answer)


def _message(params: Mapping[str, Any], event: Mapping[str, Any]) -> dict[str, Any]:
    full_text_at = full_text_location(event)
    return {"text": message_text(params, full_text_at), "blocks": message_blocks(params, full_text_at)}


def _posted(answer: Mapping[str, Any], thread_ts: str | None = None) -> ActionResult:
    """The message's `channel` and `ts`, kept on the delivery: what a later reply or update addresses."""
    detail = {key: str(answer[key]) for key in ("channel", "ts") if answer.get(key) is not None}
    if thread_ts:
        detail["thread_ts"] = thread_ts
    link = message_link(detail["channel"], detail["ts"]) if "channel" in detail and "ts" in detail else None
    return ActionResult(external_id=detail.get("ts"), detail=detail, link=link)
