"""Settings of the generic webhook source and of the forwarding connection."""

from __future__ import annotations

from typing import Any

from hub.plugin import EVENT_TYPES, SCORE_TYPES, Secret, SecretField, SecretList, SettingsSchema, ValidationError, fields
from marshmallow import validate, validates
from standardwebhooks import Webhook


def check_whsec(secret: Secret | None) -> None:
    if secret is None:
        return
    try:
        Webhook(secret.reveal())
    except Exception:
        raise ValidationError(f"{secret!r} is not a Standard Webhooks secret (whsec_ followed by base64)") from None


class MappingSchema(SettingsSchema):
    """Where each canonical field sits in the sender's JSON, as dotted paths."""

    object_id = fields.String(required=True)
    event_id = fields.String(load_default=None, metadata={"doc": "default: the webhook-id header"})
    time = fields.String(load_default=None, metadata={"doc": "default: the webhook-timestamp header"})
    object_url = fields.String(load_default=None)
    object_type = fields.String(load_default=None)
    customer_id = fields.String(load_default=None)
    customer_email = fields.String(load_default=None)
    customer_name = fields.String(load_default=None)
    text = fields.String(load_default=None)
    score = fields.String(load_default=None)
    attributes = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)


class ScaleSchema(SettingsSchema):
    type = fields.String(load_default="rating", validate=validate.OneOf(SCORE_TYPES))
    min = fields.Float(load_default=1)
    max = fields.Float(load_default=5)


class WebhookSourceSettings(SettingsSchema):
    secret = SecretField(required=True)
    previous_secret = SecretField(load_default=None, metadata={"doc": "accepted too, while rotating secrets"})
    system = fields.String(load_default="webhook", metadata={"doc": "link.system of the events"})
    event_type = fields.String(load_default="cx.survey.response", validate=validate.OneOf(EVENT_TYPES))
    score_scale = fields.Nested(ScaleSchema, load_default=lambda: ScaleSchema().load({}))
    mapping = fields.Nested(MappingSchema, required=True)

    @validates("secret")
    def _secret(self, value: Secret, **kwargs: Any) -> None:
        check_whsec(value)

    @validates("previous_secret")
    def _previous(self, value: Secret | None, **kwargs: Any) -> None:
        check_whsec(value)


class ForwardConnectionSettings(SettingsSchema):
    url = fields.Url(required=True, schemes={"http", "https"}, require_tld=False)
    # One secret, or several while rotating: each signs, and webhook-signature lists them all.
    secret = SecretList(required=True)

    @validates("secret")
    def _secret(self, value: list[Secret], **kwargs: Any) -> None:
        for secret in value:
            check_whsec(secret)
