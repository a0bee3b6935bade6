"""Settings of a Yelp source."""

from __future__ import annotations

from hub.plugin import SecretField, SettingsSchema, fields

API_URL = "https://api.yelp.com/"


class YelpSourceSettings(SettingsSchema):
    api_key = SecretField(required=True, metadata={
        "doc": "the API key of the app, sent as Authorization: Bearer to read the reviews a webhook names"})
    api_url = fields.Url(load_default=API_URL, require_tld=False, schemes={"http", "https"},
                         metadata={"doc": "Yelp's API (a stand-in in tests)"})
    business_ids = fields.List(fields.String(), load_default=list, metadata={
        "doc": "the businesses whose new reviews a poll reads (poll: on the source)"})
    backfill_hours = fields.Integer(load_default=24, validate=lambda hours: 0 <= hours <= 90 * 24,
                                    metadata={"doc": "how far back the first poll looks"})
