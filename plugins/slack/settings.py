"""Settings of a Slack source (Events API and interactivity) and connection, and of the actions' parameters."""

from __future__ import annotations

from typing import Any

from hub.plugin import SecretField, SecretList, SettingsSchema, ValidationError, fields
from marshmallow import post_load, validate, validates_schema

SLACK_API = "https://slack.com/api/"
MESSAGE_TS = validate.Regexp(r"^\d{1,20}\.\d{1,20}$", error="a message ts is Slack's seconds.micros, such as "
                                                            "1503435956.000247")
ACTIONS_PER_BLOCK = 25  # Block Kit: an actions block holds at most 25 elements
ACTION_ID_LIMIT = 255
BUTTON_VALUE_LIMIT = 2000


class SlackSourceSettings(SettingsSchema):
    signing_secret = SecretList(required=True, metadata={"doc": "the app's signing secret (a list while rotating)"})
    tolerance_seconds = fields.Integer(load_default=300, validate=validate.Range(min=1),
                                       metadata={"doc": "replay window on X-Slack-Request-Timestamp"})
    bot_user_id = fields.String(load_default=None, validate=validate.Regexp(r"^[UW][A-Z0-9]+$"),
                                metadata={"doc": "the app's bot user: only replies and reactions to its messages count"})
    # With the bot token, a button click is enriched after the 200 with the clicker's email and name
    # (users.info; scopes users:read and users:read.email); without it clicks keep the user id only.
    bot_token = SecretField(load_default=None, metadata={"doc": "xoxb- token with users:read and users:read.email"})
    api_url = fields.Url(load_default=SLACK_API, require_tld=False, metadata={"doc": "Web API base URL"})

    @post_load
    def endpoint(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """The Web API, bound to the source's HTTP client when there is a bot token to call it with."""
        return {**data, "endpoint": data["api_url"] if data.get("bot_token") else None}


class SlackConnectionSettings(SettingsSchema):
    """Exactly one of `webhook_url` (an incoming webhook) or `bot_token` (chat.postMessage)."""

    webhook_url = SecretField(load_default=None, metadata={"doc": "incoming-webhook URL (it is a secret)"})
    bot_token = SecretField(load_default=None, metadata={"doc": "xoxb- token with chat:write"})
    api_url = fields.Url(load_default=SLACK_API, require_tld=False, metadata={"doc": "Web API base URL"})

    @validates_schema
    def one_mode(self, data: dict[str, Any], **kwargs: Any) -> None:
        if bool(data.get("webhook_url")) == bool(data.get("bot_token")):
            raise ValidationError("set exactly one of webhook_url (incoming webhook) or bot_token (chat.postMessage)")

    @post_load
    def endpoint(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """The HTTP client is bound to the webhook URL, or to the Web API in bot mode."""
        return {**data, "endpoint": data["webhook_url"] or data["api_url"]}


class ButtonParams(SettingsSchema):
    """A button whose click comes back to the source as a `block_actions` payload."""

    text = fields.String(required=True, validate=validate.Length(min=1), metadata={"doc": "cut to 75 characters"})
    action_id = fields.String(required=True, validate=validate.Length(min=1, max=ACTION_ID_LIMIT))
    value = fields.String(load_default=None, validate=validate.Length(max=BUTTON_VALUE_LIMIT),
                          metadata={"doc": "sent back with the click, such as the case's id"})
    style = fields.String(load_default=None, validate=validate.OneOf(("primary", "danger")))


class PostMessageParams(SettingsSchema):
    text = fields.String(required=True, validate=validate.Length(min=1),
                         metadata={"doc": "plain-text fallback, shown in notifications"})
    title = fields.String(load_default=None, metadata={"doc": "header block (cut to 150 characters)"})
    body = fields.String(load_default=None, metadata={"doc": "main section; defaults to text"})
    context = fields.String(load_default=None, metadata={"doc": "small print under the message"})
    link_url = fields.Url(load_default=None, metadata={"doc": "a button linking to the vendor object"})
    link_text = fields.String(load_default="Open")
    buttons = fields.List(fields.Nested(ButtonParams), load_default=list,
                          validate=validate.Length(max=ACTIONS_PER_BLOCK),
                          metadata={"doc": "buttons whose clicks come back as cx.ticket.updated"})
    channel = fields.String(load_default=None, metadata={"doc": "channel id; required with bot_token"})

    @validates_schema
    def distinct_action_ids(self, data: dict[str, Any], **kwargs: Any) -> None:
        ids = [button["action_id"] for button in data.get("buttons") or []]
        if len(ids) != len(set(ids)):
            raise ValidationError("each button needs its own action_id (Slack refuses a message that repeats one)")


class ReplyInThreadParams(PostMessageParams):
    channel = fields.String(required=True, validate=validate.Length(min=1),
                            metadata={"doc": "the channel id of the message replied to"})
    thread_ts = fields.String(required=True, validate=MESSAGE_TS, metadata={"doc": "the ts of the message replied to"})
    reply_broadcast = fields.Boolean(load_default=False, metadata={"doc": "also show the reply in the channel"})


class UpdateMessageParams(PostMessageParams):
    channel = fields.String(required=True, validate=validate.Length(min=1),
                            metadata={"doc": "the channel id of the message to change"})
    ts = fields.String(required=True, validate=MESSAGE_TS, metadata={"doc": "the ts of the message to change"})
