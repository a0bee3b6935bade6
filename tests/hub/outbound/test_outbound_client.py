"""A connection's HttpClient with an OAuth token and a shared pace, against a real HTTP stand-in."""

from __future__ import annotations

import time

import pytest
from redis import Redis
from werkzeug import Request, Response

from hub.config.model import ConnectionConfig, OAuthConfig
from hub.outbound.client import connection_client
from hub.outbound.pace import SharedPace
from hub.plugin.errors import AuthFailed, RetryLater, Throttled
from hub.plugin.settings import Secret
from hub.plugin.types import RateLimit
from tests.hub.outbound.oauth_standin import CLIENT_ID, CLIENT_SECRET, TokenEndpoint


@pytest.fixture
def redis(cxhub_redis_url):
    client = Redis.from_url(cxhub_redis_url)
    yield client
    client.close()


def oauth_connection(api_url: str, token_url: str) -> ConnectionConfig:
    oauth = OAuthConfig("client_credentials", token_url, CLIENT_ID, client_secret=Secret(CLIENT_SECRET, "S"))
    return ConnectionConfig("crm", "webhook", {"url": api_url}, oauth=oauth)


def test_every_request_carries_the_bearer_token_instead_of_any_other(httpserver, redis):
    endpoint = TokenEndpoint("client_credentials")
    token_url = endpoint.install(httpserver)
    seen: list[str | None] = []
    httpserver.expect_request("/api/items").respond_with_handler(
        lambda request: (seen.append(request.headers.get("Authorization")), Response("{}"))[1])
    client = connection_client(redis, "cxhub", oauth_connection(httpserver.url_for("/api/"), token_url), "url", None)
    client.get("items", headers={"authorization": "Basic c3RvbGVu"})
    client.get("items", auth=("user", "password"))
    assert seen == ["Bearer access-client_credentials-1"] * 2 and len(endpoint.requests) == 1
    assert "access-client" not in repr(client) and "access-client" not in repr(client.credentials)


def test_a_401_renews_the_token_once_and_sends_again(httpserver, redis):
    endpoint = TokenEndpoint("client_credentials")
    token_url = endpoint.install(httpserver)

    def api(request: Request) -> Response:
        if request.headers["Authorization"] == "Bearer access-client_credentials-1":
            return Response('{"message": "expired"}', status=401)  # revoked before its expires_in
        return Response('{"id": 7}', status=201)

    httpserver.expect_request("/api/items", method="POST").respond_with_handler(api)
    client = connection_client(redis, "cxhub", oauth_connection(httpserver.url_for("/api/"), token_url), "url", None)
    assert client.post("items", data=b"{}").status_code == 201
    assert len(endpoint.requests) == 2 and endpoint.problems == []


def test_a_401_that_a_new_token_does_not_cure_is_auth_failed_without_the_token(httpserver, redis):
    endpoint = TokenEndpoint("client_credentials")
    token_url = endpoint.install(httpserver)
    httpserver.expect_request("/api/items").respond_with_handler(
        lambda request: Response(f"bad token {request.headers['Authorization'][7:]}", status=401))
    client = connection_client(redis, "cxhub", oauth_connection(httpserver.url_for("/api/"), token_url), "url", None)
    with pytest.raises(AuthFailed) as caught:
        client.get("items")
    assert len(endpoint.requests) == 2  # renewed once, not more
    assert "access-client" not in caught.value.message and "bad token ********" in caught.value.message


def test_a_token_endpoint_that_is_down_makes_the_request_retry_later(httpserver, redis):
    httpserver.expect_request("/oauth/token").respond_with_data("", status=503)
    api = httpserver.expect_request("/api/items")
    api.respond_with_data("{}")
    client = connection_client(redis, "cxhub", oauth_connection(httpserver.url_for("/api/"),
                                                                httpserver.url_for("/oauth/token")), "url", None)
    with pytest.raises(RetryLater) as caught:
        client.get("items")
    assert not isinstance(caught.value, AuthFailed)
    assert all(request.path != "/api/items" for request, _ in httpserver.log)  # nothing sent without a token


def test_the_pace_lets_the_limit_through_then_throttles(redis):
    slept: list[float] = []
    pace = SharedPace(redis, "cxhub", "crm", RateLimit(3, 10), sleep=slept.append)
    other_worker = SharedPace(redis, "cxhub", "crm", RateLimit(3, 10), sleep=slept.append)
    pace.acquire(), other_worker.acquire(), pace.acquire()
    assert other_worker.wait() > 2
    other_worker.start_attempt()
    with pytest.raises(Throttled, match="at its rate limit") as caught:
        other_worker.acquire()
    assert 2 < caught.value.after <= 10 and slept == []  # too long to wait in the thread: back to the queue


def test_a_later_request_of_an_attempt_waits_rather_than_repeat_the_first(redis):
    slept: list[float] = []
    pace = SharedPace(redis, "cxhub", "lookup-then-update", RateLimit(1, 3),
                      sleep=lambda seconds: (slept.append(seconds), time.sleep(seconds)))
    pace.start_attempt()
    pace.acquire()  # the lookup
    pace.acquire()  # the update: the window is full for 3 s, longer than a first request may wait, yet it waits
    assert len(slept) >= 1 and sum(slept) > 2
    pace.start_attempt()
    with pytest.raises(Throttled):  # a new attempt's first request is given back instead
        pace.acquire()


def test_a_short_wait_is_slept_in_the_thread(redis):
    moment = [100.0]

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        moment[0] += seconds

    slept: list[float] = []
    pace = SharedPace(redis, "cxhub", "fast", RateLimit(1, 1), clock=lambda: moment[0], sleep=sleep)
    pace.back_off(1.5)  # a Retry-After of 1.5 s
    pace.start_attempt()
    pace.acquire()
    assert slept == [pytest.approx(1.5)]


def test_a_429_with_retry_after_slows_every_worker(httpserver, redis):
    httpserver.expect_request("/api/items").respond_with_data("slow down", status=429, headers={"Retry-After": "30"})
    pace = SharedPace(redis, "cxhub", "crm", None)
    config = ConnectionConfig("crm", "webhook", {"url": httpserver.url_for("/api/")})
    client = connection_client(redis, "cxhub", config, "url", pace)
    with pytest.raises(RetryLater) as caught:
        client.get("items")
    assert caught.value.after == 30
    other_worker = SharedPace(redis, "cxhub", "crm", RateLimit(100, 10))
    assert 25 < other_worker.wait() <= 30
    pace.back_off(5)  # a shorter Retry-After later never brings the moment nearer
    assert 25 < other_worker.backoff_remaining() <= 30


def test_a_redis_that_fails_makes_the_request_retry_never_die(httpserver):
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    from tests.hub.plugin.test_plugin_http import closed_port

    unreachable = Redis(port=closed_port(), retry=Retry(NoBackoff(), 0))
    httpserver.expect_request("/api/items").respond_with_data("{}")
    config = oauth_connection(httpserver.url_for("/api/"), httpserver.url_for("/oauth/token"))
    client = connection_client(unreachable, "cxhub", config, "url", SharedPace(unreachable, "cxhub", "crm", None))
    with pytest.raises(RetryLater, match=r"the token cache \(Redis\) is unavailable"):
        client.get("items")
    paced = SharedPace(unreachable, "cxhub", "crm", RateLimit(10, 1))
    with pytest.raises(RetryLater, match=r"rate limit \(Redis\) is unavailable"):
        paced.acquire()
    assert len(httpserver.log) == 0
