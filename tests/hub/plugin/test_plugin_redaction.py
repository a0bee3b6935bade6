"""hub/plugin/redaction.py: the one list of what authenticates a request, dropped wherever a request is kept."""

from __future__ import annotations

import pytest

from hub.plugin.redaction import headers_to_keep, is_credential_header, is_credential_parameter, query_to_keep

CREDENTIAL_HEADERS = ["authorization", "Proxy-Authorization", "cookie", "x-api-key", "api-key", "apikey",
                      "x-auth-token", "x-access-token", "x-csrf-token", "typeform-signature", "webhook-signature",
                      "x-hub-signature-256", "x-slack-signature", "stripe-signature", "x-shopify-hmac-sha256",
                      "x-gitlab-token", "x-hook-secret", "x-vendor-password", "x-session-id", "x-amz-security-token",
                      "x_api_key", "x-wootric-sig", "x-goog-credentials"]
KEPT_HEADERS = ["content-type", "user-agent", "webhook-id", "webhook-timestamp", "x-request-id", "idempotency-key",
                "x-forwarded-for", "content-length", "accept", "x-github-event", "x-signed-by-design-team"]


@pytest.mark.parametrize("name", CREDENTIAL_HEADERS)
def test_credential_headers_are_recognised(name):
    assert is_credential_header(name)


@pytest.mark.parametrize("name", KEPT_HEADERS)
def test_headers_parsers_read_are_kept(name):
    assert not is_credential_header(name)


@pytest.mark.parametrize("name", ["token", "access_token", "api_key", "apikey", "key", "signature", "sig", "secret",
                                  "auth", "hub.verify_token", "jwt", "X-Amz-Signature", "password"])
def test_credential_query_parameters_are_recognised(name):
    assert is_credential_parameter(name)


@pytest.mark.parametrize("name", ["form", "utm_source", "survey", "keyword", "monkey", "page", "sign"])
def test_other_query_parameters_are_kept(name):
    assert not is_credential_parameter(name)


def test_filters_keep_the_rest_in_order():
    assert headers_to_keep({"a": "1", "authorization": "x", "b": "2"}) == {"a": "1", "b": "2"}
    assert query_to_keep({"token": "x", "form": "f"}) == {"form": "f"}
