"""Fault injection: real `cxhub` processes on the test's Redis and database, killed and restarted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Callable, Iterator

import pytest


@pytest.fixture
def start_process(cxhub_redis_url: str, cxhub_database_url: str,
                  tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen]]:
    """Start `python -m hub.cli ARGS` in its own process group, on the test's Redis and database."""
    started: list[subprocess.Popen] = []

    def start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        environment = {**os.environ, "REDIS_URL": cxhub_redis_url, "DATABASE_URL": cxhub_database_url,
                       "CXHUB_DATA_DIR": str(tmp_path / "data"), **(env or {})}
        process = subprocess.Popen([sys.executable, "-m", "hub.cli", *args], env=environment,
                                   start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        started.append(process)
        return process

    yield start
    for process in started:
        kill(process)


def kill(process: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    """Kill the process and everything it forked (RQ's scheduler), as losing the machine would."""
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass
    process.wait(timeout=10)
