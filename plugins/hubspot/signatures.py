"""HubSpot's request signatures, each a verifier with the signer the tests use.

* **v3** (`X-HubSpot-Signature-v3`, `X-HubSpot-Request-Timestamp`): base64 of HMAC-SHA256, keyed
  with the app's client secret, over the UTF-8 string method + URI + body + timestamp, where the
  timestamp is the header's value as sent (Unix milliseconds) and the URI is the full URL HubSpot
  called with the escapes of `: / ? @ ! $ ' ( ) * , ;` decoded (HubSpot's table; every other
  escape stays). A timestamp older than five minutes is refused (and, since only a replay could
  bring one, one more than five minutes ahead too).
* **v2** (`X-HubSpot-Signature`, `X-HubSpot-Signature-Version: v2`): hex SHA-256 (a plain hash,
  not an HMAC) of client secret + method + URI + body.
* **v1** (`X-HubSpot-Signature-Version: v1`): hex SHA-256 of client secret + body.

v1 and v2 carry no timestamp, so a captured request stays valid for ever: they are accepted only
when the source's `accept_legacy_signatures` is on, and only for a request without a v3 header.
Every comparison is constant-time, over the raw body bytes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import re
import time

from hub.plugin import InvalidSignature

V3_HEADER = "X-HubSpot-Signature-v3"
TIMESTAMP_HEADER = "X-HubSpot-Request-Timestamp"
LEGACY_HEADER = "X-HubSpot-Signature"
VERSION_HEADER = "X-HubSpot-Signature-Version"
MAX_AGE_MS = 5 * 60 * 1000
# The escapes HubSpot's v3 instructions decode in the URI before signing; any other stays as sent.
DECODED = {"%3A": ":", "%2F": "/", "%3F": "?", "%40": "@", "%21": "!", "%24": "$", "%27": "'", "%28": "(",
           "%29": ")", "%2A": "*", "%2C": ",", "%3B": ";"}
_ESCAPE = re.compile("|".join(DECODED), re.IGNORECASE)


def signed_uri(uri: str) -> str:
    """The URI as HubSpot puts it in the v3 string: the table's escapes decoded, in one pass."""
    return _ESCAPE.sub(lambda match: DECODED[match.group(0).upper()], uri)


def v3_signature(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    message = method.encode() + signed_uri(uri).encode("utf-8") + body + timestamp.encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode("ascii")


def v2_signature(secret: str, method: str, uri: str, body: bytes) -> str:
    return hashlib.sha256(secret.encode() + method.encode() + uri.encode("utf-8") + body).hexdigest()


def v1_signature(secret: str, body: bytes) -> str:
    return hashlib.sha256(secret.encode() + body).hexdigest()


def check_v3_timestamp(timestamp: str | None, *, now_ms: float | None = None) -> None:
    """Refuse a missing or non-numeric timestamp, or one more than five minutes from now."""
    if not timestamp:
        raise InvalidSignature(f"the {TIMESTAMP_HEADER} header is missing")
    try:
        value = float(timestamp) if timestamp.isascii() and timestamp.isdigit() else math.nan
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise InvalidSignature(f"the {TIMESTAMP_HEADER} header is not Unix milliseconds")
    now = time.time() * 1000 if now_ms is None else now_ms
    if now - value > MAX_AGE_MS:
        raise InvalidSignature(f"the {TIMESTAMP_HEADER} timestamp is {(now - value) / 1000:.0f}s old "
                               "(HubSpot's limit is 5 minutes)")
    if value - now > MAX_AGE_MS:
        raise InvalidSignature(f"the {TIMESTAMP_HEADER} timestamp is {(value - now) / 1000:.0f}s in the future")


def matches(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode(), given.strip().encode("utf-8", "replace"))
