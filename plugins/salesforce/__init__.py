"""Salesforce: Outbound Messages in (SOAP, acknowledged), cases and records out (REST API)."""

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

from plugins.salesforce import actions, inbound, soap
from plugins.salesforce.settings import (
    AddCommentParams,
    CreateCaseParams,
    SalesforceConnectionSettings,
    SalesforceSourceSettings,
    UpdateRecordParams,
)

__version__ = "0.1.0"


@hookimpl
def cxhub_plugin_info() -> PluginInfo:
    return PluginInfo(
        name="salesforce", version=__version__,
        source=SourceInfo(SalesforceSourceSettings, "Salesforce Outbound Messages (SOAP, acknowledged)",
                          unsigned=lambda settings: not settings.get("client_certificate_checked"),
                          body_to_keep=soap.body_to_keep),
        connection=ConnectionInfo(SalesforceConnectionSettings, url_setting="instance_url",
                                  description="A Salesforce org's REST API, at a pinned API version",
                                  oauth=True, token_setting="access_token"),
        actions={
            "create_case": ActionInfo(CreateCaseParams, "Create a case, linked to the contact found by email"),
            "update_record": ActionInfo(UpdateRecordParams, "Set fields on a record by id or by an external id"),
            "add_comment": ActionInfo(AddCommentParams, "Add a comment (CaseComment) to a case"),
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
    if action == "create_case":
        return actions.create_case(connection, params, event, delivery)
    if action == "update_record":
        return actions.update_record(connection, params)
    return actions.add_comment(connection, params, event)
