"""Slack: thread replies, mentions, reactions and button clicks in; Block Kit messages posted, replied and updated out."""

from __future__ import annotations

from typing import Any, Mapping

from hub.plugin import (
    ActionInfo,
    ActionResult,
    Connection,
    ConnectionInfo,
    EventDraft,
    InboundRequest,
    Parsed,
    PluginInfo,
    Source,
    SourceInfo,
    hookimpl,
)
from plugins.slack import actions, inbound
from plugins.slack.settings import (
    PostMessageParams,
    ReplyInThreadParams,
    SlackConnectionSettings,
    SlackSourceSettings,
    UpdateMessageParams,
)

__version__ = "0.2.0"

ACTIONS = {"post_message": actions.post_message, "reply_in_thread": actions.reply_in_thread,
           "update_message": actions.update_message}


@hookimpl
def cxhub_plugin_info() -> PluginInfo:
    return PluginInfo(
        name="slack", version=__version__,
        source=SourceInfo(SlackSourceSettings, "Slack Events API (thread replies, mentions, reactions) and "
                                               "interactivity (button clicks)"),
        connection=ConnectionInfo(SlackConnectionSettings, url_setting="endpoint",
                                  description="A Slack incoming webhook, or a bot token for the Web API",
                                  for_people=True),
        actions={
            "post_message": ActionInfo(PostMessageParams, "Post a message with Block Kit blocks", creates="slack"),
            "reply_in_thread": ActionInfo(ReplyInThreadParams, "Reply in the thread of a message (bot token)",
                                          creates="slack"),
            "update_message": ActionInfo(UpdateMessageParams, "Change a message posted before (bot token)"),
        },
    )


@hookimpl
def cxhub_verify_request(source: Source, request: InboundRequest) -> None:
    inbound.verify(source, request)


@hookimpl
def cxhub_parse_request(source: Source, request: InboundRequest) -> Parsed | list[EventDraft]:
    return inbound.parse(source, request)


@hookimpl
def cxhub_run_action(connection: Connection, action: str, params: Mapping[str, Any],
                     event: Mapping[str, Any]) -> ActionResult:
    return ACTIONS[action](connection, params, event)
