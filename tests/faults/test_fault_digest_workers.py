"""Digests with real worker processes: two workers make one message; a worker killed before the flush loses nothing.

The window is short (3s), so the workers' own schedule closes it; the tests wait for the message,
never for a time.
"""

from __future__ import annotations

import pytest
from redis import Redis
from rq import Worker

from hub.testing import wait_for
from tests.conftest import APP_SOURCE, WHSEC
from tests.faults.conftest import kill
from tests.hub.noise.conftest import SLACK, SLACK_PATH, detractor, post

pytestmark = pytest.mark.faults
CONFIG = APP_SOURCE + SLACK + """
hub: {worker_threads: 1}
routes:
  - name: detractors
    actions:
      - connection: slack
        action: post_message
        digest: {every: 3s}
        params:
          text: "{{ digest.count }} detractors:{% for e in digest.events %} {{ e.data.customer.email }}{% endfor %}"
"""
TEXT = "7 detractors:" + "".join(f" customer{number}@example.com" for number in range(1, 8))


def start_workers(start_process, hub, redis_url: str, count: int, env: dict) -> list:
    """Start `count` worker processes and wait until each has its delivery thread listening."""
    redis = Redis.from_url(redis_url)
    before = Worker.count(connection=redis)
    workers = [start_process("worker", "--config", hub.app.config["CXHUB_CONFIG"], env=env) for _ in range(count)]
    wait_for(lambda: Worker.count(connection=redis) >= before + count, timeout=60, what="workers up")
    return workers


def expect_one_digest(hub, httpserver) -> None:
    httpserver.expect_oneshot_request(SLACK_PATH, method="POST", json={
        "text": TEXT, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": TEXT}}]}).respond_with_data("ok")


def digest_sent(hub):
    digests = [row for row in hub.store.reads.deliveries(limit=100) if row.is_digest]
    return digests if digests and all(row.status == "succeeded" for row in digests) else None


@pytest.fixture
def digest_hub(make_hub, httpserver):
    return make_hub(CONFIG, plugins=[], discover=True,
                    env={"APP_SECRET": WHSEC, "SLACK_WEBHOOK_URL": httpserver.url_for(SLACK_PATH)})


def test_two_workers_send_one_digest(digest_hub, httpserver, start_process, cxhub_redis_url):
    env = {"APP_SECRET": WHSEC, "SLACK_WEBHOOK_URL": httpserver.url_for(SLACK_PATH)}
    start_workers(start_process, digest_hub, cxhub_redis_url, 2, env)
    expect_one_digest(digest_hub, httpserver)
    base = digest_hub.serve()
    for number in range(1, 8):
        assert post(base, detractor(number), f"msg_{number}").status_code == 202
    [digest] = wait_for(lambda: digest_sent(digest_hub), timeout=40, interval=0.2, what="the digest sent")
    httpserver.check_assertions()
    assert len(httpserver.log) == 1
    assert not digest_hub.store.reads.deliveries(status="collecting")  # nothing left for a second message
    assert len(digest_hub.store.reads.deliveries(status="digested", limit=100)) == 7


def test_a_worker_killed_before_the_flush_loses_nothing(digest_hub, httpserver, start_process, cxhub_redis_url):
    env = {"APP_SECRET": WHSEC, "SLACK_WEBHOOK_URL": httpserver.url_for(SLACK_PATH)}
    [first] = start_workers(start_process, digest_hub, cxhub_redis_url, 1, env)
    base = digest_hub.serve()
    for number in range(1, 8):
        assert post(base, detractor(number), f"msg_{number}").status_code == 202
    kill(first)  # SIGKILL, with the window still open: the 7 events are only in the store
    expect_one_digest(digest_hub, httpserver)
    start_workers(start_process, digest_hub, cxhub_redis_url, 1, env)
    [digest] = wait_for(lambda: digest_sent(digest_hub), timeout=40, interval=0.2, what="the digest sent")
    httpserver.check_assertions()
    assert len(httpserver.log) == 1 and digest.attempts == 1
