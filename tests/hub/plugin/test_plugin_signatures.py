"""hub/plugin/signatures.py: HMAC schemes, timestamp checks and Standard Webhooks."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import pytest

from hub.plugin.errors import InvalidSignature, MalformedBody
from hub.plugin.signatures import (
    check_timestamp,
    hmac_signature,
    sign_standard_webhook,
    signed_message,
    signed_parts,
    verify_hmac,
    verify_standard_webhook,
)

# RFC 2104 / Wikipedia known-answer vector: HMAC_SHA256("key", "The quick brown fox jumps over the lazy dog").
FOX = b"The quick brown fox jumps over the lazy dog"
FOX_HEX = "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
FOX_B64 = "97yD9DBThCSxMpjmqm+xQ+9NWaFJRhdZl0edvC0aPNg="
FOX_SHA1_HEX = "de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d9"

WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OTHER_WHSEC = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
BODY = b'{"type":"survey.response","id":1001,"score":2}'

VECTOR_FILE = Path(__file__).resolve().parents[2] / "fixtures" / "webhook" / "standard_webhooks_vector.json"


# --- hmac_signature ------------------------------------------------------------


def test_hmac_signature_hex_known_answer():
    assert hmac_signature("key", FOX) == FOX_HEX


def test_hmac_signature_base64_known_answer_with_bytes_secret():
    assert hmac_signature(b"key", FOX, encoding="base64") == FOX_B64


def test_hmac_signature_other_algorithm():
    assert hmac_signature("key", FOX, algorithm="sha1") == FOX_SHA1_HEX


# --- verify_hmac ---------------------------------------------------------------


def test_verify_hmac_accepts_hex():
    assert verify_hmac("key", FOX, FOX_HEX, header="X-Sig") is None


def test_verify_hmac_accepts_base64_with_prefix():
    verify_hmac("key", FOX, "sha256=" + FOX_B64, header="Typeform-Signature", prefix="sha256=", encoding="base64")


def test_verify_hmac_strips_whitespace_after_prefix():
    verify_hmac("key", FOX, f"sha256= {FOX_HEX} ", header="X-Sig", prefix="sha256=")


@pytest.mark.parametrize("secrets", [["old", "key"], ["key", "old"], [b"old", b"key"]])
def test_verify_hmac_accepts_any_rotated_secret(secrets):
    verify_hmac(secrets, FOX, FOX_HEX, header="X-Sig")


def test_verify_hmac_rejects_when_no_rotated_secret_matches():
    with pytest.raises(InvalidSignature) as caught:
        verify_hmac(["old", "older"], FOX, FOX_HEX, header="X-Sig")
    assert caught.value.message == "the X-Sig signature does not match the body"
    assert caught.value.status == 401


@pytest.mark.parametrize("signature", [None, ""])
def test_verify_hmac_missing_header(signature):
    with pytest.raises(InvalidSignature) as caught:
        verify_hmac("key", FOX, signature, header="X-Hub-Signature")
    assert caught.value.message == "the X-Hub-Signature header is missing"


def test_verify_hmac_wrong_prefix():
    with pytest.raises(InvalidSignature) as caught:
        verify_hmac("key", FOX, "sha1=" + FOX_HEX, header="X-Sig", prefix="sha256=")
    assert caught.value.message == "the X-Sig header must start with 'sha256='"


def test_verify_hmac_prefix_required_even_if_rest_is_right():
    with pytest.raises(InvalidSignature, match="must start with 'sha256='"):
        verify_hmac("key", FOX, FOX_HEX, header="X-Sig", prefix="sha256=")


def test_verify_hmac_wrong_signature():
    wrong = FOX_HEX[:-1] + ("0" if FOX_HEX[-1] != "0" else "1")
    with pytest.raises(InvalidSignature, match="^the X-Sig signature does not match the body$"):
        verify_hmac("key", FOX, wrong, header="X-Sig")


def test_verify_hmac_rejects_body_changed_by_one_byte():
    tampered = FOX[:-1] + b"G"
    assert len(tampered) == len(FOX)
    with pytest.raises(InvalidSignature, match="does not match the body"):
        verify_hmac("key", tampered, FOX_HEX, header="X-Sig")


def test_verify_hmac_encoding_must_match():
    with pytest.raises(InvalidSignature, match="does not match"):
        verify_hmac("key", FOX, FOX_HEX, header="X-Sig", encoding="base64")


def test_verify_hmac_non_ascii_signature_is_invalid_signature():
    with pytest.raises(InvalidSignature, match="does not match the body"):
        verify_hmac("key", FOX, "sha256=\u00e9", header="Typeform-Signature", prefix="sha256=")


# --- check_timestamp -----------------------------------------------------------


@pytest.mark.parametrize("offset", [0, 299, -299, 300, -300, 0.5])
def test_check_timestamp_inside_tolerance(offset):
    now = 1_700_000_000.0
    assert check_timestamp(str(now + offset), tolerance=300, header="X-Ts", now=now) == now + offset


def test_check_timestamp_integer_string():
    assert check_timestamp("1700000000", tolerance=300, header="X-Ts", now=1_700_000_100) == 1_700_000_000.0


@pytest.mark.parametrize("offset, skew", [(301, "301"), (-301, "301"), (3600, "3600")])
def test_check_timestamp_outside_tolerance(offset, skew):
    now = 1_700_000_000
    with pytest.raises(InvalidSignature) as caught:
        check_timestamp(str(now + offset), tolerance=300, header="X-Ts", now=now)
    assert caught.value.message == f"the X-Ts timestamp is {skew}s away from now (tolerance 300s)"


def test_check_timestamp_uses_current_time_by_default():
    assert check_timestamp(str(int(time.time())), tolerance=60, header="X-Ts") > 0
    with pytest.raises(InvalidSignature, match="away from now"):
        check_timestamp(str(int(time.time()) - 3600), tolerance=60, header="X-Ts")


@pytest.mark.parametrize("value", ["abc", "12:00", "2024-01-01T00:00:00Z", "0x10"])
def test_check_timestamp_non_numeric(value):
    with pytest.raises(InvalidSignature) as caught:
        check_timestamp(value, tolerance=300, header="X-Ts", now=1_700_000_000)
    assert caught.value.message == "the X-Ts header is not a Unix timestamp"


@pytest.mark.parametrize("value", [None, ""])
def test_check_timestamp_missing(value):
    with pytest.raises(InvalidSignature, match="^the X-Ts header is missing$"):
        check_timestamp(value, tolerance=300, header="X-Ts", now=1_700_000_000)


def test_check_timestamp_infinity_is_rejected():
    with pytest.raises(InvalidSignature):
        check_timestamp("inf", tolerance=300, header="X-Ts", now=1_700_000_000)


def test_check_timestamp_nan_is_rejected():
    with pytest.raises(InvalidSignature):
        check_timestamp("nan", tolerance=300, header="X-Ts", now=1_700_000_000)


# --- Standard Webhooks -----------------------------------------------------------


def test_sign_standard_webhook_headers_shape():
    headers = sign_standard_webhook(WHSEC, "msg_1", BODY, 1_700_000_000.9)
    assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert headers["webhook-id"] == "msg_1"
    assert headers["webhook-timestamp"] == "1700000000"
    version, _, signature = headers["webhook-signature"].partition(",")
    assert version == "v1"
    assert len(base64.b64decode(signature, validate=True)) == 32


def test_standard_webhook_round_trip():
    headers = sign_standard_webhook(WHSEC, "msg_1", BODY)
    assert verify_standard_webhook(WHSEC, BODY, headers) is None


def test_standard_webhook_headers_are_case_insensitive():
    headers = {name.title(): value for name, value in sign_standard_webhook(WHSEC, "msg_1", BODY).items()}
    assert "Webhook-Signature" in headers
    verify_standard_webhook(WHSEC, BODY, headers)


def test_standard_webhook_rotation_accepts_either_secret():
    headers = sign_standard_webhook(OTHER_WHSEC, "msg_1", BODY)
    verify_standard_webhook([WHSEC, OTHER_WHSEC], BODY, headers)
    verify_standard_webhook([OTHER_WHSEC, WHSEC], BODY, headers)


def test_standard_webhook_wrong_secret():
    headers = sign_standard_webhook(OTHER_WHSEC, "msg_1", BODY)
    with pytest.raises(InvalidSignature) as caught:
        verify_standard_webhook(WHSEC, BODY, headers)
    assert caught.value.message == "Standard Webhooks verification failed: No matching signature found"


def test_standard_webhook_changed_body():
    headers = sign_standard_webhook(WHSEC, "msg_1", BODY)
    with pytest.raises(InvalidSignature, match="No matching signature found"):
        verify_standard_webhook(WHSEC, BODY.replace(b"2", b"3"), headers)


def test_standard_webhook_changed_msg_id():
    headers = sign_standard_webhook(WHSEC, "msg_1", BODY)
    with pytest.raises(InvalidSignature, match="No matching signature found"):
        verify_standard_webhook(WHSEC, BODY, {**headers, "webhook-id": "msg_2"})


def test_standard_webhook_stale_timestamp():
    headers = sign_standard_webhook(WHSEC, "msg_1", BODY, time.time() - 600)
    with pytest.raises(InvalidSignature) as caught:
        verify_standard_webhook(WHSEC, BODY, headers)
    assert caught.value.message == "Standard Webhooks verification failed: Message timestamp too old"


def test_standard_webhook_future_timestamp():
    headers = sign_standard_webhook(WHSEC, "msg_1", BODY, time.time() + 600)
    with pytest.raises(InvalidSignature, match="Message timestamp too new"):
        verify_standard_webhook(WHSEC, BODY, headers)


@pytest.mark.parametrize("signature", ["garbage", "v1,not-base64!!", "v1,a,b", "v1,\u00e9"])
def test_standard_webhook_malformed_signature_header(signature):
    headers = {**sign_standard_webhook(WHSEC, "msg_1", BODY), "webhook-signature": signature}
    with pytest.raises(InvalidSignature) as caught:
        verify_standard_webhook(WHSEC, BODY, headers)
    assert caught.value.message == (
        "Standard Webhooks verification failed: Malformed webhook-signature header or body"
    )


def test_standard_webhook_unknown_version_is_ignored():
    headers = sign_standard_webhook(WHSEC, "msg_1", BODY)
    good = headers["webhook-signature"]
    verify_standard_webhook(WHSEC, BODY, {**headers, "webhook-signature": f"v2,AAAA {good}"})
    with pytest.raises(InvalidSignature, match="No matching signature found"):
        verify_standard_webhook(WHSEC, BODY, {**headers, "webhook-signature": "v2," + good.partition(",")[2]})


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_standard_webhook_missing_header(missing):
    headers = sign_standard_webhook(WHSEC, "msg_1", BODY)
    del headers[missing]
    with pytest.raises(InvalidSignature, match="Missing required headers"):
        verify_standard_webhook(WHSEC, BODY, headers)


def test_standard_webhook_non_numeric_timestamp():
    headers = {**sign_standard_webhook(WHSEC, "msg_1", BODY), "webhook-timestamp": "yesterday"}
    with pytest.raises(InvalidSignature, match="Invalid Signature Headers"):
        verify_standard_webhook(WHSEC, BODY, headers)


def test_standard_webhook_invalid_utf8_body():
    body = b'{"text": "\xff\xfe"}'
    headers = sign_standard_webhook(WHSEC, "msg_1", b"{}")
    with pytest.raises(MalformedBody) as caught:
        verify_standard_webhook(WHSEC, body, headers)
    assert caught.value.message == "the body is not valid UTF-8"
    assert caught.value.status == 400


def test_standard_webhooks_spec_example_vector():
    """The example in the Standard Webhooks specification (also used by the Svix libraries)."""
    headers = sign_standard_webhook(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", b'{"test": 2432232314}', 1614265330
    )
    assert headers == {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }


def _pick(vector: dict, *names: str):
    """The first of `names` present in `vector` or in its `headers` mapping (the fixture's format is not fixed)."""
    scopes = [vector, {k.lower(): v for k, v in (vector.get("headers") or {}).items()}]
    for scope in scopes:
        for name in names:
            if name in scope:
                return scope[name]
    raise KeyError(f"{VECTOR_FILE.name} has none of {names}; keys: {sorted(vector)}")


@pytest.mark.skipif(not VECTOR_FILE.exists(), reason=f"{VECTOR_FILE} is not there")
def test_standard_webhooks_fixture_vector():
    """The documented vector in tests/fixtures: checked by signing at its timestamp (verify uses the clock)."""
    vector = json.loads(VECTOR_FILE.read_text(encoding="utf-8"))
    secret = _pick(vector, "secret", "whsec")
    msg_id = _pick(vector, "msg_id", "id", "webhook_id", "webhook-id", "message_id")
    timestamp = int(_pick(vector, "timestamp", "webhook_timestamp", "webhook-timestamp"))
    payload = _pick(vector, "payload", "body", "data")
    body = payload.encode("utf-8") if isinstance(payload, str) else json.dumps(payload).encode("utf-8")
    expected = _pick(vector, "signature", "expected_signature", "webhook_signature", "webhook-signature")
    expected = expected if expected.startswith("v1,") else "v1," + expected
    headers = sign_standard_webhook(secret, msg_id, body, timestamp)
    assert headers["webhook-timestamp"] == str(timestamp)
    assert headers["webhook-signature"] in expected.split(" ")


# --- signed-string templates ----------------------------------------------------

def test_signed_message_puts_the_raw_body_between_the_literal_parts():
    body = b'{"a":  1, "\xc3\xa9": "\xff"}'  # odd spacing and a byte that is not UTF-8: kept as is
    assert signed_message("{body}", body=body) == body
    assert signed_message("v0:{timestamp}:{id}:{body}", body=body, timestamp="1700000000", id="m-1") == (
        b"v0:1700000000:m-1:" + body)
    assert signed_message("{timestamp}.{body}", body=b"{}", timestamp="12") == b"12.{}"


def test_signed_message_and_its_signer_verify_together():
    message = signed_message("{timestamp}.{body}", body=FOX, timestamp="1")
    verify_hmac("key", message, "sha512=" + hmac_signature("key", message, algorithm="sha512"), header="X-Sig",
                prefix="sha512=", algorithm="sha512")
    with pytest.raises(InvalidSignature):
        verify_hmac("key", FOX, hmac_signature("key", message), header="X-Sig")  # the timestamp is signed too


def test_a_hex_signature_matches_in_either_case_and_base64_does_not():
    verify_hmac("key", FOX, FOX_HEX.upper(), header="X-Sig")
    with pytest.raises(InvalidSignature):
        verify_hmac("key", FOX, FOX_B64.swapcase(), header="X-Sig", encoding="base64")


def test_signed_parts_lists_the_placeholders_and_names_an_unknown_one():
    assert signed_parts("{timestamp}.{id}.{body}") == ["timestamp", "id", "body"]
    assert signed_parts("body") == []
    with pytest.raises(ValueError, match=r"unknown placeholder \{payload\}"):
        signed_parts("{payload}")
    with pytest.raises(ValueError):
        signed_message("{body}.{nonce}", body=b"")
