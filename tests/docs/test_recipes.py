"""docs/recipes/: every config loads through the real loader, and every curl example, run as written, gets 202.

Each page pairs its YAML blocks with its `sh` blocks in order. The test serves a hub built
from the YAML over real HTTP and runs the shell block with bash (openssl and curl, as a user
would), then reads the canonical event the hub stored. A recipe with a `forward` connection
(the CRM and ERP pages) is then run through the delivery worker: its event must reach a
pytest-httpserver receiver once, signed per Standard Webhooks with the connection's secret.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import orjson
import pytest

import plugins.webhook as webhook
from hub.plugin import verify_standard_webhook
from hub.testing import assert_valid_event
from tests.conftest import WHSEC

ROOT = Path(__file__).resolve().parents[2]
RECIPES = ROOT / "docs" / "recipes"
BLOCK = re.compile(r"^```(yaml|sh)\n(.*?)^```$", re.MULTILINE | re.DOTALL)

# What each vendor's secret or token is in the test environment.
ENV = {"WOOTRIC_SECRET": "wootric-webhook-secret-for-tests", "ASKNICELY_TOKEN": "asknicely-token-0f3a9c61d2",
       "MEDALLIA_TOKEN": "medallia-token-7be4051a98", "DYNAMICS_TOKEN": "dynamics-token-5c1e22b0f7",
       "SAP_TOKEN": "sap-token-93ad7e4b10", "ORACLE_TOKEN": "oracle-token-2f68c0d9a4",
       "CONTACT_SYNC_SECRET": WHSEC, "PARTNER_SYNC_SECRET": WHSEC}
RECEIVER = "/receiver"  # where the forward connections of the CRM and ERP recipes deliver, in the test

WOOTRIC = {"type": "cx.survey.response", "customer": {"id": "123abc", "email": "nps@example.com", "name": None},
           "score": {"type": "nps", "value": 7, "min": 0, "max": 10, "band": "neutral"},
           "text": "Setup took longer than we hoped.",
           "link": {"system": "wootric", "id": "1128", "url": None, "type": "response"},
           "attributes": {"survey_id": "1146", "pricing_plan": "Enterprise"}, "time": "2016-08-04T20:57:26"}
EXPECTED = {
    ("wootric", 0): {**WOOTRIC, "vendor_event_id": "1128:2016-08-04T13:57:26.558-07:00"},
    ("wootric", 1): {**WOOTRIC, "vendor_event_id": "1128:2016-08-04 13:57:26 -0700"},
    ("asknicely", 0): {
        "type": "cx.survey.response", "vendor_event_id": "345094:1", "time": "2026-03-31T20:48:45",
        "customer": {"id": "163012", "email": "tester@asknice.ly", "name": "Firstname Lastname"},
        "score": {"type": "nps", "value": 10, "min": 0, "max": 10, "band": "positive"},
        "text": "The gym was great, love it!",
        "link": {"system": "asknicely", "id": "345094", "url": None, "type": "response"},
        "attributes": {"segment": "general", "delivery_method": "email"}},
    ("medallia", 0): {
        "type": "cx.survey.response", "vendor_event_id": "884213907", "time": "2026-11-30T16:05:12",
        "customer": {"id": "C-20931", "email": "jo.smith@example.com", "name": "Jo Smith"},
        "score": {"type": "nps", "value": 3, "min": 0, "max": 10, "band": "negative"},
        "text": "Waited forty minutes and nobody called back.",
        "link": {"system": "medallia", "id": "884213907", "url": None, "type": "survey"},
        "attributes": {"survey_type": "Transactional", "unit": "Support - EMEA"}},
    ("dynamics365", 0): {
        "type": "cx.contact.updated", "vendor_event_id": "4af10637-4ea2-e711-8122-000d3aa2331c", "time": "",
        "customer": {"id": "6d81597f-0f9f-e711-8122-000d3aa2331c", "email": None, "name": None},
        "score": None, "text": None,
        "link": {"system": "dynamics365", "id": "6d81597f-0f9f-e711-8122-000d3aa2331c", "url": None, "type": "contact"},
        "attributes": {"message": "Update", "table": "contact", "organization": "OrgName",
                       "correlation_id": "b374239d-4233-41a9-8b17-a86cb4f737b5",
                       "changed_by": "75c2dd85-e89e-e711-8122-000d3aa2331c"}},
    ("sap", 0): {
        "type": "cx.contact.updated", "vendor_event_id": "194780e0-b5db-1ede-b58a-4550178dff9e",
        "time": "2024-02-26T02:53:06",
        "customer": {"id": "1000667", "email": None, "name": None}, "score": None, "text": None,
        "link": {"system": "sap-s4hana", "id": "1000667", "url": None, "type": "business_partner"},
        "attributes": {"sap_type": "sap.s4.beh.businesspartner.v1.BusinessPartner.Changed.v1",
                       "sap_source": "/default/sap.s4.beh/244572008"}},
    ("oracle", 0): {
        "type": "cx.contact.updated", "vendor_event_id": "ContactUpdated:300000182734216:2026-11-30T16:12:40Z",
        "time": "2026-11-30T16:12:40",
        "customer": {"id": "300000182734216", "email": "ana.ruiz@example.com", "name": "Ana Ruiz"},
        "score": None, "text": None,
        "link": {"system": "oracle-cx-sales", "id": "CDRM_392114", "url": None, "type": "contact"},
        "attributes": {"event": "ContactUpdated"}},
}


def examples() -> list[tuple[str, int, str, str]]:
    """(vendor, position, yaml, sh) for every recipe page."""
    found = []
    for page in sorted(RECIPES.glob("*.md")):
        blocks = BLOCK.findall(page.read_text(encoding="utf-8"))
        configs = [text for kind, text in blocks if kind == "yaml"]
        commands = [text for kind, text in blocks if kind == "sh"]
        assert len(configs) == len(commands), f"{page.name}: each YAML block needs its curl example"
        found += [(page.stem, position, config, command)
                  for position, (config, command) in enumerate(zip(configs, commands))]
    return found


EXAMPLES = examples()


def test_every_example_has_its_expected_event_and_every_vendor_a_page():
    assert {(vendor, position) for vendor, position, _, _ in EXAMPLES} == set(EXPECTED)
    assert {"wootric", "asknicely", "medallia", "dynamics365", "sap", "oracle"} <= {vendor for vendor, _, _, _ in EXAMPLES}
    index = (RECIPES / "README.md").read_text(encoding="utf-8")
    assert all(f"({vendor}.md)" in index for vendor, _, _, _ in EXAMPLES)


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("openssl")), reason="needs curl and openssl")
@pytest.mark.parametrize(("vendor", "position", "config", "command"), EXAMPLES,
                         ids=[f"{vendor}-{position}" for vendor, position, _, _ in EXAMPLES])
def test_the_recipe_loads_and_its_signed_example_is_accepted(make_hub, httpserver, vendor, position, config, command):
    httpserver.expect_request(RECEIVER, method="POST").respond_with_data("")
    receiver = {"CONTACT_SYNC_URL": httpserver.url_for(RECEIVER), "PARTNER_SYNC_URL": httpserver.url_for(RECEIVER)}
    hub = make_hub(config, plugins=[webhook], env={**ENV, **receiver})
    base = hub.serve()
    run = subprocess.run(["bash", "-euo", "pipefail", "-c", command], cwd=ROOT, capture_output=True, text=True,
                         timeout=60, env={"PATH": os.environ["PATH"], "HUB": base, **ENV})
    assert run.returncode == 0, run.stderr
    status_line, _, rest = run.stdout.partition("\n")
    assert " 202 " in status_line, run.stdout
    [event_id] = orjson.loads(rest.split("\n\n", 1)[1])["accepted"]  # text mode: \r\n read as \n
    event = orjson.loads(hub.store.reads.event(event_id).body)
    assert_valid_event(event)
    expected = dict(EXPECTED[(vendor, position)])
    assert event["type"] == expected.pop("type")
    assert event["time"].startswith(expected.pop("time"))
    assert {key: event["data"][key] for key in expected} == expected
    for secret in ENV.values():  # the token is dropped from what the hub keeps
        assert secret not in repr(hub.store.reads.event(event_id))
    hub.drain()
    forwarded = [request for request, _ in httpserver.log if request.path == RECEIVER]
    if "connections:" not in config:
        assert forwarded == []
        return
    [request] = forwarded  # the route ran once, through the signed forward action
    verify_standard_webhook(WHSEC, request.get_data(), dict(request.headers))  # raises unless signed with it
    assert request.headers["Content-Type"].startswith("application/cloudevents+json")
    assert orjson.loads(request.get_data()) == event


def test_a_recipe_rejects_a_request_signed_otherwise(make_hub):
    """The Wootric recipe really checks: the same request with a wrong secret gets 401, without a token too."""
    vendor, _, config, command = EXAMPLES[[e[0] for e in EXAMPLES].index("wootric")]
    hub = make_hub(config, plugins=[webhook], env=ENV)
    run = subprocess.run(["bash", "-euo", "pipefail", "-c", command], cwd=ROOT, capture_output=True, text=True,
                         timeout=60, env={"PATH": os.environ["PATH"], "HUB": hub.serve(),
                                          **ENV, "WOOTRIC_SECRET": "another-secret"})
    assert " 401 " in run.stdout.partition("\n")[0], run.stdout
    assert hub.store.reads.events() == []
