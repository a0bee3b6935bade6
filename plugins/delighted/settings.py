"""Settings of a Delighted source."""

from __future__ import annotations

from marshmallow import validate

from hub.plugin import SecretField, SettingsSchema, fields


class DelightedSourceSettings(SettingsSchema):
    secret = SecretField(required=True, metadata={"doc": "the account's API key: Delighted signs webhooks with it"})
    previous_secret = SecretField(load_default=None, metadata={"doc": "accepted too, while rotating the API key"})
    ces_points = fields.Integer(load_default=5, validate=validate.OneOf([5, 7]),
                                metadata={"doc": "the CES scale of the account's CES surveys: 1-5 or 1-7"})
