"""Generic webhooks: a JSON or form source verified per Standard Webhooks or a configured HMAC, and a signed forward."""

from __future__ import annotations

from typing import Any, Mapping

from hub.plugin import (
    ActionInfo,
    ActionResult,
    Connection,
    ConnectionInfo,
    Delivery,
    EventDraft,
    InboundRequest,
    PluginInfo,
    Source,
    SourceInfo,
    hookimpl,
)
from plugins.webhook import actions, inbound
from plugins.webhook.settings import ForwardConnectionSettings, WebhookSourceSettings, unsigned

__version__ = "0.1.0"


@hookimpl
def cxhub_plugin_info() -> PluginInfo:
    return PluginInfo(
        name="webhook",
        version=__version__,
        source=SourceInfo(WebhookSourceSettings, "Any JSON or form webhook, signed per Standard Webhooks or an HMAC "
                          "scheme you describe (or by a source token alone)", unsigned=unsigned),
        connection=ConnectionInfo(ForwardConnectionSettings, url_setting="url",
                                  description="An HTTP endpoint that receives signed CloudEvents", oauth=True),
        actions={"forward": ActionInfo(None, "POST the canonical event, signed per Standard Webhooks")},
    )


@hookimpl
def cxhub_verify_request(source: Source, request: InboundRequest) -> None:
    inbound.verify(source, request)


@hookimpl
def cxhub_parse_request(source: Source, request: InboundRequest) -> list[EventDraft]:
    return inbound.parse(source, request)


@hookimpl
def cxhub_run_action(connection: Connection, action: str, event: Mapping[str, Any],
                     delivery: Delivery) -> ActionResult:
    return actions.forward(connection, event, delivery)

