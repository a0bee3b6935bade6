"""Intercom: conversation notifications in (webhooks), replies, notes and contact tags out (REST API)."""

from __future__ import annotations

from typing import Any, Mapping

from hub.plugin import (
    ActionInfo,
    ActionResult,
    Connection,
    ConnectionInfo,
    Delivery,
    InboundRequest,
    Parsed,
    PluginInfo,
    Source,
    SourceInfo,
    hookimpl,
)
from plugins.intercom import actions, inbound
from plugins.intercom.settings import (
    IntercomConnectionSettings,
    IntercomSourceSettings,
    ReplyParams,
    TagContactParams,
)

__version__ = "0.1.0"


@hookimpl
def cxhub_plugin_info() -> PluginInfo:
    return PluginInfo(
        name="intercom", version=__version__,
        source=SourceInfo(IntercomSourceSettings, "Intercom conversation notifications (webhook topics)"),
        connection=ConnectionInfo(IntercomConnectionSettings, url_setting="base_url",
                                  description="An Intercom workspace, with an access token"),
        actions={
            "reply": ActionInfo(ReplyParams, "Reply to a conversation as an admin, or add an internal note",
                                creates="intercom"),
            "tag_contact": ActionInfo(TagContactParams, "Tag a contact, by tag id or name"),
        },
    )


@hookimpl
def cxhub_verify_request(source: Source, request: InboundRequest) -> None:
    inbound.verify(source, request)


@hookimpl
def cxhub_parse_request(source: Source, request: InboundRequest) -> Parsed:
    return inbound.parse(source, request)


@hookimpl
def cxhub_run_action(connection: Connection, action: str, params: Mapping[str, Any], event: Mapping[str, Any],
                     delivery: Delivery) -> ActionResult:
    if action == "reply":
        return actions.reply(connection, params, event)
    return actions.tag_contact(connection, params)
