"""The test kit's embedded Redis server stops with the test session, whatever the tests left open."""

from __future__ import annotations

import os
import sys
import textwrap

import psutil

from tests.conftest import run

# A test that leaves a connection open, as a test that forgets to close its hub does.
LEAKY_TEST = textwrap.dedent("""
    from redis import Redis

    def test_leaves_a_connection_open(cxhub_redis_url):
        client = Redis.from_url(cxhub_redis_url)
        client.ping()
        test_leaves_a_connection_open.client = client
""")


def test_the_session_redis_server_is_stopped_at_the_end(tmp_path):
    (tmp_path / "test_leaky.py").write_text(LEAKY_TEST)
    basetemp = tmp_path / "session"
    embedded = {**os.environ, "CXHUB_TEST_REDIS_URL": "", "CXHUB_TEST_DATABASE_URL": ""}
    run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--basetemp={basetemp}",
         "--rootdir", tmp_path, tmp_path / "test_leaky.py"], cwd=tmp_path, env=embedded)
    left = []
    for process in psutil.process_iter(["name", "cwd"]):
        if "redis-server" in (process.info["name"] or "") and str(basetemp) in (process.info["cwd"] or ""):
            left.append(process)
            process.kill()
    assert left == []
