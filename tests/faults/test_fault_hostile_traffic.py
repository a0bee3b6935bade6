"""The web process under attack while normal traffic flows: 1,000 slow clients, 200 MB declared bodies
and hostile text against catastrophic route patterns, all at once, on loopback.

Every normal request must get its 202 and every accepted event must be stored. The normal
traffic's latencies are printed (p50, p99; run with -s to see them): a measurement for the
report, not an assertion. Each request has a 20 s timeout, as a hang detector.
"""

from __future__ import annotations

import math
import socket
import threading
import time

import orjson
import pytest
import requests

import plugins.webhook as webhook
from hub.testing import sign_standard_webhook, wait_for
from hub.testing.slow_clients import SlowClients
from tests.conftest import APP_SOURCE, WHSEC

pytestmark = pytest.mark.faults

SLOW_CLIENTS = 1000
NORMAL_REQUESTS = 300
NORMAL_SENDERS = 3
ATTACK_SECONDS = 60  # the attackers stop by then at the latest
RUNS = ("a" * 31 + "!") * 1800
CONFIG = APP_SOURCE + """
connections:
  out:
    plugin: webhook
    settings: {url: "http://127.0.0.1:9/unused", secret: {$env: APP_SECRET}}
routes:
  - name: nested-plus
    when: {field: data.text, regex: "(a+)+$"}
    actions: [{connection: out, action: forward}]
  - name: words-and-spaces
    when: {field: data.text, regex: "^(\\\\w+\\\\s?)*$"}
    actions: [{connection: out, action: forward}]
  - name: everything
    actions: [{connection: out, action: forward}]
"""


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def signed(response_id: int, comment: str) -> tuple[bytes, dict[str, str]]:
    body = orjson.dumps({"response": {"id": response_id, "score": 3, "comment": comment}})
    return body, {**sign_standard_webhook(WHSEC, f"msg_{response_id}", body), "Content-Type": "application/json"}


class Attack:
    """Slow clients, huge declared lengths and catastrophic text, until stopped (or ATTACK_SECONDS)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.stop = threading.Event()
        self.deadline = time.monotonic() + ATTACK_SECONDS
        self.slow: SlowClients | None = None
        self.counts = {"huge_refused": 0, "hostile_accepted": 0}
        self.hostile_ids: list[str] = []
        self.threads = [threading.Thread(target=target, daemon=True)
                        for target in (self._huge_lengths, self._hostile_text)]

    def start(self) -> None:
        self.slow = SlowClients("127.0.0.1", self.port, SLOW_CLIENTS)
        for thread in self.threads:
            thread.start()

    def running(self) -> bool:
        return not self.stop.is_set() and time.monotonic() < self.deadline

    def _huge_lengths(self) -> None:
        while self.running():
            with socket.create_connection(("127.0.0.1", self.port), timeout=20) as sock:
                sock.sendall(b"POST /hooks/app HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\n"
                             b"Content-Length: 209715200\r\n\r\n{")
                answer = sock.recv(65536)
            assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
            self.counts["huge_refused"] += 1
            self.stop.wait(0.05)

    def _hostile_text(self) -> None:
        number = 1_000_000
        while self.running():
            number += 1
            body, headers = signed(number, RUNS)
            answer = requests.post(f"http://127.0.0.1:{self.port}/hooks/app", data=body, headers=headers, timeout=20)
            assert answer.status_code == 202, answer.text
            self.hostile_ids += answer.json()["accepted"]
            self.counts["hostile_accepted"] += 1
            self.stop.wait(0.1)

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)
        if self.slow is not None:
            self.counts["trickled"] = self.slow.bytes_sent
            self.counts["still_open"] = self.slow.open_count()
            self.slow.close()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def test_normal_traffic_is_answered_while_the_web_process_is_attacked(make_hub, start_process):
    hub = make_hub(CONFIG, plugins=[webhook], env={"APP_SECRET": WHSEC})
    port = free_port()
    start_process("serve", "--config", hub.app.config["CXHUB_CONFIG"], "--port", str(port), "--threads", "8",
                  env={"APP_SECRET": WHSEC})
    wait_for(lambda: listening(port), timeout=30, what="cxhub serve listening")

    attack = Attack(port)
    attack.start()
    time.sleep(2)  # every slow client is in and trickling, and the other attackers are under way
    latencies: list[float] = []
    statuses: list[int] = []
    accepted: list[str] = []

    def send_normal(first: int) -> None:
        with requests.Session() as session:
            for number in range(first, NORMAL_REQUESTS, NORMAL_SENDERS):
                body, headers = signed(number, "The export keeps failing.")
                started = time.perf_counter()
                answer = session.post(f"http://127.0.0.1:{port}/hooks/app", data=body, headers=headers, timeout=20)
                latencies.append(time.perf_counter() - started)
                statuses.append(answer.status_code)
                accepted.extend(answer.json().get("accepted", []))

    senders = [threading.Thread(target=send_normal, args=(first,)) for first in range(NORMAL_SENDERS)]
    try:
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join(timeout=ATTACK_SECONDS + 60)
    finally:
        attack.finish()

    print(f"\nnormal traffic under attack ({SLOW_CLIENTS} slow clients, {attack.counts}): {len(latencies)} requests, "
          f"p50 {percentile(latencies, 0.5) * 1000:.1f} ms, p99 {percentile(latencies, 0.99) * 1000:.1f} ms, "
          f"max {max(latencies) * 1000:.1f} ms")
    assert statuses == [202] * NORMAL_REQUESTS
    assert len(set(accepted)) == NORMAL_REQUESTS
    assert attack.counts["huge_refused"] > 0 and attack.counts["hostile_accepted"] > 0
    assert attack.counts["trickled"] >= SLOW_CLIENTS and attack.counts["still_open"] == SLOW_CLIENTS
    stored = {event.id for event in hub.store.reads.events(limit=10_000)}
    assert set(accepted) <= stored and set(attack.hostile_ids) <= stored
