"""Settings of a Qualtrics source."""

from __future__ import annotations

from hub.plugin import SecretField, SettingsSchema, fields


class QualtricsSourceSettings(SettingsSchema):
    shared_key = SecretField(required=True, metadata={
        "doc": "the event subscription's sharedKey: Qualtrics signs each MSG with it (the HMAC field)"})
    api_token = SecretField(required=True, metadata={
        "doc": "an API token (Account Settings, Qualtrics IDs), sent as X-API-TOKEN to read responses"})
    api_url = fields.Url(required=True, metadata={
        "doc": "the datacenter's base URL, e.g. https://yourdatacenterid.qualtrics.com"})
    nps_question_id = fields.String(load_default=None, metadata={
        "doc": "the question whose 0-10 answer is the score (e.g. QID1); unset: the first NPS question"})
    comment_question_id = fields.String(load_default=None, metadata={
        "doc": "the question whose text is the comment (e.g. QID2); unset: the first text answer given"})
