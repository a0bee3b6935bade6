"""Microsoft Teams: post an Adaptive Card through a Workflows webhook (or a legacy connector)."""

from __future__ import annotations

from typing import Any, Mapping

from hub.plugin import ActionInfo, ActionResult, Connection, ConnectionInfo, PluginInfo, hookimpl
from plugins.teams import actions
from plugins.teams.settings import PostCardParams, TeamsConnectionSettings

__version__ = "0.1.0"


@hookimpl
def cxhub_plugin_info() -> PluginInfo:
    return PluginInfo(
        name="teams", version=__version__,
        connection=ConnectionInfo(TeamsConnectionSettings, url_setting="webhook_url",
                                  description="A Teams Workflows webhook, or a legacy Office 365 connector",
                                  for_people=True),
        actions={"post_card": ActionInfo(PostCardParams, "Post an Adaptive Card (or a MessageCard)")},
    )


@hookimpl
def cxhub_run_action(connection: Connection, action: str, params: Mapping[str, Any],
                     event: Mapping[str, Any]) -> ActionResult:
    return actions.post_card(connection, params, event)
