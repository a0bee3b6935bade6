"""Jira Cloud: issue and comment events in (admin webhooks with a secret), issues created, commented
and transitioned out (REST API v3)."""

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
from plugins.jira import actions, inbound
from plugins.jira.settings import (
    AddCommentParams,
    CreateIssueParams,
    JiraConnectionSettings,
    JiraSourceSettings,
    TransitionIssueParams,
)

__version__ = "0.2.0"


@hookimpl
def cxhub_plugin_info() -> PluginInfo:
    return PluginInfo(
        name="jira", version=__version__,
        source=SourceInfo(JiraSourceSettings, "Jira issue and comment events (admin webhooks with a secret)"),
        connection=ConnectionInfo(JiraConnectionSettings, url_setting="base_url",
                                  description="A Jira Cloud site, with basic auth (email + API token)"),
        actions={
            "create_issue": ActionInfo(CreateIssueParams, "Create an issue (once per delivery)", creates="jira"),
            "add_comment": ActionInfo(AddCommentParams, "Add a comment to an issue (once per delivery)"),
            "transition_issue": ActionInfo(TransitionIssueParams,
                                           "Move an issue through its workflow, by transition or status name"),
        },
    )


@hookimpl
def cxhub_verify_request(source: Source, request: InboundRequest) -> None:
    inbound.verify(source, request)


@hookimpl
def cxhub_parse_request(source: Source, request: InboundRequest) -> list[EventDraft]:
    return inbound.parse(source, request)


@hookimpl
def cxhub_run_action(connection: Connection, action: str, params: Mapping[str, Any], event: Mapping[str, Any],
                     delivery: Delivery) -> ActionResult:
    if action == "add_comment":
        return actions.add_comment(connection, params, event, delivery)
    if action == "transition_issue":
        return actions.transition_issue(connection, params)
    return actions.create_issue(connection, params, event, delivery)
