"""Settings of a Google reviews (Business Profile) source."""

from __future__ import annotations

from typing import Any, Mapping

from hub.plugin import SecretField, SettingsSchema, ValidationError, fields
from marshmallow import validate, validates_schema

API_URL = "https://mybusiness.googleapis.com/"
CERTS_URL = "https://www.googleapis.com/oauth2/v3/certs"  # Google's signing keys, as a JWK set
OIDC_SETTINGS = ("audience", "service_account_email")


class GoogleReviewsSettings(SettingsSchema):
    account_id = fields.String(required=True, metadata={"doc": "the Business Profile account (accounts/<id>)"})
    location_id = fields.String(required=True, metadata={"doc": "the location whose reviews are read"})
    access_token = SecretField(required=True, metadata={"doc": "an OAuth access token with business.manage"})
    api_url = fields.Url(load_default=API_URL, require_tld=False, schemes={"http", "https"},
                         metadata={"doc": "the Business Profile API (a stand-in in tests)"})
    backfill_hours = fields.Integer(load_default=24, validate=lambda hours: 0 <= hours <= 90 * 24,
                                    metadata={"doc": "how far back the first poll looks"})
    audience = fields.String(load_default=None, validate=validate.Length(min=1),
                             metadata={"doc": "the audience of the push subscription's OIDC token"})
    service_account_email = fields.String(load_default=None, validate=validate.Length(min=1),
                                          metadata={"doc": "the service account the push subscription signs as"})
    certs_url = fields.Url(load_default=CERTS_URL, require_tld=False, schemes={"http", "https"},
                           metadata={"doc": "Google's published signing keys (JWKS; a stand-in in tests)"})

    @validates_schema
    def _both_or_neither(self, data: dict[str, Any], **kwargs: Any) -> None:
        given = [name for name in OIDC_SETTINGS if data.get(name) is not None]
        if len(given) == 1:
            [missing] = [name for name in OIDC_SETTINGS if name not in given]
            raise ValidationError(f"{given[0]} is set, so {missing} must be too: Pub/Sub's OIDC token is checked "
                                  "against both (or set neither, and give the source a token:)", missing)


def unsigned(settings: Mapping[str, Any]) -> bool:
    """True when pushes carry no OIDC token to check (the core then requires a source token)."""
    return settings["audience"] is None
