"""OAuth connections end to end: a webhook in, real jobs, a token endpoint and a receiver over real HTTP.

The generic `webhook` connection takes an `oauth:` block; its receiver here checks each request's
bearer token, and the token endpoint checks each token request as RFC 6749 says it is made.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
import pytest
from click.testing import CliRunner
from werkzeug import Request, Response

import plugins.webhook as webhook
from hub.cli import main
from hub.plugin import PluginInfo, hookimpl
from hub.testing import wait_for
from tests.conftest import APP_SOURCE, WHSEC, detractor, send
from tests.hub.outbound.oauth_standin import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, TokenEndpoint, oauth_error

ADMIN = "admin-token-0123456789"
ENV = {"APP_SECRET": WHSEC, "OUT_SECRET": WHSEC, "CLIENT_SECRET": CLIENT_SECRET, "REFRESH_TOKEN": REFRESH_TOKEN}


class Recorder:
    """Observes the lifecycle hooks."""

    paused: list[tuple[str, Any, str]] = []

    @staticmethod
    @hookimpl
    def cxhub_plugin_info() -> PluginInfo:
        return PluginInfo("recorder", "0.1")

    @staticmethod
    @hookimpl
    def cxhub_connection_paused(connection: str, until: Any, error: str) -> None:
        Recorder.paused.append((connection, until, error))


def oauth_config(receiver: str, token_url: str, grant: str = "refresh_token", attempts: int = 3) -> str:
    credentials = ("      refresh_token: {$env: REFRESH_TOKEN}\n" if grant == "refresh_token" else "")
    return APP_SOURCE + f"""
connections:
  out:
    plugin: webhook
    settings: {{url: "{receiver}", secret: {{$env: OUT_SECRET}}}}
    retry: {{max_attempts: {attempts}, initial_delay: 0, max_delay: 0}}
    circuit_breaker: {{failure_threshold: 0}}
    oauth:
      grant: {grant}
      token_url: {token_url}
      client_id: {CLIENT_ID}
      client_secret: {{$env: CLIENT_SECRET}}
{credentials}routes:
  - name: everything
    actions:
      - {{connection: out, action: forward}}
"""


class Receiver:
    """The destination: accepts only the bearer tokens the token endpoint issued and has not revoked."""

    def __init__(self, endpoint: TokenEndpoint) -> None:
        self.endpoint, self.revoked = endpoint, False
        self.accepted: list[str] = []  # webhook-ids
        self.refused = 0

    def __call__(self, request: Request) -> Response:
        token = request.headers.get("Authorization", "")[len("Bearer "):]
        if self.revoked or token not in self.endpoint.issued:
            self.refused += 1
            return Response('{"message": "Authentication credentials not found"}', status=401,
                            content_type="application/json")
        self.accepted.append(request.headers["webhook-id"])
        return Response("", status=204)


@pytest.fixture
def setup(make_hub, httpserver):
    Recorder.paused = []
    endpoint = TokenEndpoint("refresh_token")
    token_url = endpoint.install(httpserver)
    receiver = Receiver(endpoint)
    httpserver.expect_request("/receiver").respond_with_handler(receiver)
    hub = make_hub(oauth_config(httpserver.url_for("/receiver"), token_url), plugins=[webhook, Recorder], env=ENV)
    hub.app.config["CXHUB_ADMIN_TOKEN"] = ADMIN
    return hub, endpoint, receiver


def test_deliveries_carry_a_token_got_once(setup):
    hub, endpoint, receiver = setup
    for number in range(3):
        assert send(hub, detractor(1000 + number), f"msg_{number}").status_code == 202
    hub.drain()
    assert sorted(receiver.accepted) == sorted(row.id for row in hub.store.reads.deliveries())
    assert len(receiver.accepted) == 3 and receiver.refused == 0
    assert len(endpoint.requests) == 1 and endpoint.problems == []


def test_a_token_the_destination_refuses_is_renewed_once(setup):
    hub, endpoint, receiver = setup
    send(hub, detractor(1), "msg_1")
    hub.drain()
    endpoint.issued.remove("access-refresh_token-1")  # the vendor drops the token before its expires_in
    send(hub, detractor(2), "msg_2")
    hub.drain()
    assert len(receiver.accepted) == 2 and receiver.refused == 1 and len(endpoint.requests) == 2
    assert all(row.status == "succeeded" and row.attempts == 1 for row in hub.store.reads.deliveries())


def test_revoked_credentials_pause_the_connection_and_resuming_delivers_everything(setup, caplog, cxhub_redis_url,
                                                                                    cxhub_database_url):
    hub, endpoint, receiver = setup
    send(hub, detractor(1), "msg_1")
    hub.drain()
    assert len(receiver.accepted) == 1

    # The admin revokes the app: the destination refuses the token, the token endpoint the refresh token.
    receiver.revoked = True
    endpoint.answer = lambda number: oauth_error(400, "invalid_grant", "refresh token is invalid, expired or revoked")
    for number in range(2, 5):
        send(hub, detractor(number), f"msg_{number}")
    with caplog.at_level(logging.INFO):
        hub.drain()
    waiting = [row for row in hub.store.reads.deliveries() if row.status != "succeeded"]
    assert len(waiting) == 3 and all(row.status in ("queued", "retrying") for row in waiting)  # none dead
    assert sorted(row.attempts for row in waiting) == [0, 0, 1]  # only the one that met the refusal spent one
    [(connection, until, reason)] = Recorder.paused
    assert connection == "out" and until is None
    assert "invalid_grant" in reason and "refresh token is invalid, expired or revoked" in reason
    assert f"connection out paused until resumed (cxhub connections resume out): {reason}" in caplog.text

    env = {"CXHUB_CONFIG": hub.app.config["CXHUB_CONFIG"], "REDIS_URL": cxhub_redis_url,
           "DATABASE_URL": cxhub_database_url}
    listed = CliRunner().invoke(main, ["connections"], env=env, catch_exceptions=False).output
    assert "out         webhook  paused  until resumed: connection out: the token endpoint" in listed
    assert "invalid_grant" in listed
    auth = {"Authorization": f"Bearer {ADMIN}"}
    [row] = hub.client.get("/admin/connections", headers=auth).json["connections"]
    assert (row["status"], row["reason"]) == ("paused", reason)

    # Secrets appear nowhere: not in the log, the store, the admin API or the CLI.
    shown = [caplog.text, listed, orjson.dumps(hub.client.get("/admin/connections", headers=auth).json).decode()]
    for delivery in hub.store.reads.deliveries():
        shown.append(orjson.dumps(hub.client.get(f"/admin/deliveries/{delivery.id}", headers=auth).json).decode())
        shown += [repr(delivery)] + [repr(attempt) for attempt in hub.store.reads.attempts(delivery.id)]
    for text in shown:
        for secret in (CLIENT_SECRET, REFRESH_TOKEN, "access-refresh_token"):
            assert secret not in text

    # Credentials fixed at the vendor, the admin resumes: everything waiting is delivered, once.
    receiver.revoked, endpoint.answer = False, None
    assert hub.client.post("/admin/connections/out/resume", headers=auth).json["resumed"] is True
    # The worker reads the breakers at most once a second: drain until it has seen the resume.
    wait_for(lambda: hub.drain() >= 0 and all(row.status == "succeeded" for row in hub.store.reads.deliveries()),
             what="every waiting delivery delivered")
    deliveries = hub.store.reads.deliveries()
    assert len(deliveries) == 4
    assert sorted(receiver.accepted) == sorted(row.id for row in deliveries)
    assert endpoint.problems == []


def test_a_token_endpoint_that_is_down_is_retried(setup):
    hub, endpoint, receiver = setup
    endpoint.answer = lambda number: Response("upstream unavailable", status=503) if number <= 2 else None
    send(hub, detractor(1), "msg_1")
    hub.drain()
    [delivery] = hub.store.reads.deliveries()
    assert (delivery.status, delivery.attempts) == ("succeeded", 3)
    errors = [attempt.error for attempt in hub.store.reads.attempts(delivery.id)]
    assert errors[:2] == [f"the token endpoint {endpoint_host(hub)} answered 503 (status 503)"] * 2
    assert receiver.accepted == [delivery.id] and Recorder.paused == []


def endpoint_host(hub) -> str:
    return hub.hub.config.connections["out"].oauth.token_url.split("/")[2]


def test_client_credentials_with_basic_client_auth(make_hub, httpserver):
    endpoint = TokenEndpoint("client_credentials", client_auth="client_secret_basic")
    receiver = Receiver(endpoint)
    httpserver.expect_request("/receiver").respond_with_handler(receiver)
    config = oauth_config(httpserver.url_for("/receiver"), endpoint.install(httpserver), "client_credentials")
    hub = make_hub(config.replace("      client_secret: {$env: CLIENT_SECRET}\n",
                                  "      client_secret: {$env: CLIENT_SECRET}\n      client_auth: client_secret_basic\n"),
                   plugins=[webhook], env=ENV)
    send(hub, detractor(1), "msg_1")
    hub.drain()
    assert len(receiver.accepted) == 1 and endpoint.problems == []
