"""Google reviews (Business Profile): polls of the reviews API, and Pub/Sub push notifications enriched after the 202."""

from __future__ import annotations

from typing import Any, Mapping

from hub.plugin import EventDraft, FoundEvent, InboundRequest, PluginInfo, PollResult, Source, SourceInfo, hookimpl
from plugins.google_reviews import enrich, inbound, oidc
from plugins.google_reviews import poll as polling
from plugins.google_reviews.settings import GoogleReviewsSettings, unsigned

__version__ = "0.1.0"


@hookimpl
def cxhub_plugin_info() -> PluginInfo:
    return PluginInfo(name="google_reviews", version=__version__,
                      source=SourceInfo(GoogleReviewsSettings, "Google Business Profile reviews (polls; Pub/Sub push with its OIDC token)",
                                        api_url_setting="api_url", unsigned=unsigned))


@hookimpl
def cxhub_verify_request(source: Source, request: InboundRequest) -> None:
    """Check Pub/Sub's OIDC token when `audience` is set; without it, the source's `token:` (the core checks it)."""
    if not unsigned(source.settings):
        oidc.verify(source.settings, request)


@hookimpl
def cxhub_parse_request(source: Source, request: InboundRequest) -> list[EventDraft]:
    return inbound.parse(source, request)


@hookimpl
def cxhub_enrich_event(source: Source, event: Mapping[str, Any]) -> EventDraft | FoundEvent:
    return enrich.enrich(source, event)


@hookimpl
def cxhub_poll(source: Source, cursor: str | None) -> PollResult:
    return polling.poll(source, cursor)
