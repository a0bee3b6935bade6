"""Settings of a Trustpilot source."""

from __future__ import annotations

from hub.plugin import SecretField, SettingsSchema, fields

API_URL = "https://api.trustpilot.com/"


class TrustpilotSourceSettings(SettingsSchema):
    business_unit_id = fields.String(load_default=None,
                                     metadata={"doc": "the business unit whose reviews a poll reads"})
    api_key = SecretField(load_default=None, metadata={"doc": "the API key, sent as the apikey header (polls)"})
    access_token = SecretField(load_default=None,
                               metadata={"doc": "a business user's OAuth access token: polls read private reviews"})
    api_url = fields.Url(load_default=API_URL, require_tld=False, schemes={"http", "https"},
                         metadata={"doc": "Trustpilot's API (a stand-in in tests)"})
    backfill_hours = fields.Integer(load_default=24, validate=lambda hours: 0 <= hours <= 90 * 24,
                                    metadata={"doc": "how far back the first poll looks"})
