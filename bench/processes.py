"""Starting and always stopping the processes a benchmark needs, each in its own process group."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from pathlib import Path
from typing import Mapping, Sequence

import psutil

from hub.testing import wait_for


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), 0.2).close()
        return True
    except OSError:
        return False


class Processes:
    """Every process started through it is stopped by `stop_all` (SIGTERM, then SIGKILL), logs kept in `logs`."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.started: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, command: Sequence[str], env: Mapping[str, str] | None = None,
              port: int | None = None, cwd: str | None = None) -> subprocess.Popen:
        log = (self.logs / f"{name}-{len(self.started)}.log").open("wb")
        process = subprocess.Popen(list(command), env={**os.environ, **(env or {})}, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True, cwd=cwd)
        self.started.append((name, process))
        if port is not None:
            wait_for(lambda: port_open(port) or process.poll() is not None, 60, what=f"{name} listening on {port}")
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited at start-up; see {log.name}")
        return process

    def stop(self, process: subprocess.Popen, timeout: float = 10) -> None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                return
            try:
                process.wait(timeout)
                return
            except subprocess.TimeoutExpired:
                continue

    def stop_all(self) -> None:
        for _, process in reversed(self.started):
            self.stop(process)
        self.started.clear()


def tree_rss_mb(process: subprocess.Popen) -> dict[str, float]:
    """RSS in MB of a process and each of its children, by pid (gunicorn's master and workers)."""
    try:
        root = psutil.Process(process.pid)
        return {f"{p.pid}": p.memory_info().rss / 2**20 for p in [root, *root.children(recursive=True)]}
    except psutil.NoSuchProcess:
        return {}
