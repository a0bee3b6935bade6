"""The bad-input catalogue: every kind of bad request or config, its clear answer, and proof that it
changed nothing and left the hub up.

HTTP cases go to a running hub with a Typeform source (HMAC over the raw body), a Standard
Webhooks source (timestamped) and an XML source (a token). After each one: nothing stored (a
422 keeps exactly one quarantine entry, for replay), and a correct signed request still gets
202. Floods of bad requests leave the quarantine bounded: a resent request is kept once, and
past hub.quarantine_max_rows new ones are dropped and counted. Hostile text against
catastrophic route patterns goes to a real `cxhub serve`, so a hang shows as a timeout.
Config cases go through the real loader and name file, line, key path and what is wrong.
Template cases are refused by check-config, or fail the one delivery with a clear error.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

import orjson
import pytest
import requests
from click.testing import CliRunner

import plugins.jira as jira
import plugins.slack as slack
import plugins.typeform as typeform
import plugins.webhook as webhook
from hub.cli import main
from hub.config import ConfigError, parse_config
from hub.plugin import EventDraft, InvalidSignature, Link, PluginInfo, SourceInfo, UnrecognizedPayload, hookimpl
from hub.plugin.request import MAX_XML_DEPTH
from hub.pluginhost import PluginHost, build_plugin_manager
from hub.plugin import signed_message
from hub.testing import build_test_hub, hmac_signature, sign_standard_webhook, wait_for
from tests.conftest import WHSEC, detractor, fixture_bytes, forward_everything, send

TF_SECRET = "typeform-secret-for-tests"
SAMPLE = fixture_bytes("typeform/form_response.json")
LIMIT = 64 * 1024
CONFIG = f"""
hub: {{max_body_bytes: {LIMIT}}}
sources:
  typeform:
    plugin: typeform
    settings: {{secret: {{$env: TF_SECRET}}}}
  app:
    plugin: webhook
    settings:
      secret: {{$env: APP_SECRET}}
      mapping: {{object_id: response.id, score: response.score, customer_email: customer.email}}
      score_scale: {{type: nps, min: 0, max: 10}}
  vendor:
    plugin: webhook
    token: {{$env: VENDOR_TOKEN}}
    settings:
      secret: {{$env: VENDOR_SECRET}}
      signature: {{scheme: hmac, header: X-Signature, prefix: "sha256=", signed: "{{timestamp}}.{{body}}",
                  timestamp_header: X-Timestamp}}
      mapping: {{object_id: response.id, event_id: response.id}}
  vendorform:
    plugin: webhook
    settings:
      secret: {{$env: VENDOR_SECRET}}
      body: form
      signature: {{scheme: hmac, header: X-Signature}}
      mapping: {{object_id: response.id, event_id: response.id}}
connections:
  out:
    plugin: webhook
    settings: {{url: "http://127.0.0.1:9/unused", secret: {{$env: APP_SECRET}}}}
routes:
  - name: everything
    actions: [{{connection: out, action: forward}}]
"""
VENDOR_SECRET = "vendor-hmac-secret-for-tests"
VENDOR_TOKEN = "vendor-source-token-8d1e"


def typeform_signature(body: bytes, secret: str = TF_SECRET) -> dict[str, str]:
    return {"Typeform-Signature": "sha256=" + hmac_signature(secret, body, encoding="base64")}


def standard_webhook(body: bytes, msg_id: str = "msg_cat", timestamp: int | None = None) -> dict[str, str]:
    return sign_standard_webhook(WHSEC, msg_id, body, timestamp=timestamp)


def vendor_signed(body: bytes, secret: str = VENDOR_SECRET, timestamp: int | None = None) -> dict[str, str]:
    """The `vendor` source's scheme: X-Signature: sha256=hex(HMAC over "{timestamp}.{body}")."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {"X-Timestamp": stamp,
            "X-Signature": "sha256=" + hmac_signature(secret, signed_message("{timestamp}.{body}", body=body,
                                                                              timestamp=stamp))}


@dataclass(frozen=True)
class Bad:
    """One bad request: where it goes, what it carries, and the answer it must get."""

    source: str
    body: bytes
    headers: Callable[[bytes], dict[str, str]] = field(default=lambda body: typeform_signature(body))
    content_type: str = "application/json"
    status: int = 400
    code: str = "malformed_body"
    method: str = "POST"
    environ: dict[str, str] = field(default_factory=dict)  # e.g. a CONTENT_LENGTH that lies


class XmlSurvey:
    """A source that takes XML (`<response><id>...</id></response>`), behind a shared token."""

    TOKEN = {"X-Survey-Token": "catalogue-token"}

    @staticmethod
    @hookimpl
    def cxhub_plugin_info() -> PluginInfo:
        return PluginInfo(name="xmlsurvey", version="1.0", source=SourceInfo())

    @staticmethod
    @hookimpl
    def cxhub_verify_request(source, request) -> None:
        if request.header("X-Survey-Token") != "catalogue-token":
            raise InvalidSignature("the X-Survey-Token header is missing or wrong")

    @staticmethod
    @hookimpl
    def cxhub_parse_request(source, request) -> list[EventDraft]:
        response_id = request.xml().findtext("id")
        if not response_id:
            raise UnrecognizedPayload("the XML has no <id>")
        return [EventDraft(type="cx.survey.response", vendor_event_id=response_id,
                           time=datetime.now(timezone.utc), link=Link(system="xmlsurvey", id=response_id))]


def xml_case(body: bytes, **kwargs) -> Bad:
    return Bad("survey", body, **{"headers": lambda body: XmlSurvey.TOKEN, "content_type": "application/xml",
                                  **kwargs})


XML_LAUGHS = b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">' + b"".join(
    b'<!ENTITY %s "%s">' % (bytes([97 + level]), (b"&" + bytes([96 + level]) + b";") * 10) for level in range(1, 9)
) + b"]><response><id>&i;</id></response>"
XML_QUADRATIC = (b'<!DOCTYPE response [<!ENTITY x "' + b"x" * 20_000 + b'">]><response><id>'
                 + b"&x;" * 10_000 + b"</id></response>")  # under the body limit, 200 MB once expanded
XML_DEEP = b"<response>" + b"<a>" * (MAX_XML_DEPTH + 1) + b"</a>" * (MAX_XML_DEPTH + 1) + b"<id>1</id></response>"
APP_GOOD = orjson.dumps({"response": {"id": 7, "score": 3}, "customer": {"email": "ann@example.com"}})
DEEP = b"[" * 100_000 + b"]" * 100_000

HTTP_CASES = {
    "malformed-json": Bad("typeform", b'{"event_id": "01", "form_response": '),
    "truncated-json": Bad("typeform", SAMPLE[: len(SAMPLE) // 2]),
    "empty-body": Bad("typeform", b""),
    "not-an-object": Bad("typeform", b"[1, 2, 3]", status=422, code="unrecognized_payload"),
    "json-null": Bad("typeform", b"null", status=422, code="unrecognized_payload"),
    "invalid-utf8": Bad("typeform", b'{"event_id": "\xff\xfe"}'),
    "deep-nesting": Bad("typeform", DEEP, status=413, code="body_too_large"),
    "deep-nesting-within-limit": Bad("typeform", b"[" * 20_000 + b"]" * 20_000),
    "huge-number": Bad("typeform", b'{"event_id": 1' + b"0" * 5000 + b"}"),
    "huge-string": Bad("typeform", b'{"event_id": "' + b"x" * (LIMIT + 1) + b'"}', status=413,
                       code="body_too_large"),
    "text-plain": Bad("typeform", SAMPLE, content_type="text/plain", status=415, code="unsupported_media_type"),
    "form-encoded-to-json-source": Bad("typeform", b"event_id=1", content_type="application/x-www-form-urlencoded",
                                       status=415, code="unsupported_media_type"),
    "missing-signature": Bad("typeform", SAMPLE, headers=lambda body: {}, status=401, code="invalid_signature"),
    "wrong-secret": Bad("typeform", SAMPLE, headers=lambda body: typeform_signature(body, "not-the-secret"),
                        status=401, code="invalid_signature"),
    "signature-of-other-body": Bad("typeform", SAMPLE, headers=lambda body: typeform_signature(b"{}"),
                                   status=401, code="invalid_signature"),
    "signature-without-prefix": Bad("typeform", SAMPLE,
                                    headers=lambda body: {"Typeform-Signature": hmac_signature(TF_SECRET, body,
                                                                                               encoding="base64")},
                                    status=401, code="invalid_signature"),
    "stale-timestamp": Bad("app", APP_GOOD, headers=lambda body: standard_webhook(body, timestamp=int(time.time()) - 3600),
                           status=401, code="invalid_signature"),
    "future-timestamp": Bad("app", APP_GOOD,
                            headers=lambda body: standard_webhook(body, timestamp=int(time.time()) + 3600),
                            status=401, code="invalid_signature"),
    "missing-webhook-headers": Bad("app", APP_GOOD, headers=lambda body: {}, status=401, code="invalid_signature"),
    "signed-but-unmappable": Bad("app", b'{"something": "else"}', headers=standard_webhook, status=422,
                                 code="unrecognized_payload"),
    "unknown-source": Bad("zendesk", SAMPLE, status=404, code="unknown_source"),
    "get-without-a-handshake": Bad("typeform", b"", method="GET"),  # GET reaches plugins, for handshakes
    # Source tokens and configured HMAC schemes (the webhook source's `signature` block).
    "source-token-missing": Bad("vendor", APP_GOOD, headers=vendor_signed, status=401, code="invalid_token"),
    "source-token-wrong": Bad("vendor?token=" + VENDOR_TOKEN[:-1], APP_GOOD, headers=vendor_signed, status=401,
                              code="invalid_token"),
    "source-token-missing-on-get": Bad("vendor", b"", method="GET", headers=lambda body: {}, status=401,
                                       code="invalid_token"),
    "hmac-wrong-signature": Bad(f"vendor?token={VENDOR_TOKEN}", APP_GOOD,
                                headers=lambda body: vendor_signed(body, secret="not-the-secret"), status=401,
                                code="invalid_signature"),
    "hmac-signature-of-other-body": Bad(f"vendor?token={VENDOR_TOKEN}", APP_GOOD,
                                        headers=lambda body: vendor_signed(b"{}"), status=401,
                                        code="invalid_signature"),
    "hmac-stale-timestamp": Bad(f"vendor?token={VENDOR_TOKEN}", APP_GOOD,
                                headers=lambda body: vendor_signed(body, timestamp=int(time.time()) - 3600),
                                status=401, code="invalid_signature"),
    "hmac-missing-timestamp": Bad(f"vendor?token={VENDOR_TOKEN}", APP_GOOD,
                                  headers=lambda body: {"X-Signature": vendor_signed(body)["X-Signature"]},
                                  status=401, code="invalid_signature"),
    "form-body-where-json-is-expected": Bad(f"vendor?token={VENDOR_TOKEN}", b"response[id]=7", headers=vendor_signed,
                                            content_type="application/x-www-form-urlencoded", status=415,
                                            code="unsupported_media_type"),
    "json-body-where-a-form-is-expected": Bad("vendorform", APP_GOOD,
                                              headers=lambda body: {"X-Signature": hmac_signature(VENDOR_SECRET, body)},
                                              status=415, code="unsupported_media_type"),
    "malformed-form-body": Bad("vendorform", b"response[id]=%zz&&=",
                               headers=lambda body: {"X-Signature": hmac_signature(VENDOR_SECRET, body)},
                               content_type="application/x-www-form-urlencoded"),
    # --- declared lengths and XML (issue 16, items 3 and 8); over real sockets: tests/hub/test_webserver.py
    "declared-length-200mb": Bad("typeform", SAMPLE, environ={"CONTENT_LENGTH": str(200 * 1024 * 1024)},
                                 status=413, code="body_too_large"),
    "declared-length-one-over-the-limit": Bad("typeform", SAMPLE, environ={"CONTENT_LENGTH": str(LIMIT + 1)},
                                              status=413, code="body_too_large"),
    "declared-length-shorter-than-sent": Bad("typeform", SAMPLE, environ={"CONTENT_LENGTH": str(len(SAMPLE) - 10)},
                                             status=401, code="invalid_signature"),  # signed over all it sent
    "declared-length-longer-than-sent": Bad("typeform", SAMPLE, environ={"CONTENT_LENGTH": str(len(SAMPLE) + 10)},
                                            code="incomplete_body"),
    "xml-billion-laughs": xml_case(XML_LAUGHS),
    "xml-quadratic-blowup": xml_case(XML_QUADRATIC),
    "xml-external-entity": xml_case(b'<!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]><response><id>&e;</id>'
                                    b"</response>"),
    "xml-external-dtd": xml_case(b'<!DOCTYPE response SYSTEM "http://127.0.0.1:9/x.dtd"><response><id>1</id>'
                                 b"</response>"),
    "xml-parameter-entity": xml_case(b'<!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p.dtd"> %p;]>'
                                     b"<response><id>1</id></response>"),
    "xml-dtd-alone": xml_case(b"<!DOCTYPE response><response><id>1</id></response>"),
    "xml-xinclude": xml_case(b'<response xmlns:xi="http://www.w3.org/2001/XInclude"><id>1</id>'
                             b'<xi:include href="file:///etc/passwd" parse="text"/></response>'),
    "xml-deep-nesting": xml_case(XML_DEEP),
    "xml-deep-nesting-over-the-body-limit": xml_case(b"<a>" * 30_000 + b"</a>" * 30_000, status=413,
                                                     code="body_too_large"),
    "xml-undeclared-entity": xml_case(b"<response><id>&e;</id></response>"),
    "xml-malformed": xml_case(b"<response><id>1</id>"),
    "xml-to-a-json-source": Bad("typeform", b"<response/>", content_type="application/xml", status=415,
                                code="unsupported_media_type"),
    "json-to-the-xml-source": xml_case(b'{"id": 1}', content_type="application/json", status=415,
                                       code="unsupported_media_type"),
    "xml-without-the-token": xml_case(b"<response><id>1</id></response>", headers=lambda body: {}, status=401,
                                      code="invalid_signature"),
    "xml-unmappable": xml_case(b"<response><score>9</score></response>", status=422, code="unrecognized_payload"),
    # --- end of issue 16, items 3 and 8
}


HTTP_ENV = {"TF_SECRET": TF_SECRET, "APP_SECRET": WHSEC, "VENDOR_SECRET": VENDOR_SECRET, "VENDOR_TOKEN": VENDOR_TOKEN}


@pytest.fixture
def hub(make_hub):
    config = CONFIG.replace("connections:", "  survey:\n    plugin: xmlsurvey\nconnections:", 1)  # for xml_case
    return make_hub(config, plugins=[typeform, webhook, XmlSurvey], env=HTTP_ENV)


def stored(hub) -> tuple[int, int, int]:
    return (len(hub.store.reads.events()), len(hub.store.reads.deliveries()),
            len(hub.store.quarantine.requests(status=None)))


@pytest.mark.parametrize("case", HTTP_CASES.values(), ids=HTTP_CASES.keys())
def test_bad_request_gets_a_clear_error_and_changes_nothing(hub, case):
    headers = case.headers(case.body)
    response = hub.client.open(f"/hooks/{case.source}", method=case.method, data=case.body, headers=headers,
                               content_type=case.content_type, environ_overrides=case.environ)
    assert response.status_code == case.status, response.get_data(as_text=True)[:300]
    error = response.json["error"]
    assert error["code"] == case.code and len(error["message"]) > 10
    assert VENDOR_TOKEN not in response.get_data(as_text=True)
    assert stored(hub) == (0, 0, 1 if case.status == 422 else 0)
    assert hub.hub.queue.count() == 0

    still_up = hub.post("typeform", SAMPLE, typeform_signature(SAMPLE))
    assert still_up.status_code == 202


def test_a_replayed_signed_message_is_acknowledged_but_not_routed_again(hub):
    headers = standard_webhook(APP_GOOD, msg_id="msg_replayed")
    first = hub.post("app", APP_GOOD, headers)
    again = hub.post("app", APP_GOOD, headers)  # captured and sent again inside the tolerance window
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json["duplicates"] == first.json["accepted"]
    assert stored(hub)[:2] == (1, 1)  # (its queued delivery gets a second job, which its claim makes harmless)


# --- hostile text against catastrophic routes (issue 16, item 1) ---------------------------
# Each route's pattern takes hours on a backtracking engine against RUNS; they run in a real
# `cxhub serve`, so a hang shows as a request timeout instead of hanging the test run.

RUNS = ("a" * 31 + "!") * 1800  # 57,600 characters: under the body limit, over any backtracker's patience
CATASTROPHIC_ROUTES = {  # route name: (pattern, whether it matches RUNS)
    "nested-plus": (r"(a+)+$", False),
    "words-and-spaces": (r"^(\\w+\\s?)*$", False),
    "x-plus-x-plus": (r"(x+x+)+y", False),
    "repeated-dot-star": (r"(.*a){20}", True),
    "nested-plus-then-bang": (r"(a+)+!", True),
}
REGEX_CONFIG = f"""
hub: {{max_body_bytes: {LIMIT}}}
sources:
  app:
    plugin: webhook
    settings:
      secret: {{$env: APP_SECRET}}
      mapping: {{object_id: response.id, score: response.score, text: response.comment}}
      score_scale: {{type: nps, min: 0, max: 10}}
connections:
  out:
    plugin: webhook
    settings: {{url: "http://127.0.0.1:9/unused", secret: {{$env: APP_SECRET}}}}
routes:
""" + "".join(f"""  - name: {name}
    when: {{field: data.text, regex: "{pattern}"}}
    actions: [{{connection: out, action: forward}}]
""" for name, (pattern, _) in CATASTROPHIC_ROUTES.items())


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def served(hub, cxhub_redis_url: str, cxhub_database_url: str, tmp_path) -> tuple[subprocess.Popen, str]:
    """`cxhub serve` on the test hub's config, Redis and database, on a free loopback port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {"REDIS_URL": cxhub_redis_url, "DATABASE_URL": cxhub_database_url, "APP_SECRET": WHSEC,
           "CXHUB_DATA_DIR": str(tmp_path / "serve-data"), "PATH": ""}
    with (tmp_path / "serve.log").open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "hub.cli", "serve", "--config", hub.app.config["CXHUB_CONFIG"],
                                    "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    wait_for(lambda: process.poll() is not None or listening(port), timeout=30,
             what="cxhub serve listening")
    assert process.poll() is None, (tmp_path / "serve.log").read_text()
    return process, f"http://127.0.0.1:{port}"


def test_hostile_text_against_catastrophic_routes_is_routed_and_the_hub_stays_up(make_hub, cxhub_redis_url,
                                                                                  cxhub_database_url, tmp_path):
    hub = make_hub(REGEX_CONFIG, plugins=[webhook], env={"APP_SECRET": WHSEC})
    process, url = served(hub, cxhub_redis_url, cxhub_database_url, tmp_path)
    try:
        def send(response_id: int, comment: str) -> requests.Response:
            body = orjson.dumps({"response": {"id": response_id, "score": 3, "comment": comment}})
            return requests.post(f"{url}/hooks/app", data=body, timeout=20,  # a hang detector, not a speed limit
                                 headers={**standard_webhook(body, f"msg_{response_id}"),
                                          "Content-Type": "application/json"})

        hostile = send(1, RUNS)
        assert hostile.status_code == 202, hostile.text
        [event_id] = hostile.json()["accepted"]
        routed = sorted(d.route for d in hub.store.reads.deliveries(event_id=event_id))
        assert routed == sorted(name for name, (_, matches) in CATASTROPHIC_ROUTES.items() if matches)
        assert len(hub.store.reads.events()) == 1 and hub.store.quarantine.requests(status=None) == []

        assert send(2, "a normal comment").status_code == 202  # the next request is answered
    finally:
        process.kill()
        process.wait()

# --- quarantine floods --------------------------------------------------------

UNMAPPABLE = b'{"something": "else"}'  # signed, but the app source cannot map it: 422, quarantined


def test_the_same_request_resent_200_times_keeps_one_quarantine_row(hub):
    signed_once = standard_webhook(UNMAPPABLE, msg_id="msg_flood")
    answers = [hub.post("app", UNMAPPABLE, signed_once) for _ in range(150)]
    answers += [hub.post("app", UNMAPPABLE, standard_webhook(UNMAPPABLE, msg_id=f"msg_resigned_{n}"))
                for n in range(50)]  # signed anew for each resend: other headers, the same request
    assert {answer.status_code for answer in answers} == {422}
    assert len({answer.json["error"]["quarantine_id"] for answer in answers}) == 1  # each names the one row kept
    assert stored(hub) == (0, 0, 1)
    assert hub.store.quarantine.dropped() == []


def test_distinct_bad_requests_stop_at_the_cap_and_the_dropped_count_shows(make_hub, cxhub_redis_url,
                                                                            cxhub_database_url):
    env = HTTP_ENV
    hub = make_hub(CONFIG.replace("hub: {", "hub: {quarantine_max_rows: 5, "), plugins=[typeform, webhook], env=env)
    hub.app.config["CXHUB_ADMIN_TOKEN"] = "admin-token-for-tests"
    bodies = [orjson.dumps({"something": n}) for n in range(12)]
    answers = [hub.post("app", body, standard_webhook(body, msg_id=f"msg_{n}")) for n, body in enumerate(bodies)]
    assert {answer.status_code for answer in answers} == {422}
    assert ["quarantine_id" in answer.json["error"] for answer in answers] == [True] * 5 + [False] * 7
    assert stored(hub) == (0, 0, 5)

    listed = hub.client.get("/admin/quarantine", headers={"Authorization": "Bearer admin-token-for-tests"}).json
    assert len(listed["requests"]) == 5
    assert [(item["source"], item["dropped"]) for item in listed["dropped"]] == [("app", 7)]
    cli = CliRunner().invoke(main, ["quarantine", "list"], catch_exceptions=False, env={
        "CXHUB_CONFIG": hub.app.config["CXHUB_CONFIG"], "REDIS_URL": cxhub_redis_url,
        "DATABASE_URL": cxhub_database_url, **env})
    assert cli.exit_code == 0 and "dropped 7 requests from app because the quarantine was full" in cli.output
    assert "(hub.quarantine_max_rows)" in cli.output  # the listing reads the store alone, not the config

    assert hub.post("app", bodies[0], standard_webhook(bodies[0])).json["error"]["quarantine_id"]  # kept before
    assert hub.post("typeform", SAMPLE, typeform_signature(SAMPLE)).status_code == 202  # still up


def test_admin_api_without_a_token_is_refused(make_hub):
    hub = make_hub(CONFIG, plugins=[typeform, webhook], env=HTTP_ENV)
    hub.app.config["CXHUB_ADMIN_TOKEN"] = "admin-token-for-tests"
    refused = hub.client.get("/admin/events", headers={"Authorization": "Bearer wrong"})
    assert refused.status_code == 401 and "admin-token-for-tests" not in refused.get_data(as_text=True)


# --- storable input: Unicode edges, integers past 64 bits, credentials, long text ---------------
#
# Every Unicode edge the JSON parser may meet and every integer size, on SQLite and PostgreSQL
# (when CXHUB_TEST_DATABASE_URL is set) and under both `hub.accept_into` modes. Each case states
# its answer; then nothing is stored, or exactly one quarantine entry (422), or exactly the one
# event (202), and the next normal request is answered 202.

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("CXHUB_TEST_DATABASE_URL") else [])
EDGE_MAPPING = ("{event_id: event, object_id: response.id, score: response.score, text: response.text, "
                "customer_id: customer.id, customer_email: customer.email}")


def edge_config(mode: str) -> str:
    """CONFIG under `accept_into: mode`, its webhook source mapping every id and text field."""
    hub_section = f"hub: {{max_body_bytes: {LIMIT}}}"
    return (CONFIG.replace(hub_section, hub_section[:-1] + f", accept_into: {mode}}}")
            .replace("{object_id: response.id, score: response.score, customer_email: customer.email}", EDGE_MAPPING))


@pytest.fixture(params=[(backend, mode) for backend in BACKENDS for mode in ("database", "redis")],
                ids=lambda param: "-".join(param))
def edge_hub(request, cxhub_redis_url, tmp_path):
    backend, mode = request.param
    database = request.getfixturevalue("cxhub_database_url") if backend == "postgresql" \
        else f"sqlite:///{tmp_path / 'edges.db'}"
    (tmp_path / "edge").mkdir()
    built = build_test_hub(edge_config(mode), tmp_path / "edge", redis_url=cxhub_redis_url,
                           database_url=database, plugins=[typeform, webhook],
                           env=HTTP_ENV)
    yield built
    built.close()


def app_body(text: str = '"fine"', event: str = '"evt-1"', customer_id: str = '"c-1"',
             email: str = '"ann@example.com"', object_id: str = "7") -> bytes:
    """A webhook-source body with raw JSON fragments put in place, as a vendor would send them."""
    return (f'{{"event": {event}, "response": {{"id": {object_id}, "score": 3, "text": {text}}}, '
            f'"customer": {{"id": {customer_id}, "email": {email}}}}}').encode("utf-8", "surrogatepass")


def raw_text(encoded: bytes) -> bytes:
    """A body whose text is `encoded` byte for byte (invalid UTF-8 included)."""
    return app_body(text='"placeholder"').replace(b"placeholder", encoded)


@dataclass(frozen=True)
class Edge:
    """A body, the answer it gets, and what the stored event then holds.

    Bodies that are not UTF-8 go to the Typeform source, whose signature covers raw bytes (the
    Standard Webhooks signer signs text).
    """

    body: bytes
    status: int
    code: str | None = None
    stored_text: str | None = None  # for a 202: data.text as stored, read back
    source: str = "app"

    def post(self, hub):
        headers = typeform_signature(self.body) if self.source == "typeform" else standard_webhook(self.body)
        return hub.post(self.source, self.body, headers)


UNICODE_EDGES = {
    "nul-escape-in-email": Edge(app_body(email='"ann\\u0000@example.com"'), 422, "unstorable_event"),
    "nul-escape-in-customer-id": Edge(app_body(customer_id='"c\\u0000-1"'), 422, "unstorable_event"),
    "nul-escape-in-vendor-event-id": Edge(app_body(event='"evt\\u0000-1"'), 422, "unstorable_event"),
    "nul-escape-in-object-id": Edge(app_body(object_id='"7\\u0000"'), 422, "unstorable_event"),
    "nul-escape-in-text": Edge(app_body(text='"a\\u0000b"'), 422, "unstorable_event"),
    "raw-nul-byte-in-a-string": Edge(app_body(text='"a\x00b"'), 400, "malformed_body"),
    "lone-high-surrogate-escape": Edge(app_body(text='"\\ud800"'), 400, "malformed_body"),
    "lone-low-surrogate-escape": Edge(app_body(text='"x\\udc00y"'), 400, "malformed_body"),
    "reversed-surrogate-pair": Edge(app_body(text='"\\ude00\\ud83d"'), 400, "malformed_body"),
    "surrogate-encoded-in-utf8": Edge(app_body(text='"\ud800"'), 400, "malformed_body", source="typeform"),
    "overlong-nul": Edge(raw_text(b"\xc0\x80"), 400, "malformed_body", source="typeform"),
    "overlong-slash": Edge(raw_text(b"\xe0\x80\xaf"), 400, "malformed_body", source="typeform"),
    "truncated-multibyte": Edge(raw_text(b"\xe2\x82"), 400, "malformed_body", source="typeform"),
    "utf16-body": Edge(app_body().decode().encode("utf-16"), 400, "malformed_body", source="typeform"),
    "surrogate-pair-escape": Edge(app_body(text='"\\ud83d\\ude00"'), 202, stored_text="\U0001f600"),
    "non-characters-escaped": Edge(app_body(text='"\\ufffe\\uffff\\ufdd0"'), 202, stored_text="\ufffe\uffff\ufdd0"),
    "non-characters-raw": Edge(app_body(text='"\ufffe\uffff\U0010ffff"'), 202, stored_text="\ufffe\uffff\U0010ffff"),
    "non-character-in-customer-id": Edge(app_body(customer_id='"\\uffff"'), 202, stored_text="fine"),
    "controls-and-bidi-in-text": Edge(app_body(text='"\\u001b[31m\\r\\u202e\\u0085"'), 202,
                                      stored_text="\x1b[31m\r\u202e\x85"),
    "bom-before-the-document": Edge(b"\xef\xbb\xbf" + app_body(), 202, stored_text="fine"),
    "bom-inside-a-string": Edge(app_body(text='"\ufeffhi"'), 202, stored_text="\ufeffhi"),
    "two-boms": Edge(b"\xef\xbb\xbf\xef\xbb\xbf" + app_body(), 400, "malformed_body"),
    "id-longer-than-its-column": Edge(app_body(object_id='"' + "9" * 513 + '"'), 422, "unstorable_event"),
    "email-longer-than-its-column": Edge(app_body(email='"' + "a" * 320 + '@example.com"'), 422, "unstorable_event"),
}


def stored_or_quarantined(hub) -> tuple[int, int, int]:
    hub.drain(run_scheduled=False, rounds=0)  # accept_into: redis: take the intake log in first
    return stored(hub)


def assert_still_up(hub) -> None:
    assert hub.post("typeform", SAMPLE, typeform_signature(SAMPLE)).status_code == 202


@pytest.mark.parametrize("case", UNICODE_EDGES.values(), ids=UNICODE_EDGES.keys())
def test_a_unicode_edge_gets_its_answer_on_every_backend(edge_hub, case):
    response = case.post(edge_hub)
    assert response.status_code == case.status, response.get_data(as_text=True)[:300]
    if case.status == 202:
        assert stored_or_quarantined(edge_hub) == (1, 1, 0)
        [event] = edge_hub.store.reads.events()
        assert orjson.loads(event.body)["data"]["text"] == case.stored_text
    else:
        assert response.json["error"]["code"] == case.code
        assert stored_or_quarantined(edge_hub) == (0, 0, 1 if case.status == 422 else 0)
        if case.status == 422:
            [kept] = edge_hub.store.quarantine.requests()
            assert kept.body == case.body and response.json["error"]["quarantine_id"] == kept.id
    assert_still_up(edge_hub)


def test_a_request_quarantined_with_nul_in_its_headers_and_query_is_stored(edge_hub):
    body = b'{"event": "evt-1", "something": "else"}'
    response = edge_hub.client.post("/hooks/app?note=a%00b", data=body, content_type="application/json",
                                    headers={**standard_webhook(body), "X-Note": "a\x00b"})
    assert response.status_code == 422 and response.json["error"]["code"] == "unrecognized_payload"
    [kept] = edge_hub.store.quarantine.requests()
    assert orjson.loads(kept.headers)["x-note"] == "a\x00b" and orjson.loads(kept.query) == {"note": "a\x00b"}
    assert_still_up(edge_hub)


INTEGERS = {"2^53": 2**53, "2^53+1": 2**53 + 1, "2^63": 2**63, "2^64": 2**64, "2^64+1": 2**64 + 1,
            "2^128": 2**128, "-2^63-1": -(2**63) - 1}


@pytest.mark.parametrize("number", INTEGERS.values(), ids=INTEGERS.keys())
def test_integer_ids_keep_every_digit_through_the_webhook_source(edge_hub, number):
    body = app_body(event=str(number), customer_id=str(number), object_id=str(number))
    assert edge_hub.post("app", body, standard_webhook(body)).status_code == 202
    assert stored_or_quarantined(edge_hub) == (1, 1, 0)
    [event] = edge_hub.store.reads.events()
    assert (event.vendor_event_id, event.customer_id, event.subject) == (str(number),) * 3
    assert_still_up(edge_hub)


@pytest.mark.parametrize("number", INTEGERS.values(), ids=INTEGERS.keys())
def test_integer_ids_keep_every_digit_through_typeform(edge_hub, number):
    payload = orjson.loads(SAMPLE)
    payload["form_response"]["hidden"] = {"user_id": 1}
    body = (orjson.dumps(payload).replace(b'"event_id":"' + payload["event_id"].encode() + b'"',
                                          b'"event_id":%d' % number)
            .replace(b'"user_id":1', b'"user_id":%d' % number))
    assert edge_hub.post("typeform", body, typeform_signature(body)).status_code == 202
    assert stored_or_quarantined(edge_hub) == (1, 1, 0)
    [event] = edge_hub.store.reads.events()
    assert (event.vendor_event_id, event.customer_id) == (str(number), str(number))


def test_three_ids_past_two_to_the_64_are_three_events(edge_hub):
    accepted = []
    for offset in (1, 2, 3):
        body = app_body(event=str(2**64 + offset), object_id=str(2**64 + offset))
        response = edge_hub.post("app", body, standard_webhook(body, msg_id=f"msg_{offset}"))
        assert response.status_code == 202 and response.json["duplicates"] == []
        accepted += response.json["accepted"]
    assert len(set(accepted)) == 3 and stored_or_quarantined(edge_hub) == (3, 3, 0)
    assert sorted(event.vendor_event_id for event in edge_hub.store.reads.events()) == [
        str(2**64 + offset) for offset in (1, 2, 3)]


CREDENTIALS = {"Authorization": "Bearer cred-authorization", "Cookie": "session=cred-cookie",
               "Proxy-Authorization": "Basic cred-proxy", "X-Api-Key": "cred-x-api-key", "Api-Key": "cred-api-key",
               "X-Auth-Token": "cred-x-auth-token", "X-Gitlab-Token": "cred-gitlab"}
CREDENTIAL_QUERY = "token=cred-token&api_key=cred-query-api-key&sig=cred-sig&form=kept-form"


def assert_no_credentials(text: str) -> None:
    assert "cred-" not in text and "webhook-signature" not in text.lower(), text


def test_a_quarantined_request_keeps_no_credentials(edge_hub):
    body = b'{"event": "evt-1", "something": "else"}'
    signed = standard_webhook(body)
    response = edge_hub.client.post(f"/hooks/app?{CREDENTIAL_QUERY}", data=body, content_type="application/json",
                                    headers={**signed, **CREDENTIALS})
    assert response.status_code == 422
    [kept] = edge_hub.store.quarantine.requests()
    assert_no_credentials(kept.headers + kept.query)
    assert orjson.loads(kept.query) == {"form": "kept-form"}
    assert orjson.loads(kept.headers)["webhook-id"] == signed["webhook-id"]  # what the parser reads stays
    edge_hub.app.config["CXHUB_ADMIN_TOKEN"] = "admin-token-0123456789"
    shown = edge_hub.client.get("/admin/quarantine", headers={"Authorization": "Bearer admin-token-0123456789"})
    assert shown.status_code == 200 and kept.id in shown.get_data(as_text=True)
    assert_no_credentials(shown.get_data(as_text=True))


def test_the_intake_log_keeps_no_credentials(make_hub):
    hub = make_hub(edge_config("redis"), plugins=[typeform, webhook],
                   env=HTTP_ENV)
    body = app_body()
    response = hub.client.post(f"/hooks/app?{CREDENTIAL_QUERY}", data=body, content_type="application/json",
                               headers={**standard_webhook(body), **CREDENTIALS})
    assert response.status_code == 202
    [(_, fields)] = hub.hub.redis.xrange(hub.hub.intake.key)
    request = orjson.loads(fields[b"request"])
    assert_no_credentials(orjson.dumps([request["headers"], request["query"]]).decode())
    assert "cred-" not in b"".join(fields.values()).decode()  # no credential's value, anywhere in the entry
    removed_headers, removed_query = request["removed"]  # their names only, for the console's mask
    assert {"webhook-signature", "authorization", "x-api-key"} <= set(removed_headers)
    assert sorted(removed_query) == ["api_key", "sig", "token"]
    assert request["query"] == {"form": "kept-form"}


def test_a_destination_error_quoting_nul_is_stored_and_dead_letters_once(make_hub, httpserver):
    httpserver.expect_request("/receiver").respond_with_data("down\x00for good", status=400)
    hub = make_hub(forward_everything(httpserver.url_for("/receiver")), plugins=[webhook], env={"APP_SECRET": WHSEC})
    assert send(hub, detractor()).status_code == 202
    hub.drain()
    [delivery] = hub.store.reads.deliveries()
    assert delivery.status == "dead" and delivery.last_error.endswith("answered 400: down\\u0000for good")
    assert [attempt.error for attempt in hub.store.reads.attempts(delivery.id)] == [delivery.last_error]


def test_a_template_output_flood_is_cut_at_the_limit_and_delivered(make_hub, httpserver):
    httpserver.expect_request("/rest/api/3/issue").respond_with_json({"id": "1", "key": "CX-1"}, status=201)
    flood = "{% for i in range(1000) %}{% for j in range(1000) %}xxxxxxxx{% endfor %}{% endfor %}"
    params = f"summary: CX, description: {orjson.dumps(flood).decode()}}}"
    config = GOOD_CONFIG.replace('"https://example.atlassian.net"', f'"{httpserver.url_for("/")}"').replace(
        'summary: "{{ data.customer.email }} is unhappy"}', params)
    hub = make_hub(config, plugins=[typeform, jira], env=ENV)
    assert hub.post("typeform", SAMPLE, typeform_signature(SAMPLE, ENV["TF_SECRET"])).status_code == 202
    hub.drain()
    [delivery] = hub.store.reads.deliveries()
    assert delivery.status == "succeeded", delivery.last_error
    [(request, _)] = httpserver.log
    [paragraph] = request.get_json()["fields"]["description"]["content"]
    assert paragraph["content"][0]["text"].endswith("x… [truncated; full text: "
                                                    "https://admin.typeform.com/form/lT4Z3j/results#responses]")


# --- config ----------------------------------------------------------------

ENV = {"TF_SECRET": "tf-secret-value", "APP_SECRET": WHSEC, "JIRA_TOKEN": "jira-token-value"}
GOOD_CONFIG = """\
sources:
  typeform:
    plugin: typeform
    settings: {secret: {$env: TF_SECRET}}
connections:
  jira:
    plugin: jira
    settings: {base_url: "https://example.atlassian.net", email: bot@example.com, api_token: {$env: JIRA_TOKEN}}
routes:
  - name: detractors
    actions:
      - connection: jira
        action: create_issue
        params: {project: CX, summary: "{{ data.customer.email }} is unhappy"}
"""

CONFIG_CASES = {
    "broken-yaml": ("params: {project: CX, summary:", "params: [project: CX, summary:",
                    "cxhub.yaml:14: invalid YAML: while parsing a flow sequence"),
    "tab-indentation": ("    plugin: jira\n", "\tplugin: jira\n", "cxhub.yaml:7: invalid YAML: while scanning for the next token found character '\\t'"),
    "duplicate-key": ("    plugin: typeform\n", "    plugin: typeform\n    plugin: typeform\n",
                      "cxhub.yaml:4: invalid YAML: while constructing a mapping found duplicate key \"plugin\""),
    "unknown-plugin": ("plugin: jira", "plugin: jirra",
                       "cxhub.yaml:7: connections.jira.plugin: unknown connection plugin 'jirra'"),
    "unknown-connection": ("- connection: jira", "- connection: jra",
                           "cxhub.yaml:12: routes[0].actions[0].connection: unknown connection 'jra' (known: jira)"),
    "unknown-action": ("action: create_issue", "action: create_ticket",
                       "cxhub.yaml:13: routes[0].actions[0].action: connection 'jira' (jira) has no action 'create_ticket'"),
    "missing-env": ("{$env: TF_SECRET}", "{$env: TF_SECRET_MISSING}",
                    "cxhub.yaml:4: sources.typeform.settings.secret: environment variable TF_SECRET_MISSING is not set"),
    "inline-secret": ("{$env: JIRA_TOKEN}", "plain-token-in-the-file",
                      "cxhub.yaml:8: connections.jira.settings.api_token: secrets must come from the environment"),
    "unknown-key": ("routes:", "rootes:", "cxhub.yaml:9: rootes: unknown key"),
    "template-syntax": ("{{ data.customer.email }}", "{{ data.customer.email ", "routes[0].actions[0].params.summary"),
    "bad-regex": ("    actions:", "    when: {field: data.text, regex: '(unclosed'}\n    actions:",
                  "routes[0].when"),
    "inline-source-token": ("    plugin: typeform\n", "    plugin: typeform\n    token: inline-token-value\n",
                            "cxhub.yaml:4: sources.typeform.token: secrets must come from the environment"),
    "source-token-env-missing": ("    plugin: typeform\n", "    plugin: typeform\n    token: {$env: TF_TOKEN}\n",
                                 "cxhub.yaml:4: sources.typeform.token: environment variable TF_TOKEN is not set"),
    # --- regular expressions RE2 does not take (issue 16, item 1)
    "regex-lookahead": ("    actions:", "    when: {field: data.text, regex: 'refund(?!ed)'}\n    actions:",
                        "cxhub.yaml:11: routes[0].when.regex: negative lookahead (?!...) is not supported: "
                        "route conditions use RE2, a linear-time engine"),
    "regex-backreference": ("    actions:", "    when: {field: data.text, regex: '(\\w+) \\1'}\n    actions:",
                            "cxhub.yaml:11: routes[0].when.regex: backreference \\1 is not supported"),
    "regex-possessive": ("    actions:", "    when: {field: data.text, regex: 'a++b'}\n    actions:",
                         "cxhub.yaml:11: routes[0].when.regex: possessive quantifier ++ is not supported"),
    "regex-nested-in-any": ("    actions:", "    when: {any: [{field: data.text, regex: '(?<=x)y'}]}\n    actions:",
                            "cxhub.yaml:11: routes[0].when.any[0].regex: lookbehind (?<=...) is not supported"),
    # --- end of issue 16, item 1
    # --- issue 17: shadow routes and annotators
    "shadow-not-a-boolean": ("    actions:", "    shadow: yes please\n    actions:",
                             "cxhub.yaml:11: routes[0].shadow: Not a valid boolean."),
    "annotator-not-installed": ("sources:", "hub: {annotators: [sentimnet]}\nsources:",
                                "cxhub.yaml:1: hub.annotators[0]: no plugin 'sentimnet' is installed"),
    "annotator-that-does-not-annotate": ("sources:", "hub: {annotators: [jira]}\nsources:",
                                         "cxhub.yaml:1: hub.annotators[0]: plugin 'jira' does not annotate events"),
}


@pytest.fixture(scope="module")
def host() -> PluginHost:
    return PluginHost(build_plugin_manager([typeform, webhook, jira, slack], discover=False))


def test_the_good_config_loads(host):
    parse_config(GOOD_CONFIG, "cxhub.yaml", host, ENV)


@pytest.mark.parametrize(("old", "new", "expected"), CONFIG_CASES.values(), ids=CONFIG_CASES.keys())
def test_bad_config_is_refused_with_file_line_and_path(host, old, new, expected):
    assert old in GOOD_CONFIG
    with pytest.raises(ConfigError) as caught:
        parse_config(GOOD_CONFIG.replace(old, new, 1), "cxhub.yaml", host, ENV)
    messages = [str(problem) for problem in caught.value.problems]
    assert any(expected in message for message in messages), messages
    assert not any(secret in message for message in messages for secret in ENV.values())


# --- hostile templates --------------------------------------------------------

HOSTILE = {
    "python-internals": ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "access to attribute '__class__'"),
    "huge-range": ("{% for i in range(10**9) %}x{% endfor %}", "range"),
    "huge-repeat": ("{{ 'a' * 10**9 }}", "over the output limit"),
    "huge-power": ("{{ 10 ** 10 ** 10 }}", "too large"),
    "endless-recursion": ("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", "RecursionError"),
}


@pytest.mark.parametrize(("template", "expected"), HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_template_fails_its_delivery_only(make_hub, httpserver, template, expected):
    httpserver.expect_request("/issue").respond_with_json({"id": "1", "key": "CX-1"}, status=201)
    config = GOOD_CONFIG.replace('"https://example.atlassian.net"', f'"{httpserver.url_for("/")}"').replace(
        '"{{ data.customer.email }} is unhappy"', orjson.dumps(template).decode())
    hub = make_hub(config, plugins=[typeform, jira], env=ENV)
    assert hub.post("typeform", SAMPLE, typeform_signature(SAMPLE, ENV["TF_SECRET"])).status_code == 202
    started = time.perf_counter()
    hub.drain()
    assert time.perf_counter() - started < 10  # bounded: never a hang
    [delivery] = hub.store.reads.deliveries()
    assert delivery.status == "dead" and expected in delivery.last_error, delivery.last_error
    assert httpserver.log == []  # nothing was sent
    resent = hub.post("typeform", SAMPLE, typeform_signature(SAMPLE, ENV["TF_SECRET"]))
    assert resent.status_code == 200  # still up (and the resend is recognised)
