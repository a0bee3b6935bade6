"""Flaky destinations for the soak: `python -m bench.flaky PORT TIMEOUT`.

* POST /hook: a Standard Webhooks receiver. At random it answers 500, answers slowly, or records
  the message and then stalls past the hub's timeout (the worst case: it acted, the hub cannot
  know). Like a correct consumer it records each `webhook-id` it accepted.
* POST /rest/api/3/issue and POST /rest/api/3/search/jql: a Jira stand-in, just as flaky, that
  creates issues with their labels and finds them by `labels = "..."`.
* POST /outage?seconds=N makes both answer 503 for N seconds; POST /healthy makes them
  reliable; GET / reports what they received.
"""

from __future__ import annotations

import random
import re
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson

FAIL, SLOW, STALL = 0.15, 0.10, 0.05  # shares of answers: 500, slow but fine, acted then stalled


class State:
    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.healthy = False
        self.down_until = 0.0
        self.lock = threading.Lock()
        self.webhook_ids: Counter[str] = Counter()  # accepted messages per webhook-id
        self.received = 0
        self.issues: dict[str, list[str]] = {}  # key -> labels
        self.outcomes: Counter[str] = Counter()

    def fate(self) -> str:
        if time.time() < self.down_until:
            return "down"
        if self.healthy:
            return "ok"
        roll = random.random()
        return "fail" if roll < FAIL else "slow" if roll < FAIL + SLOW else "stall" if roll < FAIL + SLOW + STALL \
            else "ok"


class Handler(BaseHTTPRequestHandler):
    state: State
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        """Quiet."""

    def reply(self, status: int, body: dict | list | None = None) -> None:
        data = orjson.dumps(body if body is not None else {})
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        state = self.state
        with state.lock:
            labels = Counter(label for labels in state.issues.values() for label in labels
                             if label.startswith("cxhub-"))
            self.reply(200, {"received": state.received, "webhook_ids": len(state.webhook_ids),
                             "redundant_receipts": sum(state.webhook_ids.values()) - len(state.webhook_ids),
                             "issues": len(state.issues), "duplicate_tickets": sum(1 for n in labels.values() if n > 1),
                             "outcomes": dict(state.outcomes)})

    def do_POST(self) -> None:  # noqa: N802
        state = self.state
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/healthy":
            state.healthy = True
            return self.reply(200)
        if self.path.startswith("/outage?seconds="):
            state.down_until = time.time() + float(self.path.split("=", 1)[1])
            return self.reply(200)
        fate = state.fate()
        with state.lock:
            state.outcomes[fate] += 1
        if fate in ("fail", "down"):
            return self.reply(500 if fate == "fail" else 503, {"error": fate})
        if fate == "slow":
            time.sleep(random.uniform(0.1, state.timeout * 0.6))
        answer = self.act(body)
        if fate == "stall":
            time.sleep(state.timeout * 2)  # acted, but the hub times out first
        self.reply(*answer)

    def act(self, body: bytes) -> tuple[int, dict]:
        state = self.state
        with state.lock:
            if self.path == "/hook":
                state.received += 1
                state.webhook_ids[self.headers["webhook-id"]] += 1
                return 204, {}
            if self.path == "/rest/api/3/issue":
                fields = orjson.loads(body)["fields"]
                key = f"CX-{len(state.issues) + 1}"
                state.issues[key] = fields["labels"]
                return 201, {"id": str(len(state.issues)), "key": key, "self": f"/rest/api/3/issue/{key}"}
            if self.path == "/rest/api/3/search/jql":
                label = re.fullmatch(r'labels = "(.+)"', orjson.loads(body)["jql"]).group(1)
                found = [{"id": key[3:], "key": key} for key, labels in state.issues.items() if label in labels]
                return 200, {"issues": found[:1]}
        return 404, {"error": self.path}


def main() -> None:
    port, timeout = int(sys.argv[1]), float(sys.argv[2])
    Handler.state = State(timeout)
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
