"""Slack: post Block Kit messages through an incoming webhook or chat.postMessage."""

from __future__ import annotations

from typing import Any, Mapping

from hub.plugin import ActionInfo, ActionResult, Connection, ConnectionInfo, PluginInfo, hookimpl
from plugins.slack import actions
from plugins.slack.settings import PostMessageParams, SlackConnectionSettings

__version__ = "0.1.0"


@hookimpl
def cxhub_plugin_info() -> PluginInfo:
    return PluginInfo(
        name="slack", version=__version__,
        connection=ConnectionInfo(SlackConnectionSettings, url_setting="endpoint",
                                  description="A Slack incoming webhook, or a bot token for chat.postMessage"),
        actions={"post_message": ActionInfo(PostMessageParams, "Post a message with Block Kit blocks")},
    )


@hookimpl
def cxhub_run_action(connection: Connection, action: str, params: Mapping[str, Any],
                     event: Mapping[str, Any]) -> ActionResult:
    return actions.post_message(connection, params, event)
