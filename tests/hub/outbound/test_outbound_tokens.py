"""Token requests as each grant documents them, and one token shared through Redis, renewed once."""

from __future__ import annotations

import threading

import pytest
from redis import Redis

from hub.config.model import OAuthConfig
from hub.outbound.oauth import Token, request_token
from hub.outbound.tokens import SharedToken
from hub.plugin.errors import AuthFailed, RetryLater
from hub.plugin.settings import Secret
from tests.hub.outbound.oauth_standin import (
    CLIENT_ID,
    CLIENT_SECRET,
    REFRESH_TOKEN,
    TokenEndpoint,
    oauth_error,
    rsa_key_pair,
)
from tests.hub.plugin.test_plugin_http import closed_port


@pytest.fixture
def redis(cxhub_redis_url):
    client = Redis.from_url(cxhub_redis_url)
    yield client
    client.close()


def config(token_url: str, grant: str = "client_credentials", **overrides) -> OAuthConfig:
    base = {"client_secret": Secret(CLIENT_SECRET, "CLIENT_SECRET")}
    if grant == "refresh_token":
        base["refresh_token"] = Secret(REFRESH_TOKEN, "REFRESH_TOKEN")
    return OAuthConfig(grant, token_url, CLIENT_ID, **{**base, **overrides})


@pytest.mark.parametrize("client_auth", ["client_secret_post", "client_secret_basic"])
def test_client_credentials_as_rfc_6749_section_4_4(httpserver, client_auth):
    endpoint = TokenEndpoint("client_credentials", client_auth=client_auth, scope="crm.objects.contacts.write tickets")
    url = endpoint.install(httpserver)
    token = request_token(config(url, client_auth=client_auth, scope="crm.objects.contacts.write tickets"),
                          refresh_token=None, timeout=5, connection="crm")
    assert endpoint.problems == []
    assert token.access_token == "access-client_credentials-1" and token.refresh_token is None
    assert "access-client_credentials-1" not in repr(token)


def test_refresh_token_as_rfc_6749_section_6_and_a_rotated_one_kept(httpserver):
    endpoint = TokenEndpoint("refresh_token", rotate_to="refresh-token-rotated-71")
    url = endpoint.install(httpserver)
    token = request_token(config(url, "refresh_token"), refresh_token=REFRESH_TOKEN, timeout=5, connection="crm")
    assert endpoint.problems == [] and token.refresh_token == "refresh-token-rotated-71"
    assert "refresh-token-rotated-71" not in repr(token)


@pytest.mark.parametrize("one_line", [False, True])
def test_jwt_bearer_as_rfc_7523_with_rs256_claims(httpserver, one_line):
    pem, public = rsa_key_pair()
    if one_line:  # as an environment variable often holds it
        pem = pem.replace("\n", "\\n")
    endpoint = TokenEndpoint("jwt_bearer", public_key=public, subject="integration@example.com",
                             audience="https://login.salesforce.com", expires_in=None)
    url = endpoint.install(httpserver, "/services/oauth2/token")
    oauth = OAuthConfig("jwt_bearer", url, CLIENT_ID, private_key=Secret(pem, "SF_KEY"),
                        subject="integration@example.com", audience="https://login.salesforce.com")
    token = request_token(oauth, refresh_token=None, timeout=5, connection="sf")
    assert endpoint.problems == [] and token.access_token == "access-jwt_bearer-1"


@pytest.mark.parametrize("error", ["invalid_grant", "invalid_client"])
def test_a_refused_grant_is_auth_failed_with_its_reason_and_no_secret(httpserver, error):
    endpoint = TokenEndpoint("refresh_token", answer=lambda number: oauth_error(
        400, error, f"token {REFRESH_TOKEN} is expired or revoked"))
    url = endpoint.install(httpserver)
    with pytest.raises(AuthFailed) as caught:
        request_token(config(url, "refresh_token"), refresh_token=REFRESH_TOKEN, timeout=5, connection="crm")
    assert error in caught.value.message and "resume the connection" in caught.value.message
    assert REFRESH_TOKEN not in caught.value.message and CLIENT_SECRET not in caught.value.message


def test_a_vendors_own_json_refusal_is_auth_failed_with_its_reason(httpserver):
    """HubSpot answers a refused refresh in its own error format, not OAuth's (no `error` key)."""
    httpserver.expect_request("/oauth/v1/token").respond_with_json(
        {"status": "BAD_REFRESH_TOKEN", "message": f"missing or unknown refresh token {REFRESH_TOKEN}",
         "correlationId": "9e9b5b2e-4b3c-4f3a-9d5e-2b1c0a6f7d31"}, status=400)
    with pytest.raises(AuthFailed) as caught:
        request_token(config(httpserver.url_for("/oauth/v1/token"), "refresh_token"), refresh_token=REFRESH_TOKEN,
                      timeout=5, connection="crm")
    assert "refused the credentials (BAD_REFRESH_TOKEN: missing or unknown refresh token ********)" in \
        caught.value.message and caught.value.status_code == 400


@pytest.mark.parametrize("status, body", [(503, "<html>down for maintenance</html>"), (429, '{"error": "slow_down"}'),
                                          (500, '{"error": "server_error"}')])
def test_a_token_endpoint_that_is_down_is_retry_later(httpserver, status, body):
    httpserver.expect_request("/oauth/token").respond_with_data(body, status=status, headers={"Retry-After": "7"},
                                                                content_type="application/json")
    with pytest.raises(RetryLater) as caught:
        request_token(config(httpserver.url_for("/oauth/token")), refresh_token=None, timeout=5, connection="crm")
    assert not isinstance(caught.value, AuthFailed) and caught.value.after == 7.0


def test_an_unreachable_token_endpoint_is_retry_later():
    with pytest.raises(RetryLater) as caught:
        request_token(config(f"http://127.0.0.1:{closed_port()}/token"), refresh_token=None, timeout=2,
                      connection="crm")
    assert not isinstance(caught.value, AuthFailed) and "failed to connect" in caught.value.message


def test_an_answer_without_a_bearer_token_pauses(httpserver):
    httpserver.expect_request("/oauth/token").respond_with_json({"access_token": "x", "token_type": "mac"})
    with pytest.raises(AuthFailed, match="bearer tokens only"):
        request_token(config(httpserver.url_for("/oauth/token")), refresh_token=None, timeout=5, connection="crm")


def test_one_token_is_shared_by_every_thread_and_renewed_once(httpserver, redis):
    endpoint = TokenEndpoint("client_credentials")
    oauth = config(endpoint.install(httpserver))
    holders = [SharedToken(redis, "cxhub", "crm", oauth, timeout=5) for _ in range(2)]  # as two processes
    seen: list[str] = []
    threads = [threading.Thread(target=lambda holder=holder: seen.append(holder.current()))
               for holder in holders * 4]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert seen == ["access-client_credentials-1"] * 8 and len(endpoint.requests) == 1
    # A 401 on the token: the first holder renews it, the second finds the renewed one in Redis.
    assert holders[0].renew("access-client_credentials-1") == "access-client_credentials-2"
    assert holders[1].renew("access-client_credentials-1") == "access-client_credentials-2"
    assert len(endpoint.requests) == 2 and endpoint.problems == []
    assert "access-client" not in repr(holders[0])


def test_a_token_near_its_expiry_is_renewed_before_use(httpserver, redis):
    moment = [1000.0]
    endpoint = TokenEndpoint("refresh_token", expires_in=1800, rotate_to="refresh-token-rotated-2")
    oauth = config(endpoint.install(httpserver), "refresh_token")
    holder = SharedToken(redis, "cxhub", "crm", oauth, timeout=5, clock=lambda: moment[0])
    first = holder.current()
    moment[0] += 1800 - 61
    assert holder.current() == first and len(endpoint.requests) == 1  # not yet
    moment[0] += 2  # within a minute of expiry: renew now, before a request is refused
    second = holder.current()
    assert (first, second) == ("access-refresh_token-1", "access-refresh_token-2")
    assert [form["refresh_token"] for form in endpoint.requests] == [[REFRESH_TOKEN], ["refresh-token-rotated-2"]]
    assert endpoint.problems == []


def test_new_credentials_never_use_a_token_got_with_the_old(httpserver, redis):
    endpoint = TokenEndpoint("client_credentials")
    url = endpoint.install(httpserver)
    SharedToken(redis, "cxhub", "crm", config(url), timeout=5).current()
    other = config(url, client_secret=Secret("another-secret", "CLIENT_SECRET"))
    holder = SharedToken(redis, "cxhub", "crm", other, timeout=5)
    with pytest.raises(AuthFailed):  # the stand-in knows only the first secret
        holder.current()
    assert len(endpoint.requests) == 2


def test_token_repr_hides_values():
    token = Token("secret-access", 60.0, "secret-refresh")
    assert "secret" not in repr(token)
