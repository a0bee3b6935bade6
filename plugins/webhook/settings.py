"""Settings of the generic webhook source and of the forwarding connection."""

from __future__ import annotations

from typing import Any, Mapping

from hub.plugin import EVENT_TYPES, SCORE_TYPES, Secret, SecretField, SecretList, SettingsSchema, ValidationError, fields, signed_parts
from marshmallow import validate, validates, validates_schema
from standardwebhooks import Webhook

SCHEMES = ("standard_webhooks", "hmac", "none")
HMAC_ONLY = ("header", "algorithm", "encoding", "prefix", "signed", "timestamp_header", "id_header",
             "tolerance_seconds")


def check_whsec(secret: Secret | None) -> None:
    if secret is None:
        return
    try:
        Webhook(secret.reveal())
    except Exception:
        raise ValidationError(f"{secret!r} is not a Standard Webhooks secret (whsec_ followed by base64)") from None


class PathsField(fields.Field[list[str]]):
    """One dotted path, or a list of them whose values are joined with ':' (`[question.id, count]`)."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> list[str]:
        paths = value if isinstance(value, list) else [value]
        if not paths or not all(isinstance(path, str) and path for path in paths):
            raise ValidationError("write a dotted path, or a list of dotted paths")
        return list(paths)


class MappingSchema(SettingsSchema):
    """Where each canonical field sits in the sender's JSON (or form fields), as dotted paths."""

    object_id = fields.String(required=True)
    event_id = PathsField(load_default=None, metadata={"doc": "default: the id header of the signature scheme"})
    time = fields.String(load_default=None, metadata={"doc": "default: the timestamp header, else the time received"})
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


class SignatureSchema(SettingsSchema):
    """How requests are signed: Standard Webhooks (the default), an HMAC scheme described here, or none."""

    scheme = fields.String(load_default="standard_webhooks", validate=validate.OneOf(SCHEMES))
    header = fields.String(load_default=None, validate=validate.Length(min=1))
    algorithm = fields.String(load_default="sha256", validate=validate.OneOf(("sha1", "sha256", "sha512")))
    encoding = fields.String(load_default="hex", validate=validate.OneOf(("hex", "base64")))
    prefix = fields.String(load_default="")
    signed = fields.String(load_default="{body}", metadata={"doc": "placeholders: {timestamp}, {id}, {body}"})
    timestamp_header = fields.String(load_default=None, validate=validate.Length(min=1))
    id_header = fields.String(load_default=None, validate=validate.Length(min=1))
    tolerance_seconds = fields.Integer(load_default=300, validate=validate.Range(min=1, max=86400))

    @validates_schema(pass_original=True)
    def _consistent(self, data: dict[str, Any], original: Any, **kwargs: Any) -> None:
        if data["scheme"] != "hmac":
            written = [key for key in HMAC_ONLY if isinstance(original, Mapping) and key in original]
            if written:
                raise ValidationError(f"only with scheme: hmac (this is scheme: {data['scheme']})", written[0])
            return
        if data["header"] is None:
            raise ValidationError("scheme: hmac needs the name of the header that carries the signature", "header")
        try:
            parts = signed_parts(data["signed"])
        except ValueError as error:
            raise ValidationError(str(error), "signed") from None
        if parts.count("body") != 1:
            raise ValidationError("the signed string must hold {body} exactly once", "signed")
        for part, header in (("timestamp", "timestamp_header"), ("id", "id_header")):
            if part in parts and data[header] is None:
                raise ValidationError(f"the signed string holds {{{part}}}, so {header} must name its header", header)


class WebhookSourceSettings(SettingsSchema):
    secret = SecretField(load_default=None, metadata={"doc": "required unless signature.scheme is none"})
    previous_secret = SecretField(load_default=None, metadata={"doc": "accepted too, while rotating secrets"})
    signature = fields.Nested(SignatureSchema, load_default=lambda: SignatureSchema().load({}))
    body = fields.String(load_default="json", validate=validate.OneOf(("json", "form")))
    system = fields.String(load_default="webhook", metadata={"doc": "link.system of the events"})
    event_type = fields.String(load_default="cx.survey.response", validate=validate.OneOf(EVENT_TYPES))
    score_scale = fields.Nested(ScaleSchema, load_default=lambda: ScaleSchema().load({}))
    mapping = fields.Nested(MappingSchema, required=True)

    @validates_schema
    def _fits_the_scheme(self, data: dict[str, Any], **kwargs: Any) -> None:
        signature = data.get("signature")
        if signature is None or "mapping" not in data:
            return  # already reported
        scheme = signature["scheme"]
        if scheme == "none":
            if data["secret"] or data["previous_secret"]:
                raise ValidationError("signature.scheme: none checks no signature; remove the secret", "secret")
        elif data["secret"] is None:
            raise ValidationError(f"signature.scheme: {scheme} needs a secret", "secret")
        if scheme == "standard_webhooks":
            for name in ("secret", "previous_secret"):
                try:
                    check_whsec(data[name])
                except ValidationError as error:
                    raise ValidationError(error.messages, name) from None
        if data["mapping"]["event_id"] is None and id_header(data) is None:
            raise ValidationError("mapping.event_id is required: this signature scheme gives no id header", "mapping")


def id_header(settings: Mapping[str, Any]) -> str | None:
    """The header holding the vendor's delivery id, if the signature scheme has one."""
    signature = settings["signature"]
    return "webhook-id" if signature["scheme"] == "standard_webhooks" else signature["id_header"]


def timestamp_header(settings: Mapping[str, Any]) -> str | None:
    """The header holding the Unix time the request was signed, if the signature scheme has one."""
    signature = settings["signature"]
    return "webhook-timestamp" if signature["scheme"] == "standard_webhooks" else signature["timestamp_header"]


def unsigned(settings: Mapping[str, Any]) -> bool:
    """True when the source checks no signature (the core then requires a source token)."""
    return bool(settings["signature"]["scheme"] == "none")


class ForwardConnectionSettings(SettingsSchema):
    url = fields.Url(required=True, schemes={"http", "https"}, require_tld=False)
    # One secret, or several while rotating: each signs, and webhook-signature lists them all.
    secret = SecretList(required=True)

    @validates("secret")
    def _secret(self, value: list[Secret], **kwargs: Any) -> None:
        for secret in value:
            check_whsec(secret)
