"""The SOAP side of Outbound Messaging: reading the envelope, writing it back, the Ack and the fault.

The envelope is the one Salesforce's Outbound Messaging WSDL defines: `soapenv:Envelope` /
`soapenv:Body` / `notifications` (namespace http://soap.sforce.com/2005/09/outbound) with
`OrganizationId`, `ActionId`, `SessionId` (nillable), `EnterpriseUrl`, `PartnerUrl` and 1 to 100
`Notification` elements, each an `Id` and an `sObject` (`xsi:type="sf:Contact"`, ...) whose
children are the fields the admin selected.
"""

from __future__ import annotations

import re
from typing import Iterable
from xml.etree import ElementTree
from xml.sax.saxutils import escape, quoteattr

from hub.plugin import InboundRequest, MalformedBody, Reply

SOAPENV = "http://schemas.xmlsoap.org/soap/envelope/"
OUTBOUND = "http://soap.sforce.com/2005/09/outbound"
SOBJECT = "urn:sobject.enterprise.soap.sforce.com"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XSI_TYPE = f"{{{XSI}}}type"
XSI_NIL = f"{{{XSI}}}nil"
MAX_NOTIFICATIONS = 100  # the WSDL's maxOccurs
XML_CONTENT_TYPE = "text/xml; charset=utf-8"

# The notificationsResponse of the WSDL: the only answer Salesforce takes as delivered.
ACK = (b'<?xml version="1.0" encoding="UTF-8"?>\n'
       b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">\n'
       b' <soapenv:Body>\n'
       b'  <notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound">\n'
       b'   <Ack>true</Ack>\n'
       b'  </notificationsResponse>\n'
       b' </soapenv:Body>\n'
       b'</soapenv:Envelope>\n')

_PREFIXES = {SOAPENV: "soapenv", SOBJECT: "sf", XSI: "xsi"}  # OUTBOUND is the default namespace
_SESSION_ID = re.compile(rb"<((?:[\w.-]+:)?)SessionId(?:\s[^>]*[^/>])?>.*?</(?:[\w.-]+:)?SessionId\s*>", re.DOTALL)


def ack() -> Reply:
    return Reply(status=200, body=ACK, content_type=XML_CONTENT_TYPE)


def fault(status: int, message: str, *, code: str = "soapenv:Client") -> Reply:
    """A SOAP 1.1 fault: Salesforce shows its faultstring as the delivery's failure reason."""
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<soapenv:Envelope xmlns:soapenv="{SOAPENV}">\n'
            ' <soapenv:Body>\n'
            '  <soapenv:Fault>\n'
            f'   <faultcode>{code}</faultcode>\n'
            f'   <faultstring>{escape(message)}</faultstring>\n'
            '  </soapenv:Fault>\n'
            ' </soapenv:Body>\n'
            '</soapenv:Envelope>\n')
    return Reply(status=status, body=body.encode(), content_type=XML_CONTENT_TYPE)


def read_envelope(request: InboundRequest) -> ElementTree.Element:
    """The `notifications` element; 400 (with a SOAP fault) for a body the core's safe parser refuses.

    `request.xml()` refuses DTDs (so entity declarations, entity expansion and external
    entities), XInclude and deep nesting; the body itself is bounded by `hub.max_body_bytes`.
    """
    try:
        root = request.xml()
    except MalformedBody as error:
        raise MalformedBody(error.message, reply=fault(400, error.message)) from None
    notifications = root.find(f"{{{SOAPENV}}}Body/{{{OUTBOUND}}}notifications")
    if root.tag != f"{{{SOAPENV}}}Envelope" or notifications is None:
        return ElementTree.Element("missing")
    count = len(notifications.findall(f"{{{OUTBOUND}}}Notification"))
    if count > MAX_NOTIFICATIONS:
        message = f"the message holds {count} notifications; Outbound Messages hold at most {MAX_NOTIFICATIONS}"
        raise MalformedBody(message, reply=fault(400, message))
    return notifications


def text_of(parent: ElementTree.Element, name: str, namespace: str = OUTBOUND) -> str | None:
    """The stripped text of a child element, None when absent, nil or empty."""
    child = parent.find(f"{{{namespace}}}{name}")
    if child is None or child.get(XSI_NIL) == "true":
        return None
    return (child.text or "").strip() or None


def envelope(header: Iterable[ElementTree.Element], notifications: Iterable[ElementTree.Element]) -> bytes:
    """An Outbound Message holding `notifications` after the `header` elements (OrganizationId, ...).

    Used for a batch element kept alone in quarantine and for the body the hub keeps: written
    with Salesforce's own prefixes, so it reads like the message it came from. A SessionId
    anywhere is written nil: the hub never keeps it.
    """
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n',
             f'<soapenv:Envelope xmlns:soapenv="{SOAPENV}" xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
             f'xmlns:xsi="{XSI}" xmlns:sf="{SOBJECT}">',
             f'<soapenv:Body><notifications xmlns="{OUTBOUND}">']
    for element in [*header, *notifications]:
        _write(element, parts)
    parts.append("</notifications></soapenv:Body></soapenv:Envelope>\n")
    return "".join(parts).encode()


def split(notifications: ElementTree.Element) -> tuple[list[ElementTree.Element], list[ElementTree.Element]]:
    """The header elements (OrganizationId, ActionId, SessionId, URLs) and the Notification elements."""
    header = [child for child in notifications if child.tag != f"{{{OUTBOUND}}}Notification"]
    return header, notifications.findall(f"{{{OUTBOUND}}}Notification")


def body_to_keep(body: bytes) -> bytes:
    """The body without its SessionId, a live API session of the org (what the hub may store or log).

    Most messages carry none (`<SessionId xsi:nil="true"/>`, "Send Session ID" unticked): they
    are kept byte for byte. One that carries it is written again without it. A body the safe
    parser refuses, or one without `notifications` (and so without the org's id), is refused
    before anything is stored (400, 401): only the plugin trace logs it, with its SessionId
    elements blanked textually.
    """
    try:
        root = InboundRequest(method="POST", path="", body=body, content_type="text/xml").xml()
    except MalformedBody:
        return _SESSION_ID.sub(rb"<\1SessionId/>", body)
    sessions = [element for element in root.iter() if _local(element.tag) == "SessionId"]
    if not any((element.text or "").strip() or len(element) for element in sessions):
        return body
    notifications = root.find(f"{{{SOAPENV}}}Body/{{{OUTBOUND}}}notifications")
    if notifications is None:
        return _SESSION_ID.sub(rb"<\1SessionId/>", body)
    return envelope(*split(notifications))


def _write(element: ElementTree.Element, parts: list[str]) -> None:
    name, declaration = _qualified(element.tag, "ns")
    if _local(element.tag) == "SessionId":
        parts.append(f"<{name} xsi:nil=\"true\"{' ' + declaration if declaration else ''}/>")
        return
    attributes = [declaration] if declaration else []
    for position, (key, value) in enumerate(element.attrib.items()):
        attribute, attribute_declaration = _qualified(key, f"a{position}")
        if attribute_declaration:
            attributes.append(attribute_declaration)
        attributes.append(f"{attribute}={quoteattr(value)}")
    opening = " ".join([name, *attributes])
    if not len(element) and not element.text:
        parts.append(f"<{opening}/>")
    else:
        parts.append(f"<{opening}>{escape(element.text or '')}")
        for child in element:
            _write(child, parts)
        parts.append(f"</{name}>")
    if element.tail and element.tail.strip():
        parts.append(escape(element.tail))


def _qualified(tag: str, prefix: str) -> tuple[str, str | None]:
    """`prefix:local` for a `{namespace}local` name, and the declaration it needs when not a known one."""
    if not tag.startswith("{"):
        return tag, None
    namespace, local = tag[1:].split("}", 1)
    if namespace == OUTBOUND:
        return local, None
    if namespace in _PREFIXES:
        return f"{_PREFIXES[namespace]}:{local}", None
    return f"{prefix}:{local}", f"xmlns:{prefix}={quoteattr(namespace)}"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]
