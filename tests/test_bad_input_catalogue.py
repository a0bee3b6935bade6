"""The bad-input catalogue: every kind of bad request or config, its clear answer, and proof that it
changed nothing and left the hub up.

HTTP cases go to a running hub with a Typeform source (HMAC over the raw body), a Standard
Webhooks source (timestamped) and an XML source (a token). After each one: nothing stored (a
422 keeps exactly one quarantine entry, for replay), and a correct signed request still gets
202. Hostile text against catastrophic route patterns goes to a real `cxhub serve`, so a hang
shows as a timeout. Config cases go through the real loader and name file, line, key path and what is wrong. Template cases are
refused by check-config, or fail the one delivery with a clear error.
"""

from __future__ import annotations

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

import plugins.jira as jira
import plugins.slack as slack
import plugins.typeform as typeform
import plugins.webhook as webhook
from hub.config import ConfigError, parse_config
from hub.plugin import EventDraft, InvalidSignature, Link, PluginInfo, SourceInfo, UnrecognizedPayload, hookimpl
from hub.plugin.request import MAX_XML_DEPTH
from hub.pluginhost import PluginHost, build_plugin_manager
from hub.testing import hmac_signature, sign_standard_webhook, wait_for
from tests.conftest import WHSEC, fixture_bytes

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
  survey:
    plugin: xmlsurvey
connections:
  out:
    plugin: webhook
    settings: {{url: "http://127.0.0.1:9/unused", secret: {{$env: APP_SECRET}}}}
routes:
  - name: everything
    actions: [{{connection: out, action: forward}}]
"""


def typeform_signature(body: bytes, secret: str = TF_SECRET) -> dict[str, str]:
    return {"Typeform-Signature": "sha256=" + hmac_signature(secret, body, encoding="base64")}


def standard_webhook(body: bytes, msg_id: str = "msg_cat", timestamp: int | None = None) -> dict[str, str]:
    return sign_standard_webhook(WHSEC, msg_id, body, timestamp=timestamp)


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


@pytest.fixture
def hub(make_hub):
    return make_hub(CONFIG, plugins=[typeform, webhook, XmlSurvey], env={"TF_SECRET": TF_SECRET, "APP_SECRET": WHSEC})


def stored(hub) -> tuple[int, int, int]:
    return (len(hub.store.list_events()), len(hub.store.list_deliveries()),
            len(hub.store.list_quarantine(status=None)))


@pytest.mark.parametrize("case", HTTP_CASES.values(), ids=HTTP_CASES.keys())
def test_bad_request_gets_a_clear_error_and_changes_nothing(hub, case):
    headers = case.headers(case.body)
    response = hub.client.open(f"/hooks/{case.source}", method=case.method, data=case.body, headers=headers,
                               content_type=case.content_type, environ_overrides=case.environ)
    assert response.status_code == case.status, response.get_data(as_text=True)[:300]
    error = response.json["error"]
    assert error["code"] == case.code and len(error["message"]) > 10
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
        routed = sorted(d["route"] for d in hub.store.list_deliveries(event_id=event_id))
        assert routed == sorted(name for name, (_, matches) in CATASTROPHIC_ROUTES.items() if matches)
        assert len(hub.store.list_events()) == 1 and hub.store.list_quarantine(status=None) == []

        assert send(2, "a normal comment").status_code == 202  # the next request is answered
    finally:
        process.kill()
        process.wait()


def test_admin_api_without_a_token_is_refused(make_hub):
    hub = make_hub(CONFIG, plugins=[typeform, webhook, XmlSurvey], env={"TF_SECRET": TF_SECRET, "APP_SECRET": WHSEC})
    hub.app.config["CXHUB_ADMIN_TOKEN"] = "admin-token-for-tests"
    refused = hub.client.get("/admin/events", headers={"Authorization": "Bearer wrong"})
    assert refused.status_code == 401 and "admin-token-for-tests" not in refused.get_data(as_text=True)


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
    "output-flood": ("{% for i in range(1000) %}{% for j in range(1000) %}xxxxxxxx{% endfor %}{% endfor %}",
                     "output"),
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
    [delivery] = hub.store.list_deliveries()
    assert delivery["status"] == "dead" and expected in delivery["last_error"], delivery["last_error"]
    assert httpserver.log == []  # nothing was sent
    resent = hub.post("typeform", SAMPLE, typeform_signature(SAMPLE, ENV["TF_SECRET"]))
    assert resent.status_code == 200  # still up (and the resend is recognised)
