"""Qualtrics: event subscription forms in (ids only), enriched from the v3 responses API into `cx.survey.response`."""

from __future__ import annotations

from typing import Any, Mapping

from hub.plugin import EventDraft, InboundRequest, Parsed, PluginInfo, Source, SourceInfo, hookimpl
from plugins.qualtrics import enrich, inbound
from plugins.qualtrics.settings import QualtricsSourceSettings

__version__ = "0.1.0"


@hookimpl
def cxhub_plugin_info() -> PluginInfo:
    return PluginInfo(name="qualtrics", version=__version__,
                      source=SourceInfo(QualtricsSourceSettings, "Qualtrics survey responses",
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
