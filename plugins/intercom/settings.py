"""Settings of an Intercom source and connection, and parameters of the Intercom actions."""

from __future__ import annotations

from typing import Any

from marshmallow import validate, validates_schema

from hub.plugin import SecretField, SettingsSchema, ValidationError, fields

API_VERSION = "2.11"  # the REST API version requests pin, unless a connection sets another
MESSAGE_TYPES = ("comment", "note")
BODY_FORMATS = ("text", "html")


class IntercomSourceSettings(SettingsSchema):
    secret = SecretField(required=True, metadata={"doc": "the app's client secret: Intercom signs notifications with it"})
    previous_secret = SecretField(load_default=None, metadata={"doc": "accepted too, while rotating the client secret"})
    max_age_seconds = fields.Integer(load_default=604_800, allow_none=True, validate=validate.Range(min=1),
                                     metadata={"doc": "refuse a notification whose signed created_at is older "
                                                      "(or later) than this; null turns the check off"})


class IntercomConnectionSettings(SettingsSchema):
    base_url = fields.Url(load_default="https://api.intercom.io", schemes={"http", "https"}, require_tld=False,
                          metadata={"doc": "the workspace's region: api.intercom.io, api.eu.intercom.io or "
                                           "api.au.intercom.io"})
    access_token = SecretField(required=True, metadata={"doc": "an access token of the workspace (or its app)"})
    api_version = fields.String(load_default=API_VERSION, validate=validate.Regexp(r"^\d+\.\d+$|^Unstable$"),
                                metadata={"doc": "sent as the Intercom-Version header"})


class ReplyParams(SettingsSchema):
    conversation_id = fields.String(required=True, validate=validate.Regexp(r"^[0-9A-Za-z_-]+$"))
    admin_id = fields.String(required=True, validate=validate.Regexp(r"^[0-9]+$", error="an admin id is a number"))
    body = fields.String(required=True, validate=validate.Length(min=1))
    message_type = fields.String(load_default="note", validate=validate.OneOf(MESSAGE_TYPES),
                                 metadata={"doc": "note (default): internal; comment: a reply the customer sees"})
    body_format = fields.String(load_default="text", validate=validate.OneOf(BODY_FORMATS),
                                metadata={"doc": "text (default): escaped, so a customer's words are never markup"})


class TagContactParams(SettingsSchema):
    contact_id = fields.String(required=True, validate=validate.Regexp(r"^[0-9A-Za-z_-]+$"))
    tag_id = fields.String(load_default=None, validate=validate.Regexp(r"^[0-9]+$", error="a tag id is a number"))
    tag_name = fields.String(load_default=None, validate=validate.Length(min=1, max=255))

    @validates_schema
    def one_tag(self, data: dict[str, Any], **kwargs: Any) -> None:
        if bool(data.get("tag_id")) == bool(data.get("tag_name")):
            raise ValidationError("give tag_id or tag_name, not both")
