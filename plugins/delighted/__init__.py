"""Delighted: survey response and unsubscribe webhooks in, as `cx.survey.response` and `cx.contact.updated`."""

from __future__ import annotations

from hub.plugin import EventDraft, InboundRequest, PluginInfo, Source, SourceInfo, hookimpl
from plugins.delighted import inbound
from plugins.delighted.settings import DelightedSourceSettings

__version__ = "0.1.0"


@hookimpl
def cxhub_plugin_info() -> PluginInfo:
    return PluginInfo(name="delighted", version=__version__,
                      source=SourceInfo(DelightedSourceSettings, "Delighted survey responses and unsubscribes"))


@hookimpl
def cxhub_verify_request(source: Source, request: InboundRequest) -> None:
    inbound.verify(source, request)


@hookimpl
def cxhub_parse_request(source: Source, request: InboundRequest) -> list[EventDraft]:
    return inbound.parse(source, request)
