"""`cxhub connections [list|resume]`: states read from Redis, a held connection resumed, no secret needed."""

from __future__ import annotations

import orjson
import pytest
from click.testing import CliRunner

import plugins.webhook as webhook
from hub.cli import main
from hub.delivery.gate import hold_connection, read_breakers
from tests.conftest import WHSEC, forward_everything


@pytest.fixture
def hub(make_hub, httpserver):
    return make_hub(forward_everything(httpserver.url_for("/receiver"), secret_env="OUT_SECRET"), plugins=[webhook],
                    env={"APP_SECRET": WHSEC, "OUT_SECRET": WHSEC})


@pytest.fixture
def cxhub(hub, cxhub_redis_url, cxhub_database_url):
    env = {"CXHUB_CONFIG": hub.app.config["CXHUB_CONFIG"], "REDIS_URL": cxhub_redis_url,
           "DATABASE_URL": cxhub_database_url, "APP_SECRET": None, "OUT_SECRET": None}

    def run(*args: str, code: int = 0) -> str:
        result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output

    return run


def test_connections_lists_each_state_without_secrets(hub, cxhub):
    assert cxhub("connections").splitlines() == ["CONNECTION  PLUGIN   STATE  DETAIL", "out         webhook  ok"]
    assert cxhub("connections", "list") == cxhub("connections")
    hold_connection(hub.hub.redis, hub.hub.config.hub.queue, "out", "the receiver answered 410 Gone")
    assert cxhub("connections").splitlines()[1] == (
        "out         webhook  paused  until resumed: the receiver answered 410 Gone")
    [row] = orjson.loads(cxhub("connections", "--json"))
    assert row == {"connection": "out", "plugin": "webhook", "status": "paused", "until": None,
                   "reason": "the receiver answered 410 Gone", "failures": 0}


def test_resume_lifts_a_hold(hub, cxhub):
    prefix = hub.hub.config.hub.queue
    hold_connection(hub.hub.redis, prefix, "out", "gone")
    assert cxhub("connections", "resume", "out") == "resumed out\n"
    assert read_breakers(hub.hub.redis, prefix, ["out"])["out"].held is None
    assert cxhub("connections", "resume", "out") == "out was not paused\n"
    assert "no connection 'nope' (configured: out)" in cxhub("connections", "resume", "nope", code=1)


def test_a_connection_slowed_by_a_retry_after_says_until_when(hub, cxhub):
    from hub.outbound.pace import SharedPace

    SharedPace(hub.hub.redis, hub.hub.config.hub.queue, "out", None).back_off(120)
    line = cxhub("connections").splitlines()[1]
    assert line.startswith("out         webhook  slowed  the destination's Retry-After: nothing sent before 20")
    [row] = orjson.loads(cxhub("connections", "--json"))
    assert row["status"] == "slowed" and row["until"] is not None
