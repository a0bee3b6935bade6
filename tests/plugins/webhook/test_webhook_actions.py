"""`forward` over real HTTP: signing with several secrets during a rotation, and a 410 Gone pausing the connection."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from click.testing import CliRunner
from standardwebhooks import Webhook, WebhookVerificationError

import plugins.webhook as webhook
from hub.cli import main
from hub.config import ConfigError, parse_config
from hub.operations import resume_connection
from hub.plugin import hookimpl
from hub.pluginhost import PluginHost, build_plugin_manager
from hub.testing import wait_for
from tests.conftest import OTHER_WHSEC, WHSEC, detractor, forward_everything, send

NEW_WHSEC = "whsec_" + "bmV3LXNlY3JldC1mb3ItdGhlLXJvdGF0aW9uIQ=="  # base64 of "new-secret-for-the-rotation!"


def rotating(url: str) -> str:
    """The test config with the connection signing with two secrets, as during a rotation."""
    return forward_everything(url).replace("secret: {$env: APP_SECRET}}", "secret: [{$env: OLD}, {$env: NEW}]}")


def test_two_secrets_give_two_signatures_each_verifiable_alone(make_hub, httpserver):
    httpserver.expect_request("/receiver").respond_with_data("", status=204)
    hub = make_hub(rotating(httpserver.url_for("/receiver")), plugins=[webhook],
                   env={"APP_SECRET": WHSEC, "OLD": OTHER_WHSEC, "NEW": NEW_WHSEC})
    send(hub, detractor())
    hub.drain()
    [(request, _)] = httpserver.log
    headers, body = {name.lower(): value for name, value in request.headers.items()}, request.get_data()
    signatures = headers["webhook-signature"].split(" ")
    assert len(signatures) == 2 and all(signature.startswith("v1,") for signature in signatures)
    for secret, signature in zip([OTHER_WHSEC, NEW_WHSEC], signatures):
        Webhook(secret).verify(body, {**headers, "webhook-signature": signature})  # raises unless it matches
    with pytest.raises(WebhookVerificationError):  # and neither signature is the other secret's
        Webhook(OTHER_WHSEC).verify(body, {**headers, "webhook-signature": signatures[1]})
    with pytest.raises(WebhookVerificationError):
        Webhook(WHSEC).verify(body, headers)  # a receiver with neither secret rejects it


@pytest.mark.parametrize("env, expected", [
    ({"OLD": OTHER_WHSEC, "NEW": "not base64 !!"},
     "connections.out.settings.secret: Secret($NEW) is not a Standard Webhooks secret (whsec_ followed by base64)"),
    ({"OLD": OTHER_WHSEC}, "connections.out.settings.secret[1]: environment variable NEW is not set"),
])
def test_each_secret_of_a_list_is_checked(env, expected):
    host = PluginHost(build_plugin_manager([webhook], discover=False))
    with pytest.raises(ConfigError) as caught:
        parse_config(rotating("http://127.0.0.1:9/receiver"), "cxhub.yaml", host, {"APP_SECRET": WHSEC, **env})
    assert [str(problem).split(": ", 1)[1] for problem in caught.value.problems] == [expected]


class Alerts:
    """Records the connection lifecycle hooks."""

    calls: list[tuple[str, Any]] = []

    @staticmethod
    @hookimpl
    def cxhub_plugin_info():
        from hub.plugin import PluginInfo

        return PluginInfo(name="alerts", version="1.0")

    @staticmethod
    @hookimpl
    def cxhub_connection_paused(connection: str, until: datetime | None, error: str) -> None:
        Alerts.calls.append(("paused", (connection, until, error)))

    @staticmethod
    @hookimpl
    def cxhub_connection_resumed(connection: str) -> None:
        Alerts.calls.append(("resumed", connection))


@pytest.fixture
def gone_hub(make_hub, httpserver, cxhub_redis_url, cxhub_database_url):
    Alerts.calls = []
    hub = make_hub(forward_everything(httpserver.url_for("/receiver"), attempts=3), plugins=[webhook, Alerts],
                   env={"APP_SECRET": WHSEC})
    env = {"CXHUB_CONFIG": hub.app.config["CXHUB_CONFIG"], "REDIS_URL": cxhub_redis_url,
           "DATABASE_URL": cxhub_database_url}

    def cxhub(*args: str) -> str:
        result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    return hub, cxhub


def test_a_410_pauses_the_connection_until_it_is_resumed(gone_hub, httpserver, caplog):
    hub, cxhub = gone_hub
    httpserver.expect_oneshot_request("/receiver").respond_with_data("endpoint disabled", status=410)
    httpserver.expect_request("/receiver").respond_with_data("", status=204)
    for number in range(3):
        send(hub, detractor(response_id=number), msg_id=f"msg_{number}")
    hub.drain()

    assert len(httpserver.log) == 1  # the 410; the next deliveries were not sent
    deliveries = hub.store.reads.deliveries()
    assert sorted(d.status for d in deliveries) == ["queued", "queued", "retrying"]  # waiting, none dead
    [gone] = [d for d in deliveries if d.attempts == 1]
    [attempt] = hub.store.reads.attempts(gone.id)
    assert (attempt.outcome, attempt.status_code) == ("paused", 410)
    reason = f"the receiver answered 410 Gone: POST to localhost:{httpserver.port} answered 410: endpoint disabled"
    assert Alerts.calls == [("paused", ("out", None, reason))]
    assert f"connection out paused until resumed (cxhub connections resume out): {reason}" in caplog.text
    assert cxhub("connections").splitlines()[1].split(None, 3) == ["out", "webhook", "paused",
                                                                    f"until resumed: {reason}"]

    assert resume_connection(hub.hub, "out") is True  # what `cxhub connections resume out` does
    assert Alerts.calls[-1] == ("resumed", "out")
    # Workers see the resume when they next read the connection states (within a second).
    wait_for(lambda: hub.drain() >= 0 and len(httpserver.log) == 4)
    assert sorted((d.status, d.attempts) for d in hub.store.reads.deliveries()) == [
        ("succeeded", 1), ("succeeded", 1), ("succeeded", 2)]  # the 410 cost its one attempt, nothing more
    assert cxhub("connections").splitlines()[1].split() == ["out", "webhook", "ok"]
    assert cxhub("connections", "resume", "out") == "out was not paused\n"
