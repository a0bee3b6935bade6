"""HubSpot: CRM webhooks in (batches of contact, company, deal, ticket and conversation events,
contacts enriched from the CRM v3 API), contacts updated, notes and tickets created out."""

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
    Parsed,
    PluginInfo,
    RateLimit,
    Source,
    SourceInfo,
    hookimpl,
)
from plugins.hubspot import actions, enrich, inbound
from plugins.hubspot.settings import (
    AddNoteParams,
    CreateTicketParams,
    HubSpotConnectionSettings,
    HubSpotSourceSettings,
    UpdateContactParams,
)

__version__ = "0.1.0"
# HubSpot's published burst limit of a private app on a Free or Starter account (Professional and
# Enterprise: 190), just below a public OAuth app's per installed account (about 110): the lowest of
# either kind, so the default draws no 429s on any account. A bigger account raises it with `rate_limit:`.
RATE_LIMIT = RateLimit(100, 10)


@hookimpl
def cxhub_plugin_info() -> PluginInfo:
    return PluginInfo(
        name="hubspot", version=__version__,
        source=SourceInfo(HubSpotSourceSettings, "HubSpot CRM webhooks (contacts enriched from the CRM v3 API)",
                          api_url_setting="api_url"),
        connection=ConnectionInfo(HubSpotConnectionSettings, url_setting="api_url",
                                  description="A HubSpot account, with a private app's token or OAuth",
                                  oauth=True, token_setting="access_token", rate_limit=RATE_LIMIT),
        actions={
            "update_contact": ActionInfo(UpdateContactParams, "Set a contact's properties (found by id or email; "
                                                              "created if asked)"),
            "add_note": ActionInfo(AddNoteParams, "Add a note to a contact, and to a deal, company or ticket"),
            "create_ticket": ActionInfo(CreateTicketParams, "Create a ticket in a pipeline, associated with the "
                                                            "contact"),
        },
    )


@hookimpl
def cxhub_verify_request(source: Source, request: InboundRequest) -> None:
    inbound.verify(source, request)


@hookimpl
def cxhub_parse_request(source: Source, request: InboundRequest) -> Parsed:
    return inbound.parse(source, request)


@hookimpl
def cxhub_enrich_event(source: Source, event: Mapping[str, Any]) -> EventDraft:
    return enrich.enrich(source, event)


@hookimpl
def cxhub_run_action(connection: Connection, action: str, params: Mapping[str, Any], event: Mapping[str, Any],
                     delivery: Delivery) -> ActionResult:
    if action == "update_contact":
        return actions.update_contact(connection, params, event)
    if action == "add_note":
        return actions.add_note(connection, params, event)
    return actions.create_ticket(connection, params, event)
