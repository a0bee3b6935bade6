"""Salesforce test helpers: a hub with the salesforce source, and Outbound Messages posted as Salesforce posts them."""

from __future__ import annotations

import pytest

import plugins.salesforce as salesforce
import plugins.webhook as webhook
from tests.conftest import WHSEC, fixture_bytes

SOURCE_TOKEN = "sf-source-token-9c2f41d7"  # Salesforce signs nothing: the endpoint URL it calls carries this
HOOK = f"salesforce?token={SOURCE_TOKEN}"
SOAP_TYPE = "text/xml; charset=utf-8"  # what Salesforce's Outbound Messaging sends
ACK = fixture_bytes("salesforce/ack.xml")
CONTACT = fixture_bytes("salesforce/outbound_contact.xml")
LEAD = fixture_bytes("salesforce/outbound_lead.xml")
CASE = fixture_bytes("salesforce/outbound_case.xml")
CASES = fixture_bytes("salesforce/outbound_cases.xml")
CONTACT_ORG = "00Dn00000008y2tEAA"
CASE_ORG = "00D70000000IVNpEAO"
SESSION_MARK = b"EXAMPLEsessionIdNotARealOne"  # in the SessionId of the CONTACT and CASE fixtures


def source_config(org: str = CONTACT_ORG, *, head: str = "") -> str:
    return head + f"""
sources:
  salesforce:
    plugin: salesforce
    token: {{$env: SF_SOURCE_TOKEN}}
    settings: {{organization_id: "{org}"}}
"""


def salesforce_hub(make_hub, config: str, **kwargs):
    env = {"SF_SOURCE_TOKEN": SOURCE_TOKEN, "APP_SECRET": WHSEC, **kwargs.pop("env", {})}
    return make_hub(config, plugins=[salesforce, webhook], env=env, **kwargs)


def post_soap(hub, body: bytes, hook: str = HOOK):
    """POST an Outbound Message with the headers of the captured one (see SOURCES.md)."""
    return hub.post(hook, body, {"Accept-Encoding": "gzip", "User-Agent": "Jakarta Commons-HttpClient/3.1"},
                    content_type=SOAP_TYPE)


@pytest.fixture
def contact_hub(make_hub):
    return salesforce_hub(make_hub, source_config(CONTACT_ORG))


@pytest.fixture
def case_hub(make_hub):
    return salesforce_hub(make_hub, source_config(CASE_ORG))


from tests.faults.conftest import start_process  # noqa: E402,F401  (a fixture: real `cxhub` processes)
