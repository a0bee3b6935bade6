"""Trustpilot: service-review webhooks in (batched in `events[]`), and polls of the reviews API."""

from __future__ import annotations

from hub.plugin import InboundRequest, Parsed, PluginInfo, PollResult, Source, SourceInfo, hookimpl
from plugins.trustpilot import inbound
from plugins.trustpilot import poll as polling
from plugins.trustpilot.settings import TrustpilotSourceSettings

__version__ = "0.1.0"


@hookimpl
def cxhub_plugin_info() -> PluginInfo:
    return PluginInfo(name="trustpilot", version=__version__,
                      source=SourceInfo(TrustpilotSourceSettings, "Trustpilot service reviews (webhooks and polls)",
                                        api_url_setting="api_url", unsigned=lambda settings: True))


@hookimpl
def cxhub_verify_request(source: Source, request: InboundRequest) -> None:
    """Trustpilot signs nothing: the source's `token:` (checked by the core) is the only check."""


@hookimpl
def cxhub_parse_request(source: Source, request: InboundRequest) -> Parsed:
    return inbound.parse(source, request)


@hookimpl
def cxhub_poll(source: Source, cursor: str | None) -> PollResult:
    return polling.poll(source, cursor)
