"""The salesforce source: real Outbound Messages in, events and the SOAP Ack out; every refusal stores nothing."""

from __future__ import annotations

import logging
import re
from xml.etree import ElementTree

import orjson
import pytest

import plugins.salesforce as salesforce
from hub.config import ConfigError
from hub.config.loader import parse_config
from hub.pluginhost import PluginHost, build_plugin_manager
from hub.plugin import InboundRequest, Source
from hub.testing import assert_valid_event
from plugins.salesforce import inbound
from tests.plugins.salesforce.conftest import (
    ACK,
    CASE,
    CASE_ORG,
    CASES,
    CONTACT,
    CONTACT_ORG,
    HOOK,
    LEAD,
    SESSION_MARK,
    SOAP_TYPE,
    post_soap,
    salesforce_hub,
    source_config,
)

FAULT = re.compile(rb"<soapenv:Fault>\s*<faultcode>soapenv:Client</faultcode>\s*<faultstring>(.*)</faultstring>",
                   re.DOTALL)


def events_of(hub) -> list[dict]:
    return [orjson.loads(row.body) for row in hub.store.reads.events()]


def nothing_stored(hub) -> bool:
    return hub.store.reads.events() == [] and hub.store.quarantine.requests(status=None) == []


def test_a_captured_contact_message_becomes_its_event_and_is_acknowledged(contact_hub):
    response = post_soap(contact_hub, CONTACT)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == SOAP_TYPE
    assert response.data == ACK
    [event] = events_of(contact_hub)
    assert_valid_event(event)
    assert event["type"] == "cx.contact.updated"
    assert event["subject"] == "003n000000NOtUbAAL"
    assert event["time"] == "2017-11-03T17:24:20Z"  # LastModifiedDate
    data = event["data"]
    assert data["vendor_event_id"] == "04ln0000009JvY4AAK"  # the Notification Id
    assert data["customer"] == {"id": "003n000000NOtUbAAL", "email": "kxxxxxxxxxic@gmail.com", "name": "KYLE JONES"}
    assert data["link"] == {"system": "salesforce", "id": "003n000000NOtUbAAL", "type": "Contact",
                            "url": "https://mep--ghindev.cs30.my.salesforce.com/003n000000NOtUbAAL"}
    attributes = data["attributes"]
    assert attributes["sobject"] == "Contact" and attributes["action_id"] == "04kn000000000m5AAA"
    assert attributes["External_Id__c"] == "G-208230" and attributes["AccountId"] == "001n000000KABYLAA5"
    assert attributes["npo02__Formula_HouseholdMailingAddress__c"] == "<br>"  # entities of the XML decoded
    assert SESSION_MARK.decode() not in str(event)


def test_the_ack_is_the_notifications_response_of_the_wsdl():
    envelope = ElementTree.fromstring(ACK)
    soapenv, outbound = "http://schemas.xmlsoap.org/soap/envelope/", "http://soap.sforce.com/2005/09/outbound"
    assert envelope.tag == f"{{{soapenv}}}Envelope"
    [body] = envelope
    [answer] = body
    assert answer.tag == f"{{{outbound}}}notificationsResponse"
    [ack] = answer
    assert (ack.tag, ack.text) == (f"{{{outbound}}}Ack", "true")


def test_a_lead_becomes_a_contact_update(make_hub):
    hub = salesforce_hub(make_hub, source_config("00Do0000000e0vQ"))  # the 15-character form of the org id
    assert post_soap(hub, LEAD).data == ACK
    [event] = events_of(hub)
    assert event["type"] == "cx.contact.updated"
    assert event["data"]["link"]["type"] == "Lead"
    assert event["data"]["customer"] == {"id": "00Q1N00000bS2eOUAS", "email": "kflores@tebca.com",
                                         "name": "Kevin Flores"}
    assert event["data"]["attributes"]["Status"] == "Abierto"


def test_cases_are_created_or_updated_tickets_by_their_dates(case_hub):
    assert post_soap(case_hub, CASES).data == ACK
    by_id = {event["subject"]: event for event in events_of(case_hub)}
    created, updated = by_id["5007000000OFL6AAAX"], by_id["5007000000OFL5FAAX"]
    assert created["type"] == "cx.ticket.created"  # CreatedDate == LastModifiedDate
    assert updated["type"] == "cx.ticket.updated"
    assert updated["time"] == "2026-11-30T09:14:02Z"
    assert created["data"]["text"] == "The export to CSV fails with a timeout since Monday."
    assert created["data"]["customer"] == {"id": "0037000000xicp7AAA", "email": "ann.lee@example.com", "name": None}
    assert created["data"]["attributes"]["Priority"] == "High"
    assert "SuppliedEmail" not in created["data"]["attributes"]  # nil fields are left out
    for event in by_id.values():
        assert_valid_event(event)


def test_a_case_without_its_dates_is_an_update(case_hub):
    assert post_soap(case_hub, CASE).data == ACK
    [event] = events_of(case_hub)
    assert event["type"] == "cx.ticket.updated"
    assert event["data"]["customer"]["id"] == "0037000000xicp7AAA"


def test_a_resent_message_is_a_duplicate_and_acknowledged_again(case_hub):
    assert post_soap(case_hub, CASES).data == ACK
    again = post_soap(case_hub, CASES)
    assert (again.status_code, again.data) == (200, ACK)
    assert len(case_hub.store.reads.events()) == 2


def test_the_ack_waits_for_the_intake_log_with_accept_into_redis(make_hub):
    hub = salesforce_hub(make_hub, source_config(CONTACT_ORG, head="hub: {accept_into: redis}\n"))
    assert post_soap(hub, CONTACT).data == ACK
    [(_, fields)] = hub.hub.redis.xrange(hub.hub.intake.key)
    assert SESSION_MARK not in b"".join(fields.values())  # the SessionId never reaches Redis
    assert hub.store.reads.events() == []
    hub.drain()
    [event] = events_of(hub)
    assert event["data"]["vendor_event_id"] == "04ln0000009JvY4AAK"


@pytest.mark.parametrize("org", ["00D70000000IVNpEAO", "00DN00000008Y2T", "00Dn00000008y2tEAB", ""])
def test_a_message_of_another_org_is_refused_with_a_soap_fault(make_hub, org):
    hub = salesforce_hub(make_hub, source_config(CONTACT_ORG))
    body = CONTACT.replace(b"<OrganizationId>00Dn00000008y2tEAA</OrganizationId>",
                           f"<OrganizationId>{org}</OrganizationId>".encode())
    response = post_soap(hub, body)
    assert response.status_code == 401
    assert response.headers["Content-Type"] == SOAP_TYPE
    [message] = FAULT.findall(response.data)
    assert b"is not the org of source 'salesforce'" in message
    assert nothing_stored(hub)


def test_the_18_character_org_id_matches_its_15_character_form(make_hub):
    hub = salesforce_hub(make_hub, source_config("00Dn00000008y2t"))
    assert post_soap(hub, CONTACT).data == ACK
    short = salesforce_hub(make_hub, source_config(CONTACT_ORG))
    body = CONTACT.replace(b"00Dn00000008y2tEAA</OrganizationId>", b"00Dn00000008y2t</OrganizationId>")
    assert post_soap(short, body).data == ACK


def test_a_message_without_the_source_token_is_refused(contact_hub):
    response = post_soap(contact_hub, CONTACT, hook="salesforce")
    assert response.status_code == 401
    assert response.json["error"]["code"] == "invalid_token"
    assert nothing_stored(contact_hub)


def test_a_source_needs_a_token_unless_a_proxy_checks_the_client_certificate(make_hub):
    bare = "sources:\n  salesforce:\n    plugin: salesforce\n    settings: {organization_id: 00Dn00000008y2t%s}\n"
    host = PluginHost(build_plugin_manager([salesforce], discover=False))
    with pytest.raises(ConfigError, match="token"):
        parse_config(bare % "", "cxhub.yaml", host, {})
    with pytest.raises(ConfigError, match="organization id is 15 or 18"):
        parse_config(bare.replace("00Dn00000008y2t", "00Dn00000008y2tEAB") % "", "cxhub.yaml", host, {})
    hub = salesforce_hub(make_hub, bare % ", client_certificate_checked: true")
    assert post_soap(hub, CONTACT, hook="salesforce").data == ACK


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>
<notifications xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId>&lol2;</OrganizationId>
</notifications></soapenv:Body></soapenv:Envelope>"""
XXE = CONTACT.replace(b'<?xml version="1.0" encoding="UTF-8"?>',
                      b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                      ).replace(b"<sf:FirstName>KYLE</sf:FirstName>", b"<sf:FirstName>&x;</sf:FirstName>")
DTD_ONLY = CONTACT.replace(b'<?xml version="1.0" encoding="UTF-8"?>',
                           b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE soapenv:Envelope SYSTEM '
                           b'"http://127.0.0.1:9/evil.dtd">')
XINCLUDE = CONTACT.replace(b"<sf:FirstName>KYLE</sf:FirstName>",
                           b'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file:///etc/passwd"/>')


@pytest.mark.parametrize("body, why", [
    (b"Id=04ln0000009JvY4AAK&OrganizationId=00Dn00000008y2tEAA", "not valid XML"),
    (CONTACT[:-200], "not valid XML"),
    (BILLION_LAUGHS, "document type declaration"),
    (XXE, "document type declaration"),
    (DTD_ONLY, "document type declaration"),
    (XINCLUDE, "XInclude"),
], ids=["form", "truncated", "billion-laughs", "xxe", "external-dtd", "xinclude"])
def test_bodies_that_are_not_safe_xml_are_refused_with_400(contact_hub, body, why):
    response = post_soap(contact_hub, body)
    assert response.status_code == 400
    assert response.headers["Content-Type"] == SOAP_TYPE
    [message] = FAULT.findall(response.data)
    assert why.encode() in message
    assert nothing_stored(contact_hub)


def test_more_than_100_notifications_are_refused(contact_hub):
    notification = re.search(rb"<Notification>.*</Notification>", CONTACT, re.DOTALL).group(0)
    body = CONTACT.replace(notification, notification * 101)
    response = post_soap(contact_hub, body)
    assert response.status_code == 400
    assert b"101 notifications; Outbound Messages hold at most 100" in FAULT.findall(response.data)[0]
    assert nothing_stored(contact_hub)


def test_a_body_over_the_hubs_limit_is_refused_before_it_is_read(make_hub):
    hub = salesforce_hub(make_hub, source_config(CONTACT_ORG, head="hub: {max_body_bytes: 4096}\n"))
    response = post_soap(hub, CONTACT)  # about 9 KB
    assert response.status_code == 413
    assert nothing_stored(hub)


def test_a_broken_notification_is_quarantined_alone_and_the_rest_acknowledged(case_hub):
    broken = CASES.replace(b"<sf:Id>5007000000OFL5FAAX</sf:Id>", b"<sf:Id>not-an-id</sf:Id>")
    with_session = broken.replace(b'<SessionId xsi:nil="true"/>',
                                  b"<SessionId>00D70000000IVNp!AR" + SESSION_MARK + b"</SessionId>")
    response = post_soap(case_hub, with_session)
    assert response.data == ACK  # the broken one is kept in quarantine: Salesforce need not resend it
    [event] = events_of(case_hub)
    assert event["subject"] == "5007000000OFL6AAAX"
    [kept] = case_hub.store.quarantine.requests()
    assert "Notification[1]: Notification 04l7000000DjbKlAAJ: the Case has no valid Id field" in kept.error
    assert SESSION_MARK not in kept.body
    alone = ElementTree.fromstring(kept.body)  # an Outbound Message holding that notification alone
    outbound = "{http://soap.sforce.com/2005/09/outbound}"
    notifications = alone.find(f"{{http://schemas.xmlsoap.org/soap/envelope/}}Body/{outbound}notifications")
    assert [n.findtext(f"{outbound}Id") for n in notifications.iter(f"{outbound}Notification")] == [
        "04l7000000DjbKlAAJ"]
    assert notifications.findtext(f"{outbound}OrganizationId") == CASE_ORG
    assert post_soap(case_hub, with_session).data == ACK  # a resend: one quarantine entry, one event
    assert len(case_hub.store.quarantine.requests()) == 1 and len(case_hub.store.reads.events()) == 1


def test_the_session_id_is_never_stored_nor_logged(make_hub, monkeypatch, caplog):
    monkeypatch.setenv("CXHUB_TRACE_PLUGINS", "1")  # the plugin trace logs every request it is given
    hub = salesforce_hub(make_hub, source_config(CASE_ORG))
    caplog.set_level(logging.DEBUG)
    assert post_soap(hub, CASE).data == ACK
    not_a_message = CASE.replace(b"<Notification>", b"<Other>").replace(b"</Notification>", b"</Other>")
    refused = post_soap(hub, not_a_message)  # no Notification: the whole request is quarantined
    assert refused.status_code == 422
    [kept] = hub.store.quarantine.requests()
    assert SESSION_MARK not in kept.body and b"SessionId" in kept.body
    [event] = hub.store.reads.events()
    assert SESSION_MARK.decode() not in event.body
    assert caplog.records and SESSION_MARK.decode() not in caplog.text
    assert "call cxhub_parse_request" in caplog.text


def test_a_quarantined_message_replays_from_what_was_kept(case_hub):
    from hub.operations import replay_quarantined

    broken = CASE.replace(b'xsi:type="sf:Case" ', b"")
    assert post_soap(case_hub, broken).data == ACK
    [kept] = case_hub.store.quarantine.requests()
    assert "the sObject has no xsi:type" in kept.error
    fixed = kept.body.replace(b"<sObject>", b'<sObject xsi:type="sf:Case">')
    case_hub.store.quarantine.keep(source="salesforce", method="POST", content_type="text/xml", headers={},
                                   query={}, body=fixed, error="fixed by hand", max_rows=10, quarantine_id="q-fixed")
    with case_hub.app.app_context():
        outcome = replay_quarantined(case_hub.hub, "q-fixed")
    assert len(outcome.accepted) == 1
    assert events_of(case_hub)[0]["subject"] == "5007000000OFL5FAAX"


def test_the_org_check_compares_15_character_forms_with_case():
    request = InboundRequest(method="POST", path="/hooks/salesforce", body=CONTACT, content_type="text/xml")
    inbound.verify(Source("salesforce", "salesforce", {"organization_id": "00Dn00000008y2t"}), request)
    inbound.verify(Source("salesforce", "salesforce", {"organization_id": "00Dn00000008y2teaa"}), request)
    with pytest.raises(Exception, match="is not the org"):
        inbound.verify(Source("salesforce", "salesforce", {"organization_id": "00DN00000008Y2T"}), request)


def test_hook_url_carries_the_token():
    assert HOOK.startswith("salesforce?token=")


def test_what_is_kept_of_a_message_with_a_session_parses_to_the_same_events():
    from plugins.salesforce import soap

    source = Source("salesforce", "salesforce", {"organization_id": CONTACT_ORG})
    kept = soap.body_to_keep(CONTACT)
    assert SESSION_MARK not in kept and b'<SessionId xsi:nil="true"/>' in kept
    def parse(body: bytes) -> list:
        return inbound.parse(source, InboundRequest(method="POST", path="/hooks/salesforce", body=body,
                                                    content_type="text/xml")).events

    assert parse(kept) == parse(CONTACT)  # the Contact carries its LastModifiedDate: the same drafts
    assert soap.body_to_keep(LEAD) == LEAD  # no session: kept byte for byte
    assert soap.body_to_keep(b"<SessionId a='1'>live</SessionId><broken") == b"<SessionId/><broken"
