"""`cxhub serve` as a real process: it logs one line when it stops."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

import requests

from hub.testing import wait_for

ROOT = Path(__file__).parents[3]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


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
