"""Zendesk: ticket events in (event-subscribed webhooks), tickets created and updated out (Support API)."""

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
from plugins.zendesk import actions, enrich, inbound
from plugins.zendesk.settings import (
    AddCommentParams,
    CreateTicketParams,
    UpdateTicketParams,
    ZendeskConnectionSettings,
    ZendeskSourceSettings,
)

__version__ = "0.1.0"


@hookimpl
def cxhub_plugin_info() -> PluginInfo:
    return PluginInfo(
        name="zendesk", version=__version__,
        source=SourceInfo(ZendeskSourceSettings, "Zendesk ticket events (event-subscribed webhooks)",
                          api_url_setting="endpoint"),
        connection=ConnectionInfo(ZendeskConnectionSettings, url_setting="endpoint",
                                  description="A Zendesk Support account, with an API token or an OAuth token"),
        actions={
            "create_ticket": ActionInfo(CreateTicketParams, "Create a ticket (once per delivery)", creates="zendesk"),
            "add_comment": ActionInfo(AddCommentParams, "Add a public comment or an internal note to a ticket"),
            "update_ticket": ActionInfo(UpdateTicketParams, "Change a ticket's status, tags or assignee"),
        },
    )


@hookimpl
def cxhub_verify_request(source: Source, request: InboundRequest) -> None:
    inbound.verify(source, request)


@hookimpl
def cxhub_parse_request(source: Source, request: InboundRequest) -> list[EventDraft]:
    return inbound.parse(source, request)


@hookimpl
def cxhub_enrich_event(source: Source, event: Mapping[str, Any]) -> dict[str, Any]:
    return enrich.requester(source, event)


@hookimpl
def cxhub_run_action(connection: Connection, action: str, params: Mapping[str, Any], event: Mapping[str, Any],
                     delivery: Delivery) -> ActionResult:
    if action == "create_ticket":
        return actions.create_ticket(connection, params, event, delivery)
    if action == "add_comment":
        return actions.add_comment(connection, params, event)
    return actions.update_ticket(connection, params)
