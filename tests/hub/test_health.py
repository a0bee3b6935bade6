"""GET /healthz and GET /readyz: no token, the parts that are down named, nothing secret said."""

from __future__ import annotations

import socket

import pytest

from hub.testing import build_test_hub
CONFIG = "hub: {max_body_bytes: 1024}\n"  # nothing else is needed to be ready


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def hub_on(tmp_path, cxhub_redis_url, cxhub_database_url):
    """Build a hub on the test's backends, or on the URLs given instead; closed afterwards."""
    built = []

    def build(redis_url: str = cxhub_redis_url, database_url: str = cxhub_database_url):
        directory = tmp_path / f"hub{len(built)}"
        directory.mkdir()
        built.append(build_test_hub(CONFIG, directory, redis_url=redis_url, database_url=database_url))
        return built[-1]

    yield build
    for hub in built:
        hub.close()


def test_healthz_answers_without_a_token(hub_on):
    answer = hub_on().client.get("/healthz")
    assert (answer.status_code, answer.json) == (200, {"status": "ok"})


def test_readyz_is_ready_when_redis_and_the_database_answer(hub_on):
    answer = hub_on().client.get("/readyz")
    assert answer.status_code == 200
    assert answer.json == {"status": "ready", "checks": {"config": "ok", "redis": "ok", "database": "ok"}}


def test_readyz_names_redis_when_it_is_down_and_nothing_more(hub_on):
    port = closed_port()
    answer = hub_on(redis_url=f"redis://:hunter2@127.0.0.1:{port}/0").client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json["status"] == "not ready"
    checks = answer.json["checks"]
    assert (checks["config"], checks["database"]) == ("ok", "ok")
    assert checks["redis"].startswith("down")
    assert "hunter2" not in answer.text and str(port) not in answer.text and "127.0.0.1" not in answer.text


def test_readyz_names_the_database_when_it_is_down_and_nothing_more(hub_on):
    port = closed_port()
    answer = hub_on(database_url=f"postgresql://cxhub:hunter2@127.0.0.1:{port}/cxhub").client.get("/readyz")
    assert answer.status_code == 503
    checks = answer.json["checks"]
    assert (checks["config"], checks["redis"]) == ("ok", "ok")
    assert checks["database"].startswith("down")
    assert "hunter2" not in answer.text and str(port) not in answer.text and "127.0.0.1" not in answer.text
