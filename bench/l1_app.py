"""L1, the issue's hand-written reference: one Flask view that checks the HMAC, parses the JSON and
calls rq's `enqueue`, nothing more (no normalizing, validation, storage or routing).

`gunicorn bench.l1_app:app` with REDIS_URL set. It sits between L0 and the hub: how much of the
gap to L0 the framework and RQ alone cost.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

import orjson
from flask import Flask, abort, request
from redis import Redis
from rq import Queue

from bench.payloads import SECRET

app = Flask(__name__)
queue = Queue("bench-l1", connection=Redis.from_url(os.environ["REDIS_URL"]))


@app.post("/hooks/typeform")
def receive() -> tuple[dict[str, str], int]:
    body = request.get_data()
    expected = "sha256=" + base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    if not hmac.compare_digest(expected, request.headers.get("Typeform-Signature", "")):
        abort(401)
    payload = orjson.loads(body)
    job = queue.enqueue("bench.l1_app.handle", payload["event_id"], result_ttl=0)
    return {"job": job.id}, 202
