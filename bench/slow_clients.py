"""Normal webhooks while slow clients hold connections: `python -m bench.slow_clients --port 8080`.

Opens `--slow` connections (loopback only) that send a request one byte a second and never
finish it, then sends `--requests` signed Typeform webhooks (the sample, signed with the demo
secret of examples/demo.env, each with its own event id) one after another and prints how
they were answered and their p50 / p99 / max. Against the hub started with the example config:

    cxhub serve --config examples/cxhub.yaml --env-file examples/demo.env
    python -m bench.slow_clients --port 8080 --slow 200

Bounded: the slow connections are closed when the requests are done, or after --seconds.
"""

from __future__ import annotations

import argparse
import math
import threading
import time
from pathlib import Path

import orjson
import requests

from hub.plugin.signatures import hmac_signature
from hub.testing.slow_clients import SlowClients

SAMPLE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "typeform" / "form_response.json"
DEMO_SECRET = "demo-typeform-secret"


def signed_sample(number: int, secret: str) -> tuple[bytes, dict[str, str]]:
    payload = orjson.loads(SAMPLE.read_bytes())
    payload["event_id"] = f"slow-clients-{time.time_ns()}-{number}"
    body = orjson.dumps(payload)
    return body, {"Typeform-Signature": "sha256=" + hmac_signature(secret, body, encoding="base64"),
                  "Content-Type": "application/json"}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1", choices=["127.0.0.1", "localhost", "::1"])
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--slow", type=int, default=200, help="slow connections to hold")
    parser.add_argument("--requests", type=int, default=50, help="normal webhooks to send meanwhile")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds a normal webhook may take")
    parser.add_argument("--seconds", type=float, default=120.0, help="give up after this long")
    parser.add_argument("--secret", default=DEMO_SECRET)
    args = parser.parse_args()

    stop = threading.Event()
    timer = threading.Timer(args.seconds, stop.set)
    timer.start()
    slow = SlowClients(args.host, args.port, args.slow)
    time.sleep(2)  # all of them are in and have trickled
    answers: dict[str, int] = {}
    latencies: list[float] = []
    try:
        for number in range(args.requests):
            if stop.is_set():
                break
            body, headers = signed_sample(number, args.secret)
            started = time.perf_counter()
            try:
                status = str(requests.post(f"http://{args.host}:{args.port}/hooks/typeform", data=body,
                                           headers=headers, timeout=args.timeout).status_code)
            except requests.RequestException as error:
                status = type(error).__name__
            latencies.append(time.perf_counter() - started)
            answers[status] = answers.get(status, 0) + 1
    finally:
        timer.cancel()
        open_still = slow.open_count()
        slow.close()
    print(f"{args.slow} slow connections ({open_still} still open at the end); {len(latencies)} webhooks: {answers}; "
          f"p50 {percentile(latencies, 0.5) * 1000:.1f} ms, p99 {percentile(latencies, 0.99) * 1000:.1f} ms, "
          f"max {max(latencies) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
