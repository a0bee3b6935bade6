"""What authenticates a request, and so is never kept: the one list every stored or logged request passes.

The hub keeps requests in the intake log (`hub.accept_into: redis`) and in quarantine, and the
plugin trace logs them. Replaying a kept request parses it again without verifying it (it was
verified on arrival), so nothing that authenticates is needed after verification: credentials
(Authorization, cookies, API keys, tokens) and signatures, which within their timestamp window
would let whoever reads them send the request again. A header or query parameter is dropped
when its name, split at `-`, `_` and `.`, has one of the words below. Vendor headers follow
these words (`X-Hub-Signature-256`, `Typeform-Signature`, `X-Shopify-Hmac-Sha256`,
`X-Gitlab-Token`, `X-Hook-Secret`); `webhook-id` and `webhook-timestamp`, which parsers read,
are kept.
"""

from __future__ import annotations

import re
from typing import Mapping

CREDENTIAL_WORDS = ("authorization", "auth", "cookie", "token", "secret", "password", "passwd",
                    "signature", "sig", "hmac", "session", "credential", "credentials",
                    "apikey", "api-key", "access-key", "private-key")
QUERY_ONLY_WORDS = ("key", "jwt")  # ?key= (API keys) and ?jwt=; a header named *-Key is often not a secret (Idempotency-Key)

_WORDS = "|".join(re.escape(word).replace("\\-", "[-_.]") for word in CREDENTIAL_WORDS)
_HEADER = re.compile(rf"(?:^|[-_.])(?:{_WORDS})(?:$|[-_.])", re.IGNORECASE)
_QUERY = re.compile(rf"(?:^|[-_.])(?:{_WORDS}|{'|'.join(QUERY_ONLY_WORDS)})(?:$|[-_.])", re.IGNORECASE)


def is_credential_header(name: str) -> bool:
    return _HEADER.search(name) is not None


def is_credential_parameter(name: str) -> bool:
    return _QUERY.search(name) is not None


def headers_to_keep(headers: Mapping[str, str]) -> dict[str, str]:
    """`headers` without the ones that authenticate."""
    return {name: value for name, value in headers.items() if not is_credential_header(name)}


def query_to_keep(query: Mapping[str, str]) -> dict[str, str]:
    """The query parameters without the ones that authenticate (source tokens, API keys, signatures)."""
    return {name: value for name, value in query.items() if not is_credential_parameter(name)}
