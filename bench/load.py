"""Load generators: wrk (closed loop, the reference tool) and a fixed-rate Python sender (open loop)."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import requests

from bench.payloads import signed

WRK_SCRIPT = r"""
local sigs, bodies, n = {}, {}, 0
init = function(args)
  for line in io.lines(args[1]) do
    local tab = line:find("\t", 1, true)
    sigs[#sigs + 1] = line:sub(1, tab - 1)
    bodies[#bodies + 1] = line:sub(tab + 1)
  end
end
request = function()
  n = n + 1
  local i = (n - 1) % #bodies + 1
  return wrk.format("POST", args_path, {["Content-Type"] = "application/json", ["Typeform-Signature"] = sigs[i]},
                    bodies[i])
end
done = function(summary, latency, requests)
  io.write(string.format('RESULT {"requests": %d, "duration_us": %d, "non_2xx": %d, "socket_errors": %d, '
    .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


@dataclass(frozen=True)
class LoadResult:
    rate: float  # requests per second
    p50_ms: float
    p99_ms: float
    requests: int
    failed: int  # non-2xx answers and socket errors
    tool: str


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def run_wrk(url: str, payload_file: Path, *, seconds: int, connections: int = 32, path: str = "/hooks/typeform",
            workdir: Path) -> LoadResult:
    """`wrk -t1 -c32`: POST the pre-signed requests of `payload_file`, each at most once if there are enough."""
    script = workdir / "cxhub-bench.lua"
    script.write_text(f'args_path = "{path}"\n' + WRK_SCRIPT)
    output = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script),
                             url, "--", str(payload_file)], capture_output=True, text=True, check=True).stdout
    line = next(line for line in output.splitlines() if line.startswith("RESULT "))
    data = json.loads(line[len("RESULT "):])
    return LoadResult(data["requests"] / (data["duration_us"] / 1e6), data["p50_us"] / 1000, data["p99_us"] / 1000,
                      data["requests"], data["non_2xx"] + data["socket_errors"], "wrk -t1 -c%d" % connections)


def run_python_load(url: str, *, seconds: int, connections: int = 32, start: int = 0) -> LoadResult:
    """A closed-loop fallback when wrk is not installed: `connections` threads with keep-alive sessions."""
    latencies: list[float] = []
    failed = [0]
    stop = time.monotonic() + seconds
    counter = iter(range(start, start + 10**9))
    lock = threading.Lock()

    def loop() -> None:
        session = requests.Session()
        while time.monotonic() < stop:
            with lock:
                number = next(counter)
            sig, body = next(signed(number, 1))
            began = time.perf_counter()
            response = session.post(url + "/hooks/typeform", data=body, headers={
                "Content-Type": "application/json", "Typeform-Signature": sig})
            latencies.append(time.perf_counter() - began)
            failed[0] += response.status_code >= 300

    threads = [threading.Thread(target=loop) for _ in range(connections)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    elapsed = time.monotonic() - began
    return LoadResult(len(latencies) / elapsed, latencies[len(latencies) // 2] * 1000,
                      latencies[int(len(latencies) * 0.99)] * 1000, len(latencies), failed[0], "python threads")


def hub_accepted(response: requests.Response, number: int) -> list[str]:
    """The event ids a hub's 202 names."""
    return response.json()["accepted"] if response.status_code == 202 else []


def send_at_rate(url: str, rate: float, seconds: float, start: int, *, sent: dict[str, float] | None = None,
                 accepted: Callable[[requests.Response, int], list[str]] = hub_accepted) -> dict[str, float]:
    """Open loop: send signed events at a fixed rate; return {event id: send time}.

    Each thread waits for its answer before its next send, so there are enough threads to keep
    the rate while answers take up to 32/rate seconds (about 90 ms at 350 req/s). `sent` fills
    as answers come (a caller can watch the backlog meanwhile); `accepted` names the ids an
    answer accepted (the hub's 202 lists them; a reference app's does not).
    """
    sent = {} if sent is None else sent
    total = int(rate * seconds)
    threads = 32
    began = time.time() + 0.2

    def loop(offset: int) -> None:
        session = requests.Session()
        for index in range(offset, total, threads):
            due = began + index / rate
            time.sleep(max(0.0, due - time.time()))
            sig, body = next(signed(start + index, 1))
            moment = time.time()
            response = session.post(url + "/hooks/typeform", data=body, headers={
                "Content-Type": "application/json", "Typeform-Signature": sig})
            for event_id in accepted(response, start + index):
                sent[event_id] = moment

    workers = [threading.Thread(target=loop, args=(offset,)) for offset in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sent
