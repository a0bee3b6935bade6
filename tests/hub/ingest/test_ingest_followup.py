"""Webhooks that carry only ids: the source's plugin fetches the object from the vendor's API
through `source.api` while the vendor waits. A failed fetch answers 503 (transient) or 422, and the
request is kept in quarantine, so nothing is lost even if the vendor never sends it again."""

from __future__ import annotations

from datetime import datetime

import pytest
from marshmallow import fields

from hub.operations import replay_quarantined
from hub.plugin import (
    Customer,
    EventDraft,
    Link,
    PluginInfo,
    Score,
    SettingsSchema,
    SourceInfo,
    hookimpl,
)

# The shape of a SurveyMonkey "response_completed" notification: ids only.
NOTIFICATION = {"name": "My Webhook", "filter_type": "survey", "filter_id": "123456789",
                "event_type": "response_completed", "event_id": "10000001", "object_type": "response",
                "object_id": "20000002", "event_datetime": "2026-11-20T21:56:31.182613+00:00",
                "resources": {"respondent_id": "20000002", "recipient_id": "0", "survey_id": "123456789",
                              "user_id": "1", "collector_id": "30000003"}}
DETAILS_PATH = "/v3/surveys/123456789/responses/20000002/details"


class ThinSettings(SettingsSchema):
    api_url = fields.Url(required=True)


class Thin:
    @staticmethod
    @hookimpl
    def cxhub_plugin_info() -> PluginInfo:
        return PluginInfo(name="thin", version="1.0", source=SourceInfo(ThinSettings, api_url_setting="api_url"))

    @staticmethod
    @hookimpl
    def cxhub_verify_request(source, request) -> None:
        """(No signature in this test plugin: the follow-up call is what is under test.)"""

    @staticmethod
    @hookimpl
    def cxhub_parse_request(source, request) -> list[EventDraft]:
        note = request.json()
        details = source.api.get_json(
            f"v3/surveys/{note['resources']['survey_id']}/responses/{note['object_id']}/details")
        return [EventDraft(type="cx.survey.response", vendor_event_id=note["event_id"],
                           time=datetime.fromisoformat(note["event_datetime"]),
                           link=Link(system="thin", id=details["id"], url=details["analyze_url"]),
                           customer=Customer(email=details["metadata"]["contact"]["email"]["value"]),
                           score=Score("nps", details["score"], 0, 10), text=details["comment"])]


@pytest.fixture
def hub(make_hub, httpserver):
    config = {"sources": {"thin": {"plugin": "thin", "settings": {"api_url": httpserver.url_for("/")}}}}
    return make_hub(config, plugins=[Thin])


DETAILS = {"id": "20000002", "analyze_url": "https://www.surveymonkey.com/analyze/browse/abc?respondent_id=20000002",
           "metadata": {"contact": {"email": {"type": "string", "value": "ann@example.com"}}},
           "score": 3, "comment": "Too slow to load."}


def test_the_follow_up_call_completes_the_event(hub, httpserver):
    httpserver.expect_request(DETAILS_PATH, method="GET").respond_with_json(DETAILS)
    response = hub.post("thin", NOTIFICATION)
    assert response.status_code == 202, response.json
    [event] = hub.store.reads.events()
    assert (event.customer_email, event.score_band) == ("ann@example.com", "negative")
    assert httpserver.log[0][0].headers["User-Agent"] == "cxhub"


def test_a_vendor_api_outage_is_503_and_the_request_is_kept(hub, httpserver):
    httpserver.expect_request(DETAILS_PATH).respond_with_data("busy", status=503, headers={"Retry-After": "5"})
    refused = hub.post("thin", NOTIFICATION)
    assert refused.status_code == 503 and refused.json["error"]["code"] == "vendor_api_unavailable"
    assert hub.store.reads.events() == []
    [kept] = hub.store.quarantine.requests()

    httpserver.clear()
    httpserver.expect_request(DETAILS_PATH).respond_with_json(DETAILS)
    assert replay_quarantined(hub.hub, kept.id).accepted  # the vendor did not resend: an admin replays it
    assert len(hub.store.reads.events()) == 1


def test_an_object_the_vendor_no_longer_has_is_422(hub, httpserver):
    httpserver.expect_request(DETAILS_PATH).respond_with_json({"error": {"message": "not found"}}, status=404)
    refused = hub.post("thin", NOTIFICATION)
    assert refused.status_code == 422 and refused.json["error"]["code"] == "vendor_api_refused"
    assert "answered 404" in refused.json["error"]["message"]
    assert len(hub.store.quarantine.requests()) == 1 and hub.store.reads.events() == []
