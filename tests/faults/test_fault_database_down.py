"""The database cut off at the TCP level: ingest answers 503 (never a 202 it cannot keep), a real
worker process puts its deliveries back without spending attempts, and everything resumes."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy.engine import make_url

import plugins.webhook as webhook
from hub.testing import build_test_hub, wait_for
from tests.conftest import WHSEC, detractor, forward_everything, send
from tests.faults.conftest import TcpProxy

pytestmark = pytest.mark.faults
FAST = "hub: {database_retry_seconds: 2, sweep_grace_seconds: 2, sweep_interval_seconds: 0.5}\n"


@pytest.fixture
def proxied_database(cxhub_database_url):
    if not cxhub_database_url.startswith("postgresql"):
        pytest.skip("cuts PostgreSQL at the TCP level: needs CXHUB_TEST_DATABASE_URL, as .ci/run's second pass sets")
    url = make_url(cxhub_database_url)
    proxy = TcpProxy(url.port or 5432)
    yield proxy, url.set(port=proxy.port).render_as_string(hide_password=False)
    proxy.cut()


def test_database_down(proxied_database, tmp_path, httpserver, cxhub_redis_url, start_process):
    proxy, database_url = proxied_database
    httpserver.expect_request("/receiver").respond_with_data("", status=204)
    hub = build_test_hub(forward_everything(httpserver.url_for("/receiver")) + FAST, tmp_path,
                         redis_url=cxhub_redis_url, database_url=database_url, plugins=[webhook],
                         env={"APP_SECRET": WHSEC})
    try:
        for number in range(3):  # accepted before the outage, not delivered yet
            assert send(hub, detractor(response_id=number), msg_id=f"msg_{number}").status_code == 202
        proxy.cut()

        refused = send(hub, detractor(response_id=99), msg_id="msg_99")
        assert refused.status_code == 503 and refused.json["error"]["code"] == "unavailable"
        worker = start_process("worker", "--config", hub.app.config["CXHUB_CONFIG"],
                               env={"APP_SECRET": WHSEC, "DATABASE_URL": database_url})
        # The worker takes the jobs, cannot claim the deliveries, and puts them back for later.
        wait_for(lambda: hub.hub.queue.count() == 0 and hub.hub.queue.scheduled_count() == 3, timeout=20)
        assert httpserver.log == [] and worker.poll() is None

        proxy.restore()
        assert send(hub, detractor(response_id=99), msg_id="msg_99").status_code == 202  # the vendor resends
        wait_for(lambda: [d.status for d in hub.store.reads.deliveries()] == ["succeeded"] * 4, timeout=30,
                 interval=0.2)
        assert [d.attempts for d in hub.store.reads.deliveries()] == [1] * 4  # the outage cost no attempt
        received = [orjson.loads(request.data)["id"] for request, _ in httpserver.log]
        assert sorted(received) == sorted(e.id for e in hub.store.reads.events()) and len(received) == 4
    finally:
        hub.close()
