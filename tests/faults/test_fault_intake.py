"""`accept_into: redis` under faults: Redis killed with webhooks accepted but not yet stored, and an
intake worker SIGKILLed in the middle of its batches. Every event answered 202 is stored once."""

from __future__ import annotations

import time

import pytest
from redis import Redis

import plugins.webhook as webhook
from hub.ingest.intake import GROUP
from hub.testing import build_test_hub, wait_for
from tests.conftest import WHSEC, detractor, forward_everything, send
from tests.faults.conftest import kill
from tests.faults.test_fault_redis_restarted import start_redis
from tests.faults.test_fault_web_killed import free_port

pytestmark = pytest.mark.faults
INTO_REDIS = "hub: {accept_into: redis, intake_claim_seconds: 1}\n"


def test_redis_killed_with_accepted_webhooks_in_the_log(tmp_path, httpserver, cxhub_database_url, start_process):
    httpserver.expect_request("/receiver").respond_with_data("", status=204)
    port = free_port()
    redis_url = f"redis://127.0.0.1:{port}/0"
    redis = start_redis(tmp_path, port, persistent=True)  # appendfsync always: a 202 is on disk
    hub = build_test_hub(INTO_REDIS + forward_everything(httpserver.url_for("/receiver")), tmp_path,
                         redis_url=redis_url, database_url=cxhub_database_url, plugins=[webhook],
                         env={"APP_SECRET": WHSEC})
    try:
        for number in range(3):
            assert send(hub, detractor(response_id=number), msg_id=f"msg_{number}").status_code == 202
        kill(redis)
        redis = start_redis(tmp_path, port, persistent=True)
        assert hub.hub.intake.backlog() == 3

        start_process("worker", "--config", hub.app.config["CXHUB_CONFIG"],
                      env={"REDIS_URL": redis_url, "APP_SECRET": WHSEC})
        wait_for(lambda: [d.status for d in hub.store.reads.deliveries()] == ["succeeded"] * 3, timeout=40,
                 interval=0.2, what="three deliveries")
        assert len(httpserver.log) == 3
        assert hub.hub.intake.backlog() == 0
    finally:
        hub.close()
        kill(redis)
        time.sleep(0.1)


def test_intake_worker_killed_mid_batch(make_hub, start_process):
    count = 3000
    hub = make_hub(INTO_REDIS + forward_everything("http://127.0.0.1:9/unused"), plugins=[webhook],
                   env={"APP_SECRET": WHSEC})
    for number in range(count):
        assert send(hub, detractor(response_id=number), msg_id=f"msg_{number}").status_code == 202
    config = hub.app.config["CXHUB_CONFIG"]
    redis: Redis = hub.hub.redis

    first = start_process("worker", "--intake-only", "--config", config, env={"APP_SECRET": WHSEC})
    # Killed while it holds a later batch: some stored, some held unacknowledged, most not read. (Waiting
    # for a first batch stored alone could land the kill between one batch's acknowledgement and the next read.)
    wait_for(lambda: stored_events(hub) > 0 and redis.xpending(hub.hub.intake.key, GROUP)["pending"] > 0, 60,
             interval=0.01, what="a first batch stored and a later one held")
    kill(first)
    held = redis.xpending(hub.hub.intake.key, GROUP)["pending"]
    assert held > 0 and stored_events(hub) < count, (held, stored_events(hub))

    start_process("worker", "--intake-only", "--config", config, env={"APP_SECRET": WHSEC})
    wait_for(lambda: hub.hub.intake.backlog() == 0, 60, interval=0.2, what="the log taken in")
    assert stored_events(hub) == count
    rows = hub.store.reads.deliveries(limit=10 * count)
    assert len(rows) == count and len({row.event_id for row in rows}) == count  # each event routed once


def stored_events(hub) -> int:
    return len(hub.store.reads.events(limit=10**6))
