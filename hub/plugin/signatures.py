"""Signature schemes shared by sources, each a verifier with the signer the tests use.

Every comparison is constant-time and runs over the raw body bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import time
from datetime import datetime, timezone
from typing import Literal, Mapping, Sequence

from standardwebhooks import Webhook, WebhookVerificationError

from hub.plugin.errors import InvalidSignature, MalformedBody

Encoding = Literal["hex", "base64"]


def hmac_signature(secret: str | bytes, message: bytes, *, encoding: Encoding = "hex", algorithm: str = "sha256") -> str:
    """Return HMAC(secret, message) encoded as hex or base64: the signer side of `verify_hmac`."""
    key = secret.encode() if isinstance(secret, str) else secret
    digest = hmac.new(key, message, getattr(hashlib, algorithm)).digest()
    return digest.hex() if encoding == "hex" else base64.b64encode(digest).decode("ascii")


def verify_hmac(
    secrets: str | bytes | Sequence[str | bytes],
    message: bytes,
    signature: str | None,
    *,
    header: str,
    prefix: str = "",
    encoding: Encoding = "hex",
    algorithm: str = "sha256",
) -> None:
    """Raise InvalidSignature unless `signature` is `prefix` + HMAC(secret, message) for one of `secrets`.

    Several secrets are accepted so a source can rotate its secret with a grace period.
    `header` only names the header in error messages.
    """
    if not signature:
        raise InvalidSignature(f"the {header} header is missing")
    if not signature.startswith(prefix):
        raise InvalidSignature(f"the {header} header must start with {prefix!r}")
    given = signature[len(prefix):].strip()
    candidates = [secrets] if isinstance(secrets, (str, bytes)) else list(secrets)
    matches = [
        hmac.compare_digest(hmac_signature(secret, message, encoding=encoding, algorithm=algorithm).encode(),
                            given.encode("utf-8", "replace"))
        for secret in candidates
    ]
    if not any(matches):
        raise InvalidSignature(f"the {header} signature does not match the body")


def check_timestamp(timestamp: str | None, *, tolerance: float, header: str, now: float | None = None) -> float:
    """Parse a Unix-seconds timestamp header and reject it outside `tolerance` seconds (replay protection)."""
    if not timestamp:
        raise InvalidSignature(f"the {header} header is missing")
    try:
        value = float(timestamp)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise InvalidSignature(f"the {header} header is not a Unix timestamp")
    skew = abs((time.time() if now is None else now) - value)
    if skew > tolerance:
        raise InvalidSignature(f"the {header} timestamp is {skew:.0f}s away from now (tolerance {tolerance:.0f}s)")
    return value


def verify_standard_webhook(secrets: str | list[str], body: bytes, headers: Mapping[str, str]) -> None:
    """Verify Standard Webhooks headers (webhook-id, webhook-timestamp, webhook-signature: v1,<base64>).

    The standardwebhooks reference library checks the signature and a 5-minute timestamp window.
    """
    candidates = secrets if isinstance(secrets, list) else [secrets]
    lowered = {name.lower(): value for name, value in headers.items()}
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedBody("the body is not valid UTF-8") from None
    reasons = []
    for secret in candidates:
        try:
            Webhook(secret).verify(body, lowered, json_parse=False)
            return
        except WebhookVerificationError as error:
            reasons.append(str(error))
        except (ValueError, binascii.Error):
            reasons.append("Malformed webhook-signature header or body")
    raise InvalidSignature(f"Standard Webhooks verification failed: {reasons[0]}")


def sign_standard_webhook(secrets: str | Sequence[str], msg_id: str, body: bytes,
                          timestamp: float | None = None) -> dict[str, str]:
    """Return the three Standard Webhooks headers for `body`, signed with each `whsec_` secret given.

    Several secrets give a space-separated `webhook-signature` list (`v1,<a> v1,<b>`), which
    receivers accept if any one matches: that is how a secret is rotated with no downtime.
    """
    moment = datetime.fromtimestamp(time.time() if timestamp is None else timestamp, tz=timezone.utc)
    text = body.decode("utf-8")
    signatures = [Webhook(secret).sign(msg_id, moment, text) for secret in ([secrets] if isinstance(secrets, str)
                                                                            else secrets)]
    if not signatures:
        raise ValueError("sign_standard_webhook needs at least one secret")
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": " ".join(signatures),
    }
