"""Distinct, correctly signed Typeform `form_response` webhooks of about 1 KB, as the ingest load.

Every request has its own event_id and token, so none is taken for a resend: each one goes
the whole durable path. Scores alternate between detractors and promoters.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import orjson

from hub.plugin import hmac_signature

SECRET = "bench-typeform-secret"
FORM = {
    "id": "lT4Z3j", "title": "How are we doing?",
    "fields": [
        {"id": "nps01", "ref": "nps_question", "type": "nps", "title": "How likely are you to recommend us?"},
        {"id": "txt01", "ref": "why", "type": "long_text", "title": "What is the main reason for your score?"},
    ],
}


def form_response(number: int) -> bytes:
    score = number % 11
    return orjson.dumps({
        "event_id": f"01BENCH{number:019d}", "event_type": "form_response",
        "form_response": {
            "form_id": FORM["id"], "token": f"bench{number:027d}",
            "landed_at": "2026-11-20T10:00:00Z", "submitted_at": "2026-11-20T10:01:00Z",
            "hidden": {"email": f"customer{number}@example.com", "user_id": str(number), "name": f"Customer {number}"},
            "definition": FORM,
            "answers": [
                {"type": "number", "number": score, "field": {"id": "nps01", "type": "nps", "ref": "nps_question"}},
                {"type": "text", "text": "The export to CSV keeps timing out when the report is large, "
                                         "and support took two days to answer. We rely on it every Monday for the weekly review with our leadership team.",
                 "field": {"id": "txt01", "type": "long_text", "ref": "why"}},
            ],
        },
    })


def signature(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac_signature(secret, body, encoding="base64")


def signed(start: int, count: int) -> Iterator[tuple[str, bytes]]:
    for number in range(start, start + count):
        body = form_response(number)
        yield signature(body), body


def write_for_wrk(path: Path, start: int, count: int) -> Path:
    """One request per line: signature, a tab, the body (JSON has neither tabs nor newlines)."""
    with path.open("wb") as file:
        for sig, body in signed(start, count):
            file.write(sig.encode() + b"\t" + body + b"\n")
    return path
