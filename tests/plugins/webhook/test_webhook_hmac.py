"""The webhook source's configurable HMAC scheme, form bodies and `scheme: none` (with a source token)."""

from __future__ import annotations

import time
from urllib.parse import urlencode

import orjson
import pytest

import plugins.webhook as webhook
from hub.config import ConfigError, parse_config
from hub.plugin import hmac_signature, signed_message
from hub.pluginhost import PluginHost, build_plugin_manager
from tests.conftest import WHSEC

SECRET = "vendor-hmac-secret-for-tests"
OLD_SECRET = "vendor-old-secret-for-tests"
BODY = orjson.dumps({"response": {"id": 1128, "score": 3, "email": "nps@example.com", "text": "Slow export"},
                     "delivery": {"id": "d-1"}})


def source_config(signature: str, *, body: str = "json", event_id: str = "delivery.id", extra: str = "") -> str:
    return f"""
sources:
  vendor:
    plugin: webhook
    {extra}
    settings:
      secret: {{$env: VENDOR_SECRET}}
      previous_secret: {{$env: VENDOR_OLD_SECRET}}
      body: {body}
      signature: {signature}
      score_scale: {{type: nps, min: 0, max: 10}}
      mapping: {{object_id: response.id, event_id: {event_id}, score: response.score,
                customer_email: response.email, text: response.text}}
"""


ENV = {"VENDOR_SECRET": SECRET, "VENDOR_OLD_SECRET": OLD_SECRET}


def build(make_hub, signature: str, **kwargs):
    return make_hub(source_config(signature, **kwargs), plugins=[webhook], env=ENV)


def stored(hub) -> tuple[int, int]:
    return len(hub.store.reads.events()), len(hub.store.quarantine.requests(status=None))


@pytest.mark.parametrize("algorithm", ["sha1", "sha256", "sha512"])
@pytest.mark.parametrize("encoding", ["hex", "base64"])
def test_each_algorithm_and_encoding_is_verified(make_hub, algorithm, encoding):
    hub = build(make_hub, f"{{scheme: hmac, header: X-Signature, algorithm: {algorithm}, encoding: {encoding}}}")
    good = hmac_signature(SECRET, BODY, algorithm=algorithm, encoding=encoding)
    other = "sha512" if algorithm != "sha512" else "sha1"
    wrong_algorithm = hmac_signature(SECRET, BODY, algorithm=other, encoding=encoding)
    wrong_encoding = hmac_signature(SECRET, BODY, algorithm=algorithm,
                                    encoding="base64" if encoding == "hex" else "hex")
    for signature in (wrong_algorithm, wrong_encoding, hmac_signature("not-the-secret", BODY, algorithm=algorithm,
                                                                       encoding=encoding)):
        refused = hub.post("vendor", BODY, {"X-Signature": signature})
        assert refused.status_code == 401 and refused.json["error"]["code"] == "invalid_signature"
    assert stored(hub) == (0, 0)
    accepted = hub.post("vendor", BODY, {"X-Signature": good})
    assert accepted.status_code == 202, accepted.json
    event = orjson.loads(hub.store.reads.event(accepted.json["accepted"][0]).body)
    assert event["data"]["link"]["id"] == "1128" and event["data"]["vendor_event_id"] == "d-1"
    assert event["data"]["score"]["band"] == "negative" and event["data"]["text"] == "Slow export"


def test_hex_signatures_are_compared_in_either_case(make_hub):
    hub = build(make_hub, "{scheme: hmac, header: X-Signature}")
    assert hub.post("vendor", BODY, {"X-Signature": hmac_signature(SECRET, BODY).upper()}).status_code == 202


def test_the_prefix_is_required_and_stripped(make_hub):
    hub = build(make_hub, '{scheme: hmac, header: X-Wootric-Signature, algorithm: sha1, prefix: "sha1="}')
    bare = hmac_signature(SECRET, BODY, algorithm="sha1")
    refused = hub.post("vendor", BODY, {"X-Wootric-Signature": bare})
    assert refused.status_code == 401 and "must start with 'sha1='" in refused.json["error"]["message"]
    assert hub.post("vendor", BODY, {"X-Wootric-Signature": "sha1=" + bare}).status_code == 202


def test_the_previous_secret_is_accepted_while_rotating(make_hub):
    hub = build(make_hub, "{scheme: hmac, header: X-Signature}")
    assert hub.post("vendor", BODY, {"X-Signature": hmac_signature(OLD_SECRET, BODY)}).status_code == 202


TEMPLATE = ('{scheme: hmac, header: X-Sig, encoding: base64, signed: "v0:{timestamp}:{id}:{body}", '
            'timestamp_header: X-Timestamp, id_header: X-Request-Id, tolerance_seconds: 60}')


def template_headers(body: bytes, *, timestamp: int | None = None, ident: str = "req-9") -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    message = signed_message("v0:{timestamp}:{id}:{body}", body=body, timestamp=stamp, id=ident)
    return {"X-Sig": hmac_signature(SECRET, message, encoding="base64"), "X-Timestamp": stamp, "X-Request-Id": ident}


def test_a_template_of_timestamp_id_and_body_is_signed_over_the_raw_bytes(make_hub):
    hub = build(make_hub, TEMPLATE, event_id="null")  # the event id then comes from X-Request-Id
    body = b'{"response": {"id": 5,   "score": 9.0}, "delivery": {"id": "x"}}'  # odd spacing: never re-serialised
    headers = template_headers(body)
    accepted = hub.post("vendor", body, headers)
    assert accepted.status_code == 202, accepted.json
    event = orjson.loads(hub.store.reads.event(accepted.json["accepted"][0]).body)
    assert event["data"]["vendor_event_id"] == "req-9"
    assert event["time"].startswith(time.strftime("%Y-%m-%dT", time.gmtime(int(headers["X-Timestamp"]))))
    tampered = {**headers, "X-Request-Id": "req-10"}  # the id is signed too
    assert hub.post("vendor", body, tampered).status_code == 401


@pytest.mark.parametrize(("offset", "message"), [(-3600, "away from now"), (3600, "away from now")])
def test_a_stale_or_future_timestamp_gets_401(make_hub, offset, message):
    hub = build(make_hub, TEMPLATE)
    refused = hub.post("vendor", BODY, template_headers(BODY, timestamp=int(time.time()) + offset))
    assert refused.status_code == 401 and message in refused.json["error"]["message"]
    assert stored(hub) == (0, 0)


@pytest.mark.parametrize("missing", ["X-Timestamp", "X-Request-Id", "X-Sig"])
def test_a_missing_signed_header_gets_401(make_hub, missing):
    hub = build(make_hub, TEMPLATE)
    headers = {name: value for name, value in template_headers(BODY).items() if name != missing}
    refused = hub.post("vendor", BODY, headers)
    assert refused.status_code == 401 and f"the {missing} header is missing" in refused.json["error"]["message"]


FORM = urlencode({"response[id]": "1128", "response[score]": "7", "response[email]": "nps@example.com",
                  "response[text]": "", "response[end_user_properties][plan]": "Pro", "delivery[id]": "d-7",
                  "event_name": "created"}).encode()


def test_a_form_body_is_mapped_by_the_same_dotted_paths(make_hub):
    hub = build(make_hub, "{scheme: hmac, header: X-Signature}", body="form")
    accepted = hub.post("vendor", FORM, {"X-Signature": hmac_signature(SECRET, FORM)},
                        content_type="application/x-www-form-urlencoded")
    assert accepted.status_code == 202, accepted.json
    data = orjson.loads(hub.store.reads.event(accepted.json["accepted"][0]).body)["data"]
    assert data["link"]["id"] == "1128" and data["vendor_event_id"] == "d-7"
    assert data["score"] == {"type": "nps", "value": 7, "min": 0, "max": 10, "band": "neutral"}
    assert data["customer"]["email"] == "nps@example.com" and data["text"] is None


@pytest.mark.parametrize(("body", "sent", "content_type"), [
    ("form", BODY, "application/json"),
    ("json", FORM, "application/x-www-form-urlencoded"),
])
def test_a_form_body_where_json_is_expected_and_vice_versa_gets_415(make_hub, body, sent, content_type):
    hub = build(make_hub, "{scheme: hmac, header: X-Signature}", body=body)
    refused = hub.post("vendor", sent, {"X-Signature": hmac_signature(SECRET, sent)}, content_type=content_type)
    assert refused.status_code == 415 and refused.json["error"]["code"] == "unsupported_media_type"
    assert stored(hub) == (0, 0)


def test_a_form_field_that_is_both_value_and_group_is_quarantined(make_hub):
    hub = build(make_hub, "{scheme: hmac, header: X-Signature}", body="form")
    body = b"response=1&response[id]=2&delivery[id]=d"
    refused = hub.post("vendor", body, {"X-Signature": hmac_signature(SECRET, body)},
                       content_type="application/x-www-form-urlencoded")
    assert refused.status_code == 422 and stored(hub) == (0, 1)


def test_several_paths_make_one_event_id(make_hub):
    hub = build(make_hub, "{scheme: hmac, header: X-Signature}", event_id="[response.id, delivery.id]")
    accepted = hub.post("vendor", BODY, {"X-Signature": hmac_signature(SECRET, BODY)})
    event = orjson.loads(hub.store.reads.event(accepted.json["accepted"][0]).body)
    assert event["data"]["vendor_event_id"] == "1128:d-1"


def test_scheme_none_takes_requests_on_the_source_token_alone(make_hub):
    config = source_config("{scheme: none}", extra="token: {$env: VENDOR_TOKEN}").replace(
        "      secret: {$env: VENDOR_SECRET}\n      previous_secret: {$env: VENDOR_OLD_SECRET}\n", "")
    hub = make_hub(config, plugins=[webhook], env={"VENDOR_TOKEN": "vendor-token-123456"})
    assert hub.post("vendor", BODY).status_code == 401
    assert hub.post("vendor?token=vendor-token-123456", BODY).status_code == 202


# --- check-config -------------------------------------------------------------

@pytest.fixture(scope="module")
def host() -> PluginHost:
    return PluginHost(build_plugin_manager([webhook], discover=False))


BAD_SIGNATURES = {
    "unknown-key": ("{scheme: hmac, header: X-Sig, algo: sha1}", "settings.signature.algo: Unknown field"),
    "unknown-algorithm": ("{scheme: hmac, header: X-Sig, algorithm: md5}", "settings.signature.algorithm: Must be one of"),
    "unknown-encoding": ("{scheme: hmac, header: X-Sig, encoding: base32}", "settings.signature.encoding: Must be one of"),
    "no-header": ("{scheme: hmac}", "settings.signature.header: scheme: hmac needs the name of the header"),
    "no-body": ('{scheme: hmac, header: X-Sig, signed: "{timestamp}"}', "settings.signature.signed: the signed "
                                                                          "string must hold {body} exactly once"),
    "unknown-placeholder": ('{scheme: hmac, header: X-Sig, signed: "{ts}.{body}"}',
                            "settings.signature.signed: unknown placeholder {ts}"),
    "timestamp-without-header": ('{scheme: hmac, header: X-Sig, signed: "{timestamp}.{body}"}',
                                 "settings.signature.timestamp_header: the signed string holds {timestamp}"),
    "hmac-key-under-standard": ("{header: X-Sig}", "settings.signature.header: only with scheme: hmac"),
    "unknown-scheme": ("{scheme: rsa}", "settings.signature.scheme: Must be one of"),
    "none-without-token": ("{scheme: none}", "sources.vendor.token: this source checks no signature"),
}


@pytest.mark.parametrize(("signature", "expected"), BAD_SIGNATURES.values(), ids=BAD_SIGNATURES.keys())
def test_check_config_reports_a_bad_signature_block(host, signature, expected):
    text = source_config(signature)
    if "scheme: none" in signature:
        text = text.replace("      secret: {$env: VENDOR_SECRET}\n      previous_secret: {$env: VENDOR_OLD_SECRET}\n", "")
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "cxhub.yaml", host, ENV)
    messages = [str(problem) for problem in caught.value.problems]
    assert any(message.startswith("cxhub.yaml:") and expected in message for message in messages), messages
    assert not any(SECRET in message for message in messages)


def test_check_config_wants_a_secret_for_hmac_and_none_for_scheme_none(host):
    no_secret = source_config("{scheme: hmac, header: X-Sig}").replace(
        "      secret: {$env: VENDOR_SECRET}\n", "")
    with pytest.raises(ConfigError, match="settings.secret: signature.scheme: hmac needs a secret"):
        parse_config(no_secret, "cxhub.yaml", host, ENV)
    with pytest.raises(ConfigError, match="settings.secret: signature.scheme: none checks no signature"):
        parse_config(source_config("{scheme: none}", extra="token: {$env: VENDOR_SECRET}"), "cxhub.yaml", host, ENV)


def test_a_standard_webhooks_source_still_wants_a_whsec_secret(host):
    with pytest.raises(ConfigError, match="settings.secret: .* is not a Standard Webhooks secret"):
        parse_config(source_config("{scheme: standard_webhooks}"), "cxhub.yaml", host,
                     {**ENV, "VENDOR_SECRET": "not base64 !!"})
    parse_config(source_config("{scheme: standard_webhooks}"), "cxhub.yaml", host,
                 {"VENDOR_SECRET": WHSEC, "VENDOR_OLD_SECRET": WHSEC})
