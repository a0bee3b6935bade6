"""Requests signed as HubSpot signs them (v3, and the older v1 and v2), for the tests."""

from __future__ import annotations

import time

from plugins.hubspot.signatures import v1_signature, v2_signature, v3_signature

CLIENT_SECRET = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"  # the placeholder secret of HubSpot's own examples
HOOK_URL = "http://localhost/hooks/hubspot"  # where the Flask test client sends /hooks/hubspot


def v3_headers(body: bytes, *, url: str = HOOK_URL, secret: str = CLIENT_SECRET, method: str = "POST",
               timestamp_ms: int | None = None) -> dict[str, str]:
    """`X-HubSpot-Signature-v3` and `X-HubSpot-Request-Timestamp`, as HubSpot sends them."""
    stamp = str(int(time.time() * 1000) if timestamp_ms is None else timestamp_ms)
    return {"X-HubSpot-Signature-v3": v3_signature(secret, method, url, body, stamp),
            "X-HubSpot-Request-Timestamp": stamp}


def v1_headers(body: bytes, *, secret: str = CLIENT_SECRET) -> dict[str, str]:
    return {"X-HubSpot-Signature": v1_signature(secret, body), "X-HubSpot-Signature-Version": "v1"}


def v2_headers(body: bytes, *, url: str = HOOK_URL, secret: str = CLIENT_SECRET,
               method: str = "POST") -> dict[str, str]:
    return {"X-HubSpot-Signature": v2_signature(secret, method, url, body), "X-HubSpot-Signature-Version": "v2"}
