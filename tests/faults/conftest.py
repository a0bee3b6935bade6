"""Fault injection: real `cxhub` processes on the test's Redis and database, killed and restarted."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Callable, Iterator

import pytest


@pytest.fixture
def start_process(cxhub_redis_url: str, cxhub_database_url: str,
                  tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen]]:
    """Start `python -m hub.cli ARGS` in its own process group, on the test's Redis and database."""
    started: list[subprocess.Popen] = []

    def environment(env: dict[str, str] | None = None) -> dict[str, str]:
        return {**os.environ, "REDIS_URL": cxhub_redis_url, "DATABASE_URL": cxhub_database_url,
                "CXHUB_DATA_DIR": str(tmp_path / "data"), **(env or {})}

    def start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        """Output goes to a file (a pipe nobody reads would block a chatty process): `process.log`."""
        log = tmp_path / f"{args[0]}-{len(started)}.log"
        with log.open("wb") as output:
            process = subprocess.Popen([sys.executable, "-m", "hub.cli", *args], env=environment(env),
                                       start_new_session=True, stdout=output, stderr=subprocess.STDOUT)
        process.log = log  # type: ignore[attr-defined]
        started.append(process)
        return process

    start.environment = environment  # type: ignore[attr-defined]
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


class TcpProxy:
    """A loopback TCP proxy whose link can be cut (every connection dropped, new ones refused) and restored."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.sockets: list[socket.socket] = []
        self.listener: socket.socket | None = None
        self.lock = threading.Lock()
        self.restore()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port, self.listener = listener.getsockname()[1], listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self.lock:
            for sock in [self.listener, *self.sockets]:
                if sock is not None:
                    _close(sock)
            self.sockets, self.listener = [], None

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            with self.lock:
                self.sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        _close(source)
        _close(sink)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
