"""Settings of a Google reviews (Business Profile) source."""

from __future__ import annotations

from hub.plugin import SecretField, SettingsSchema, fields

API_URL = "https://mybusiness.googleapis.com/"


class GoogleReviewsSettings(SettingsSchema):
    account_id = fields.String(required=True, metadata={"doc": "the Business Profile account (accounts/<id>)"})
    location_id = fields.String(required=True, metadata={"doc": "the location whose reviews are read"})
    access_token = SecretField(required=True, metadata={"doc": "an OAuth access token with business.manage"})
    api_url = fields.Url(load_default=API_URL, require_tld=False, schemes={"http", "https"},
                         metadata={"doc": "the Business Profile API (a stand-in in tests)"})
    backfill_hours = fields.Integer(load_default=24, validate=lambda hours: 0 <= hours <= 90 * 24,
                                    metadata={"doc": "how far back the first poll looks"})
