"""Settings and parameters, validated when the hub loads its config."""

from __future__ import annotations

from hub.plugin import SecretField, SettingsSchema, fields


class SourceSettings(SettingsSchema):
    secret = SecretField(required=True)
    previous_secret = SecretField(load_default=None)


class ConnectionSettings(SettingsSchema):
    base_url = fields.Url(required=True, require_tld=False)
    token = SecretField(required=True)


class NoteParams(SettingsSchema):
    body = fields.String(required=True)
