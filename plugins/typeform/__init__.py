"""Typeform: `form_response` webhooks in, as `cx.survey.response` events."""

from __future__ import annotations

from hub.plugin import EventDraft, InboundRequest, PluginInfo, Source, SourceInfo, hookimpl
from plugins.typeform import inbound
from plugins.typeform.settings import TypeformSourceSettings

__version__ = "0.1.0"


@hookimpl
def cxhub_plugin_info() -> PluginInfo:
    return PluginInfo(name="typeform", version=__version__,
                      source=SourceInfo(TypeformSourceSettings, "Typeform form responses (form_response webhooks)"))


@hookimpl
def cxhub_verify_request(source: Source, request: InboundRequest) -> None:
    inbound.verify(source, request)


@hookimpl
def cxhub_parse_request(source: Source, request: InboundRequest) -> list[EventDraft]:
    return inbound.parse(source, request)
