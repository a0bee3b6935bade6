"""cxhub plugin for Acme."""

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
from cxhub_acme import actions, inbound
from cxhub_acme.settings import ConnectionSettings, NoteParams, SourceSettings

__version__ = "0.1.0"


@hookimpl
def cxhub_plugin_info() -> PluginInfo:
    return PluginInfo(
        name="acme",
        version=__version__,
        source=SourceInfo(SourceSettings, "Acme review webhooks"),
        connection=ConnectionInfo(ConnectionSettings, url_setting="base_url"),
        actions={"add_note": ActionInfo(NoteParams, "Add a note to the customer's record")},
    )


@hookimpl
def cxhub_verify_request(source: Source, request: InboundRequest) -> None:
    inbound.verify(source, request)


@hookimpl
def cxhub_parse_request(source: Source, request: InboundRequest) -> list[EventDraft]:
    return inbound.parse(source, request)


@hookimpl
def cxhub_run_action(connection: Connection, action: str, params: Mapping[str, Any],
                     delivery: Delivery) -> ActionResult:
    return actions.add_note(connection, params, delivery)
