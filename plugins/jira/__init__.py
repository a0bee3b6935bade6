"""Jira Cloud: create issues through the REST API v3."""

from __future__ import annotations

from typing import Any, Mapping

from hub.plugin import ActionInfo, ActionResult, Connection, ConnectionInfo, Delivery, PluginInfo, hookimpl
from plugins.jira import actions
from plugins.jira.settings import CreateIssueParams, JiraConnectionSettings

__version__ = "0.1.0"


@hookimpl
def cxhub_plugin_info() -> PluginInfo:
    return PluginInfo(
        name="jira", version=__version__,
        connection=ConnectionInfo(JiraConnectionSettings, url_setting="base_url",
                                  description="A Jira Cloud site, with basic auth (email + API token)"),
        actions={"create_issue": ActionInfo(CreateIssueParams, "Create an issue (once per delivery)")},
    )


@hookimpl
def cxhub_run_action(connection: Connection, action: str, params: Mapping[str, Any], event: Mapping[str, Any],
                     delivery: Delivery) -> ActionResult:
    return actions.create_issue(connection, params, event, delivery)
