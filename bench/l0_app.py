"""L0, the stack's own limit: a bare WSGI callable that LPUSHes the body to Redis and answers 202.

`gunicorn bench.l0_app:app` with REDIS_URL set: what the hub's ingest is compared with.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Iterable

from redis import Redis

redis = Redis.from_url(os.environ["REDIS_URL"])


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    redis.lpush("bench:l0", body)
    start_response("202 Accepted", [("Content-Type", "application/json"), ("Content-Length", "2")])
    return [b"{}"]
