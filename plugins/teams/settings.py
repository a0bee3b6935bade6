"""Settings of a Teams connection (a Workflows or connector webhook URL) and of `post_card`."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from hub.plugin import SecretField, SettingsSchema, ValidationError, fields
from marshmallow import pre_load, validate, validates_schema

FORMATS = ("adaptive_card", "message_card")
STYLES = ("default", "emphasis", "good", "attention", "warning", "accent")


class TeamsConnectionSettings(SettingsSchema):
    webhook_url = SecretField(required=True, metadata={"doc": "the Workflows (or connector) webhook URL; a secret"})
    format = fields.String(load_default="adaptive_card", validate=validate.OneOf(FORMATS),
                           metadata={"doc": "adaptive_card (Workflows and connectors) or message_card "
                                            "(legacy connectors only)"})

    @validates_schema
    def webhook_url_is_a_url(self, data: dict[str, Any], **kwargs: Any) -> None:
        """Checked when the config loads, not at the first delivery; the message names only the variable."""
        secret = data.get("webhook_url")
        if secret is None:
            return
        parts = urlsplit(secret.reveal())
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValidationError({"webhook_url": [f"{secret!r} is not an https:// URL"]})


class FactParams(SettingsSchema):
    name = fields.String(required=True, validate=validate.Length(min=1))
    value = fields.String(required=True)


class PostCardParams(SettingsSchema):
    @pre_load
    def blank_link_is_no_link(self, data: Any, **kwargs: Any) -> Any:
        """An event without a link renders `link_url` blank: the card goes without its button."""
        if isinstance(data, dict) and data.get("link_url") == "":
            return {**data, "link_url": None}
        return data

    text = fields.String(required=True, validate=validate.Length(min=1),
                         metadata={"doc": "the card's main text, in Teams' Markdown subset"})
    title = fields.String(load_default=None, metadata={"doc": "a bold heading (cut to 200 characters)"})
    facts = fields.List(fields.Nested(FactParams), load_default=list, validate=validate.Length(max=30),
                        metadata={"doc": "name/value pairs shown as a table"})
    link_url = fields.Url(load_default=None, allow_none=True, metadata={"doc": "a button linking to the vendor object"})
    link_title = fields.String(load_default="Open")
    style = fields.String(load_default=None, validate=validate.OneOf(STYLES),
                          metadata={"doc": "the heading's colour; default: from the event's score band"})
