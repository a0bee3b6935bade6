"""E0's consumer: `python -m bench.e0_consumer REDIS_URL SINK_URL [PER_EVENT]`.

The bare end of the E0 reference: pops each body L0 pushed (`bench:l0`) and POSTs it PER_EVENT
times (2: as many requests as the hub's two actions) to the sink with one `requests.Session`,
one request after the other. It stores nothing, validates nothing and retries nothing: what the
hub's end-to-end rate is compared with. Runs until killed.
"""

from __future__ import annotations

import sys

import requests
from redis import Redis

KEY = "bench:l0"


def consume(redis_url: str, sink_url: str, per_event: int) -> None:
    redis, session = Redis.from_url(redis_url), requests.Session()
    headers = {"Content-Type": "application/json"}
    while True:
        popped = redis.brpop([KEY], timeout=1)
        if popped is None:
            continue
        for number in range(per_event):
            session.post(f"{sink_url}/timed-e0/{number}", data=popped[1], headers=headers).raise_for_status()


if __name__ == "__main__":
    consume(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 2)
