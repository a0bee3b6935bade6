"""HubSpot's signatures: v3 checked end to end (401 and nothing stored for a bad one), v1 and v2 only when on.

The vectors are HubSpot's own: the v1 example of its request-validation guide, and the values its
Python client's tests pin for v1, v2 and v3.
"""

from __future__ import annotations

import time

import orjson
import pytest
import requests

import plugins.hubspot as hubspot
from plugins.hubspot.signatures import signed_uri, v1_signature, v2_signature, v3_signature
from tests.conftest import fixture_bytes
from tests.plugins.hubspot.hubspot_signing import CLIENT_SECRET, v1_headers, v2_headers, v3_headers

BATCH = fixture_bytes("hubspot/contact_batch.json")
DOCS_V1_BODY = fixture_bytes("hubspot/v1_example.json")


def config(**settings: object) -> str:
    extra = "".join(f"\n      {key}: {value}" for key, value in settings.items())
    return f"""
sources:
  hubspot:
    plugin: hubspot
    settings:
      client_secret: {{$env: HUBSPOT_CLIENT_SECRET}}{extra}
"""


@pytest.fixture
def make(make_hub):
    def build(**settings: object):
        return make_hub(config(**settings), plugins=[hubspot], env={"HUBSPOT_CLIENT_SECRET": CLIENT_SECRET})
    return build


@pytest.fixture
def hub(make):
    return make()


def refused(hub, response, words: str) -> None:
    assert response.status_code == 401, response.json
    assert words in response.json["error"]["message"]
    assert hub.store.reads.events() == [] and hub.store.quarantine.requests() == []
    assert CLIENT_SECRET not in response.get_data(as_text=True)


# --- the signers match HubSpot's published values -------------------------------------------------

def test_v1_matches_the_example_of_hubspots_validation_guide():
    assert v1_signature(CLIENT_SECRET, DOCS_V1_BODY) == \
        "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de"


def test_v1_v2_v3_match_the_values_hubspots_python_client_pins():
    body, url = b"{'example_field':'example_value'}", "https://www.example.com/webhook_uri"
    assert v1_signature(CLIENT_SECRET, body) == "69fc6631a867edd4f9e9e627fc5c1148e3fbdd8b21837b6d2b8901c1fa57f750"
    assert v2_signature(CLIENT_SECRET, "POST", url, body) == \
        "4fe4e3a7d3cf09db53be39d0a58130e2aaba074ec123a9e355b876a689a1c383"
    assert v2_signature(CLIENT_SECRET, "GET", url, b"") == \
        "eee2dddcc73c94d699f5e395f4b9d454a069a6855fbfa152e91e88823087200e"
    assert v3_signature(CLIENT_SECRET, "POST", url, body, "15000000") == "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw="


def test_the_uri_has_the_escapes_of_hubspots_table_decoded_and_no_others():
    assert signed_uri("https://h.example/hooks/hs?a=%3A%2f%3F%40%21%24%27%28%29%2A%2C%3B&b=%20%25") == \
        "https://h.example/hooks/hs?a=:/?@!$'()*,;&b=%20%25"


# --- v3 end to end --------------------------------------------------------------------------------

def test_a_signed_batch_is_accepted(hub):
    response = hub.post("hubspot", BATCH, v3_headers(BATCH))
    assert response.status_code == 202, response.json
    assert len(response.json["accepted"]) == 2


# Headers are built when the test runs, not at collection: a signature made minutes earlier is stale.
@pytest.mark.parametrize(("headers", "words"), [
    (lambda: v3_headers(BATCH, secret="another-app-secret"), "does not match"),
    (lambda: v3_headers(BATCH + b" "), "does not match"),  # the body changed after signing
    (lambda: v3_headers(BATCH, method="PUT"), "does not match"),
    (lambda: v3_headers(BATCH, url="http://localhost/hooks/other"), "does not match"),  # signed for another URI
    (lambda: v3_headers(BATCH, url="https://localhost/hooks/hubspot"), "does not match"),  # another scheme
    (lambda: {**v3_headers(BATCH), "X-HubSpot-Signature-v3": "not base64 at all"}, "does not match"),
    (lambda: {"X-HubSpot-Signature-v3": v3_headers(BATCH)["X-HubSpot-Signature-v3"]},
     "X-HubSpot-Request-Timestamp header is missing"),
    (lambda: {}, "X-HubSpot-Signature-v3 header is missing"),
])
def test_a_bad_signature_is_refused_and_nothing_is_stored(hub, headers, words):
    refused(hub, hub.post("hubspot", BATCH, headers()), words)


def test_a_timestamp_older_than_five_minutes_is_refused_even_when_signed(hub):
    old = int(time.time() * 1000) - 5 * 60 * 1000 - 2000
    refused(hub, hub.post("hubspot", BATCH, v3_headers(BATCH, timestamp_ms=old)), "HubSpot's limit is 5 minutes")


def test_a_timestamp_inside_the_five_minutes_is_accepted(hub):
    recent = int(time.time() * 1000) - 4 * 60 * 1000
    assert hub.post("hubspot", BATCH, v3_headers(BATCH, timestamp_ms=recent)).status_code == 202


@pytest.mark.parametrize("stamp", ["", "1700000000000.5", "-1", "１７００", "nan"])
def test_a_timestamp_that_is_not_milliseconds_is_refused(hub, stamp):
    headers = {**v3_headers(BATCH), "X-HubSpot-Request-Timestamp": stamp}
    response = hub.post("hubspot", BATCH, headers)
    assert response.status_code == 401 and hub.store.reads.events() == []


def test_the_query_string_is_signed_as_sent_with_the_tables_escapes_decoded(hub):
    path = "/hooks/hubspot?portal=62515&next=%2Fcx%3Fa%3Db&name=a%20b"
    signed_for = "http://localhost/hooks/hubspot?portal=62515&next=/cx?a%3Db&name=a%20b"  # %3D is not in the table
    response = hub.client.post(path, data=BATCH, content_type="application/json",
                               headers=v3_headers(BATCH, url=signed_for))
    assert response.status_code == 202, response.json


PUBLIC = "https://cx.example.com/crm/hubspot"


def test_behind_a_proxy_public_url_is_the_uri_hubspot_called(make):
    hub = make(public_url=PUBLIC)
    assert hub.post("hubspot", BATCH, v3_headers(BATCH, url=PUBLIC)).status_code == 202


def test_without_public_url_a_request_signed_for_the_public_url_is_refused_with_a_hint(hub):
    refused(hub, hub.post("hubspot", BATCH, v3_headers(BATCH, url=PUBLIC)), "set public_url")


def test_with_public_url_the_url_the_hub_sees_no_longer_verifies(make):
    hub = make(public_url=PUBLIC)
    refused(hub, hub.post("hubspot", BATCH, v3_headers(BATCH)), "does not match")


def test_public_url_takes_the_query_the_request_carries_unless_it_has_its_own(make):
    hub = make(public_url=PUBLIC)
    headers = v3_headers(BATCH, url=f"{PUBLIC}?portal=62515")
    assert hub.client.post("/hooks/hubspot?portal=62515", data=BATCH, content_type="application/json",
                           headers=headers).status_code == 202


def test_a_public_url_with_its_own_query_is_used_as_it_is(make):
    hub = make(public_url=f"'{PUBLIC}?portal=62515'")
    headers = v3_headers(BATCH, url=f"{PUBLIC}?portal=62515")
    assert hub.client.post("/hooks/hubspot?proxy=added", data=BATCH, content_type="application/json",
                           headers=headers).status_code == 202


def test_over_real_http_the_url_is_the_one_the_server_received(hub):
    base = hub.serve_embedded()
    url = f"{base}/hooks/hubspot?portal=62515"
    response = requests.post(url, data=BATCH, headers={"Content-Type": "application/json",
                                                       **v3_headers(BATCH, url=url)}, timeout=10)
    assert response.status_code == 202, response.text


# --- v1 and v2: only when the admin turns them on -------------------------------------------------

@pytest.mark.parametrize("headers", [v1_headers(BATCH), v2_headers(BATCH)])
def test_v1_and_v2_are_refused_by_default(hub, headers):
    refused(hub, hub.post("hubspot", BATCH, headers), "unless accept_legacy_signatures is on")


def test_v1_is_accepted_when_turned_on_as_hubspots_example_signs_it(make):
    hub = make(accept_legacy_signatures="true")
    headers = {"X-HubSpot-Signature": "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de",
               "X-HubSpot-Signature-Version": "v1"}
    response = hub.post("hubspot", DOCS_V1_BODY, headers)
    assert response.status_code == 202, response.json


def test_v2_is_accepted_when_turned_on_and_covers_the_uri(make):
    hub = make(accept_legacy_signatures="true")
    refused(hub, hub.post("hubspot", BATCH, v2_headers(BATCH, url="http://localhost/hooks/x")),
            "(v2) signature does not match")
    assert hub.post("hubspot", BATCH, v2_headers(BATCH)).status_code == 202


@pytest.mark.parametrize("version", ["v0", "v3", ""])
def test_an_unknown_legacy_version_is_refused(make, version):
    hub = make(accept_legacy_signatures="true")
    headers = {**v1_headers(BATCH), "X-HubSpot-Signature-Version": version}
    refused(hub, hub.post("hubspot", BATCH, headers), "must be v1 or v2")


def test_a_bad_v3_is_refused_even_with_a_good_v1_beside_it(make):
    hub = make(accept_legacy_signatures="true")
    headers = {**v1_headers(BATCH), **v3_headers(BATCH, secret="wrong")}
    refused(hub, hub.post("hubspot", BATCH, headers), "X-HubSpot-Signature-v3 signature does not match")


def test_signatures_and_the_secret_are_not_kept_with_a_quarantined_element(hub):
    body = b'[{"subscriptionType": "contact.creation"}]'
    response = hub.post("hubspot", body, v3_headers(body))
    assert response.status_code == 422
    [row] = hub.store.quarantine.requests()
    kept = {name.lower() for name in orjson.loads(row.headers)}
    assert "x-hubspot-signature-v3" not in kept and "x-hubspot-request-timestamp" in kept
