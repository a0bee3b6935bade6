"""Settings of a SurveyMonkey source."""

from __future__ import annotations

from hub.plugin import SecretField, SettingsSchema, fields


class SurveyMonkeySourceSettings(SettingsSchema):
    client_id = fields.String(required=True, metadata={
        "doc": "the app's client id: SurveyMonkey sends it as Sm-Apikey and signs with it"})
    client_secret = SecretField(required=True, metadata={
        "doc": "the app's client secret: the signing key is client_id&client_secret"})
    api_token = SecretField(required=True, metadata={
        "doc": "an access token of the app, with the responses_read_detail and surveys_read scopes"})
    api_url = fields.Url(load_default="https://api.surveymonkey.com", metadata={
        "doc": "the v3 API's base URL (api.eu.surveymonkey.com for EU data centre accounts)"})
    nps_question_id = fields.String(load_default=None, metadata={
        "doc": "the question whose 0-10 answer is the score; unset: the first 11-point rating question"})
    comment_question_id = fields.String(load_default=None, metadata={
        "doc": "the question whose answer is the text; unset: the first open-ended question answered"})
