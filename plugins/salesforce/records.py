"""One Notification of an Outbound Message as a canonical event.

Contacts, Leads, Accounts and custom objects become `cx.contact.updated` (the customer's
record changed; `data.link.type` names the sObject, so routes tell them apart). Cases become
`cx.ticket.created` when their `CreatedDate` equals their `LastModifiedDate` (the workflow
fired on the insert) and `cx.ticket.updated` otherwise, or when either date was not among the
fields the admin selected. The event's id comes from the Notification's `Id`, which Salesforce
keeps across its retries, so a resend is a duplicate.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Mapping
from xml.etree import ElementTree

from hub.plugin import Customer, EventDraft, Link, UnrecognizedPayload, as_email, as_text, parse_time

from plugins.salesforce.ids import long_form
from plugins.salesforce.soap import OUTBOUND, SOBJECT, XSI_NIL, XSI_TYPE, text_of

CONTACT_LIKE = ("Contact", "Lead")
MAX_ATTRIBUTE = 1_000  # one field's text kept in attributes; Description and long text areas go to `text`
TEXT_FIELDS = {"Case": "Description", "Lead": "Description", "Contact": "Description", "Account": "Description"}


def draft(notification: ElementTree.Element, action_id: str | None, instance: str | None) -> EventDraft:
    """The event of one Notification; UnrecognizedPayload (that element alone is quarantined) when unreadable."""
    notification_id = text_of(notification, "Id")
    if notification_id is None or long_form(notification_id) is None:
        raise UnrecognizedPayload(f"a Notification needs an Id of 15 or 18 letters and digits, got {notification_id!r}")
    sobject = notification.find(f"{{{OUTBOUND}}}sObject")
    if sobject is None:
        raise UnrecognizedPayload(f"Notification {notification_id} has no sObject")
    kind = (sobject.get(XSI_TYPE) or "").rpartition(":")[2]
    if not kind:
        raise UnrecognizedPayload(f"Notification {notification_id}: the sObject has no xsi:type (sf:Contact, ...)")
    values = field_values(sobject)
    record_id = long_form(values.get("Id", ""))
    if record_id is None:
        raise UnrecognizedPayload(f"Notification {notification_id}: the {kind} has no valid Id field")
    time = _time(values)
    event_type = _event_type(kind, values)
    attributes = {"sobject": kind, **({"action_id": action_id} if action_id else {}),
                  **{name: value[:MAX_ATTRIBUTE] for name, value in values.items()}}
    return EventDraft(
        type=event_type,
        vendor_event_id=notification_id,
        time=time,
        link=Link(system="salesforce", id=record_id, url=f"{instance}/{record_id}" if instance else None, type=kind),
        customer=_customer(kind, record_id, values),
        text=as_text(values.get(TEXT_FIELDS.get(kind, ""))),
        attributes=attributes,
    )


def field_values(sobject: ElementTree.Element) -> dict[str, str]:
    """The sObject's fields (elements of the sobject namespace) as text; nil fields are left out."""
    values: dict[str, str] = {}
    for child in sobject:
        if not child.tag.startswith(f"{{{SOBJECT}}}") or child.get(XSI_NIL) == "true" or len(child):
            continue
        values[child.tag.rsplit("}", 1)[1]] = (child.text or "").strip()
    return values


def _event_type(kind: str, values: Mapping[str, str]) -> str:
    if kind != "Case":
        return "cx.contact.updated"
    created, modified = values.get("CreatedDate"), values.get("LastModifiedDate")
    return "cx.ticket.created" if created and created == modified else "cx.ticket.updated"


def _time(values: Mapping[str, str]) -> datetime:
    """When the record last changed: LastModifiedDate, SystemModstamp or CreatedDate, whichever was sent."""
    for name in ("LastModifiedDate", "SystemModstamp", "CreatedDate"):
        if values.get(name):
            return parse_time(values[name], name)
    return datetime.now(timezone.utc)


def _customer(kind: str, record_id: str, values: Mapping[str, str]) -> Customer:
    if kind == "Case":  # the case's contact, or what web-to-case collected
        return Customer(id=long_form(values.get("ContactId", "")),
                        email=as_email(values.get("ContactEmail")) or as_email(values.get("SuppliedEmail")),
                        name=as_text(values.get("SuppliedName")))
    if kind in CONTACT_LIKE:
        name = as_text(values.get("Name")) or as_text(" ".join(
            part for part in (values.get("FirstName"), values.get("LastName")) if part))
        return Customer(id=record_id, email=as_email(values.get("Email")), name=name)
    if kind == "Account":  # a person account carries the person's email
        return Customer(id=record_id, email=as_email(values.get("PersonEmail")), name=as_text(values.get("Name")))
    return Customer(id=None, email=as_email(values.get("Email")), name=as_text(values.get("Name")))
