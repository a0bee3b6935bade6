"""Yelp: review webhooks in (batched in `data.updates[]`, unsigned), enriched from the API with the review's text."""

from __future__ import annotations

from typing import Any, Mapping

from hub.plugin import EventDraft, InboundRequest, Parsed, PluginInfo, PollResult, Source, SourceInfo, hookimpl
from plugins.yelp import enrich, inbound
from plugins.yelp import poll as polling
from plugins.yelp.settings import YelpSourceSettings

__version__ = "0.1.0"


@hookimpl
def cxhub_plugin_info() -> PluginInfo:
    return PluginInfo(name="yelp", version=__version__,
                      source=SourceInfo(YelpSourceSettings, "Yelp reviews (webhooks enriched from the API, and polls)",
                                        api_url_setting="api_url", unsigned=lambda settings: True))


@hookimpl
def cxhub_verify_request(source: Source, request: InboundRequest) -> None:
    """Yelp signs nothing: the source's `token:` (checked by the core) is the only check."""


@hookimpl
def cxhub_parse_request(source: Source, request: InboundRequest) -> Parsed:
    return inbound.parse(source, request)


@hookimpl
def cxhub_enrich_event(source: Source, event: Mapping[str, Any]) -> EventDraft:
    return enrich.enrich(source, event)


@hookimpl
def cxhub_poll(source: Source, cursor: str | None) -> PollResult:
    return polling.poll(source, cursor)
