"""Outbound Messages in: the org check, one event per Notification, and the SOAP acknowledgement.

Salesforce signs nothing. What keeps strangers out is the source's `token` (Salesforce calls
the endpoint URL as the admin wrote it, query string included) or a reverse proxy that accepts
only Salesforce's client certificate. The `OrganizationId` check then makes sure the message
comes from the org this source is for: a wrong one is answered 401 with a SOAP fault, which
Salesforce shows as the failure reason in its outbound message queue.

The Ack is sent only after the core has durably taken the events in (committed, or in the
intake log): a message that fails before is answered 5xx, and Salesforce sends it again.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit
from xml.etree import ElementTree

from hub.plugin import (
    EventDraft,
    InboundRequest,
    InvalidSignature,
    Parsed,
    Rejection,
    Source,
    UnrecognizedPayload,
    as_url,
)

from plugins.salesforce import records, soap
from plugins.salesforce.ids import short_form


def verify(source: Source, request: InboundRequest) -> None:
    """401 with a SOAP fault unless the message's OrganizationId is the configured one.

    Both ids are reduced to their 15-character form (the 18-character one must carry the right
    checksum) and compared with case, in constant time: `00Dn00000008y2t` and its 18-character
    `00Dn00000008y2tEAA` are one org, `00DN00000008Y2T` is another.
    """
    notifications = soap.read_envelope(request)
    given = soap.text_of(notifications, "OrganizationId") or ""
    expected = short_form(source.settings["organization_id"]) or ""
    given_short = short_form(given)
    if given_short is None or not hmac.compare_digest(given_short, expected):
        message = (f"OrganizationId {given[:40]!r} is not the org of source {source.name!r}; this endpoint takes "
                   "Outbound Messages of one org only")
        raise InvalidSignature(message, reply=soap.fault(401, message))


def parse(source: Source, request: InboundRequest) -> Parsed:
    """One event per Notification; a Notification that cannot be read is quarantined alone, the rest kept."""
    notifications = soap.read_envelope(request)
    header, elements = soap.split(notifications)
    if notifications.tag != f"{{{soap.OUTBOUND}}}notifications" or not elements:
        message = "expected a Salesforce Outbound Message: a SOAP envelope with notifications and 1 to 100 Notification"
        raise UnrecognizedPayload(message, reply=soap.fault(422, message))
    action_id = soap.text_of(notifications, "ActionId")
    instance = _instance(notifications)
    events: list[EventDraft] = []
    rejected: list[Rejection] = []
    for position, element in enumerate(elements):
        try:
            events.append(records.draft(element, action_id, instance))
        except UnrecognizedPayload as error:
            rejected.append(Rejection(soap.envelope(header, [element]), f"Notification[{position}]: {error.message}"))
    return Parsed(events=events, reply=soap.ack(), rejected=rejected)


def _instance(notifications: ElementTree.Element) -> str | None:
    """The org's https origin, from the EnterpriseUrl or PartnerUrl the message carries (for record links)."""
    for name in ("EnterpriseUrl", "PartnerUrl"):
        url = as_url(soap.text_of(notifications, name))
        parts = urlsplit(url) if url else None
        if parts and parts.scheme == "https" and parts.hostname:
            return f"https://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return None
