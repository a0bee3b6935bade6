"""Settings of a Slack connection (incoming webhook, or bot token) and of `post_message`."""

from __future__ import annotations

from typing import Any

from hub.plugin import SecretField, SettingsSchema, ValidationError, fields
from marshmallow import post_load, validate, validates_schema

SLACK_API = "https://slack.com/api/"


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


class PostMessageParams(SettingsSchema):
    text = fields.String(required=True, validate=validate.Length(min=1),
                         metadata={"doc": "plain-text fallback, shown in notifications"})
    title = fields.String(load_default=None, metadata={"doc": "header block (cut to 150 characters)"})
    body = fields.String(load_default=None, metadata={"doc": "main section; defaults to text"})
    context = fields.String(load_default=None, metadata={"doc": "small print under the message"})
    link_url = fields.Url(load_default=None, metadata={"doc": "a button linking to the vendor object"})
    link_text = fields.String(load_default="Open")
    channel = fields.String(load_default=None, metadata={"doc": "channel id; required with bot_token"})
