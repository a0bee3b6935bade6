"""SurveyMonkey: response webhooks in (ids only), enriched from the v3 API into `cx.survey.response`."""

from __future__ import annotations

from typing import Any, Mapping

from hub.plugin import EventDraft, InboundRequest, Parsed, PluginInfo, Source, SourceInfo, hookimpl
from plugins.surveymonkey import enrich, inbound
from plugins.surveymonkey.settings import SurveyMonkeySourceSettings

__version__ = "0.1.0"


@hookimpl
def cxhub_plugin_info() -> PluginInfo:
    return PluginInfo(name="surveymonkey", version=__version__,
                      source=SourceInfo(SurveyMonkeySourceSettings, "SurveyMonkey survey responses",
                                        api_url_setting="api_url"))


@hookimpl
def cxhub_verify_request(source: Source, request: InboundRequest) -> None:
    inbound.verify(source, request)


@hookimpl
def cxhub_parse_request(source: Source, request: InboundRequest) -> Parsed:
    return inbound.parse(source, request)


@hookimpl
def cxhub_enrich_event(source: Source, event: Mapping[str, Any]) -> EventDraft:
    return enrich.enrich(source, event)
