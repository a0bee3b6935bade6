"""How fast the console's pages answer with many events stored (the issue asks for 100,000).

    python -m bench.console [--events 100000] [--database postgresql://...]

Fills a fresh store (SQLite in a temporary directory unless --database is given) with events,
one delivery each (a tenth of them dead, with an attempt) and the request each came in, then signs in to the console through
Flask's test client and times each page: the median and the slowest of --repeat loads.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson
from werkzeug.security import generate_password_hash

from hub.store import FinishedAttempt, KeptRequest, NewDelivery, Store
from hub.testing import build_test_hub

PASSWORD = "bench-password-123"
SECRET = "bench-console-secret-0123456789abcdef"


def config() -> str:
    digest = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    return f"""
connections:
  out: {{plugin: webhook, settings: {{url: "http://127.0.0.1:9/", secret: {{$env: OUT_SECRET}}}}}}
routes:
  - name: everything
    actions: [{{connection: out, action: forward}}]
console:
  secret_key: {{$env: CONSOLE_SECRET}}
  users: {{bench: {{password_hash: "{digest}", role: operator}}}}
"""


def event(number: int, moment: datetime) -> dict:
    band = ("negative", "neutral", "positive")[number % 3]
    return {"specversion": "1.0", "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench/{number}")),
            "source": f"/sources/{('typeform', 'zendesk', 'trustpilot')[number % 3]}", "type": "cx.survey.response",
            "time": moment.isoformat().replace("+00:00", "Z"), "subject": f"r{number}",
            "datacontenttype": "application/json", "dataschema": "urn:cxhub:schema:customer-event:1",
            "data": {"customer": {"id": None, "email": f"customer{number % 5000}@example.com", "name": "A Customer"},
                     "score": {"type": "nps", "value": number % 11, "min": 0, "max": 10, "band": band},
                     "text": f"Response number {number}: the export keeps failing on large files " * 3,
                     "link": {"system": "bench", "id": f"r{number}", "url": f"https://example.com/r/{number}",
                              "type": "response"},
                     "vendor_event_id": f"v{number}", "attributes": {}, "update": False}}


def fill(store: Store, count: int) -> None:
    start = datetime.now(timezone.utc) - timedelta(days=7)
    step = timedelta(days=7) / count
    batch = 2000
    for first in range(0, count, batch):
        numbers = range(first, min(count, first + batch))
        moments = [start + step * number for number in numbers]
        events = [event(number, moment) for number, moment in zip(numbers, moments)]
        deliveries = [NewDelivery(f"d{number}", item["id"], "everything", "out", "forward", {})
                      for number, item in zip(numbers, events)]
        kept = {item["id"]: KeptRequest(f"rq{number}", "typeform", "POST", "/hooks/typeform", "application/json",
                                        {"user-agent": "Typeform Webhooks", "content-type": "application/json"}, {},
                                        orjson.dumps(item["data"]), removed_headers=("typeform-signature",))
                for number, item in zip(numbers, events)}  # each event's request, as the hub keeps them
        store.ingest.record(events, deliveries, moments, kept)
        dead = [f"d{number}" for number in numbers if number % 10 == 0]
        store.deliveries.claim(dead, timedelta(minutes=5))
        store.deliveries.finish_attempts([FinishedAttempt(
            delivery_id, {"number": 1, "started_at": moment, "status_code": 500, "duration_ms": 12.5,
                          "error": "HTTP 500", "outcome": "failed"}, "dead", error="HTTP 500")
            for delivery_id, moment in zip(dead, moments[::10])])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--database", help="a database URL (default: SQLite in a temporary directory)")
    parser.add_argument("--redis", default=None, help="a Redis URL (default: an embedded redis-server)")
    options = parser.parse_args()
    import plugins.webhook as webhook

    with tempfile.TemporaryDirectory() as directory:
        database = options.database or f"sqlite:///{Path(directory) / 'bench.db'}"
        redis_url = options.redis or ""
        hub = build_test_hub(config(), Path(directory), redis_url=redis_url or None,  # type: ignore[arg-type]
                             database_url=database, plugins=[webhook],
                             env={"OUT_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "CONSOLE_SECRET": SECRET})
        try:
            began = time.perf_counter()
            fill(hub.store, options.events)
            print(f"stored {options.events} events and deliveries in {time.perf_counter() - began:.1f} s "
                  f"({hub.store.url.split(':', 1)[0]})")
            client = hub.client
            page = client.get("/console/sign-in").get_data(as_text=True)
            token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            client.post("/console/sign-in", data={"csrf_token": token, "name": "bench", "password": PASSWORD})
            first = client.get("/console/events").get_data(as_text=True)
            cursor = first.split('id="next-page" href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
            pages = {"overview 24h": "/console/", "overview 7d": "/console/?range=7d",
                     "events, newest": "/console/events", "events, page 2 (cursor)": cursor,
                     "events, source + band": "/console/events?source=zendesk&band=negative",
                     "events, customer": "/console/events?customer=customer42@example.com",
                     "events, text search": "/console/events?q=number+4242:",
                     "event detail": "/console/events/" + str(uuid.uuid5(uuid.NAMESPACE_URL, "bench/4242")),
                     "deliveries, newest": "/console/deliveries",
                     "deliveries, dead (with count)": "/console/deliveries?status=dead",
                     "retry-all confirmation": "/console/deliveries/retry-all?status=dead&connection=out",
                     "connections": "/console/connections", "routes": "/console/routes"}
            print(f"{'page':34} {'median ms':>10} {'max ms':>8}")
            for name, path in pages.items():
                times = []
                for _ in range(options.repeat):
                    clock = time.perf_counter()
                    response = client.get(path)
                    times.append((time.perf_counter() - clock) * 1000)
                    if response.status_code != 200:
                        sys.exit(f"{path}: {response.status_code}")
                print(f"{name:34} {statistics.median(times):10.1f} {max(times):8.1f}")
        finally:
            hub.close()


if __name__ == "__main__":
    main()
