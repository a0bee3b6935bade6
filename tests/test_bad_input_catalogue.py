"""The bad-input catalogue: every kind of bad request or config, its clear answer, and proof that it
changed nothing and left the hub up.

HTTP cases go to a running hub with a Typeform source (HMAC over the raw body) and a Standard
Webhooks source (timestamped). After each one: nothing stored (a 422 keeps exactly one
quarantine entry, for replay), and a correct signed request still gets 202. Config cases go
through the real loader and name file, line, key path and what is wrong. Template cases are
refused by check-config, or fail the one delivery with a clear error.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import orjson
import pytest

import plugins.jira as jira
import plugins.slack as slack
import plugins.typeform as typeform
import plugins.webhook as webhook
from hub.config import ConfigError, parse_config
from hub.pluginhost import PluginHost, build_plugin_manager
from hub.plugin import signed_message
from hub.testing import hmac_signature, sign_standard_webhook
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
}


HTTP_ENV = {"TF_SECRET": TF_SECRET, "APP_SECRET": WHSEC, "VENDOR_SECRET": VENDOR_SECRET, "VENDOR_TOKEN": VENDOR_TOKEN}


@pytest.fixture
def hub(make_hub):
    return make_hub(CONFIG, plugins=[typeform, webhook], env=HTTP_ENV)


def stored(hub) -> tuple[int, int, int]:
    return (len(hub.store.list_events()), len(hub.store.list_deliveries()),
            len(hub.store.list_quarantine(status=None)))


@pytest.mark.parametrize("case", HTTP_CASES.values(), ids=HTTP_CASES.keys())
def test_bad_request_gets_a_clear_error_and_changes_nothing(hub, case):
    headers = case.headers(case.body)
    response = hub.client.open(f"/hooks/{case.source}", method=case.method, data=case.body, headers=headers,
                               content_type=case.content_type)
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


def test_admin_api_without_a_token_is_refused(make_hub):
    hub = make_hub(CONFIG, plugins=[typeform, webhook], env=HTTP_ENV)
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
    "inline-source-token": ("    plugin: typeform\n", "    plugin: typeform\n    token: inline-token-value\n",
                            "cxhub.yaml:4: sources.typeform.token: secrets must come from the environment"),
    "source-token-env-missing": ("    plugin: typeform\n", "    plugin: typeform\n    token: {$env: TF_TOKEN}\n",
                                 "cxhub.yaml:4: sources.typeform.token: environment variable TF_TOKEN is not set"),
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
