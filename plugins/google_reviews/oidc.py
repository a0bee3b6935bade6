"""The OIDC token of a Pub/Sub push: `Authorization: Bearer <JWT>`, a Google-signed ID token.

A push subscription with authentication sends, with each push, an ID token Google signs for
the subscription's service account: RS256 by one of the keys Google publishes at `certs_url`,
`iss` `accounts.google.com` (or `https://accounts.google.com`), `aud` the audience set on the
subscription, and the account's `email` with `email_verified: true`. A push is taken only when
all of these hold and the token is within `exp` (and not issued in the future), with
`LEEWAY_SECONDS` for clocks apart. PyJWT checks the signature and the time and audience claims.

Google's keys are fetched once and used for at most `KEEP_SECONDS`; a token naming a key not
among them (Google has rotated its keys) makes the hub fetch them again. A fetch is tried at
most every `REFETCH_GAP_SECONDS`, so neither requests with made-up key ids nor an endpoint that
fails make the hub fetch the keys again and again.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Mapping

import jwt

from hub.plugin import DeliveryError, HttpClient, InboundRequest, InvalidSignature, RequestRejected

ALGORITHM = "RS256"
ISSUERS = ("accounts.google.com", "https://accounts.google.com")
LEEWAY_SECONDS = 30
KEEP_SECONDS = 3600
REFETCH_GAP_SECONDS = 60
FETCH_TIMEOUT_SECONDS = 5.0


class KeysUnavailable(RequestRejected):
    """Google's keys could not be fetched: the push cannot be checked now (503; Pub/Sub sends it again)."""

    status = 503
    code = "signing_keys_unavailable"


class GoogleKeys:
    """Google's signing keys by key id, fetched from one URL and kept for a bounded time."""

    def __init__(self, url: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.client = HttpClient(url, timeout=FETCH_TIMEOUT_SECONDS)
        self.clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None  # when the keys held were fetched
        self._tried_at: float | None = None  # when a fetch was last tried, whether or not it worked
        self._lock = threading.Lock()  # one fetch at a time; the others wait for its keys

    def key(self, kid: str) -> jwt.PyJWK:
        """The key `kid` names, fetching the keys when they are stale or (not too often) when it is unknown."""
        with self._lock:
            now = self.clock()
            if self._should_fetch(kid, now):
                self._tried_at = now
                self._keys = self._fetch()  # raises KeysUnavailable, keeping the keys held
                self._fetched_at = now
            if self._fetched_at is None or now - self._fetched_at >= KEEP_SECONDS:
                raise KeysUnavailable("Google's signing keys could not be fetched just now; they are tried again "
                                      f"at most every {REFETCH_GAP_SECONDS} s")
            key = self._keys.get(kid)
        if key is None:
            raise InvalidSignature("the push's OIDC token is signed by a key Google does not publish")
        return key

    def _should_fetch(self, kid: str, now: float) -> bool:
        if self._tried_at is not None and now - self._tried_at < REFETCH_GAP_SECONDS:
            return False  # made-up key ids, or an endpoint that fails, cost one fetch a gap
        return self._fetched_at is None or now - self._fetched_at >= KEEP_SECONDS or kid not in self._keys

    def _fetch(self) -> dict[str, jwt.PyJWK]:
        try:
            document = self.client.get_json("")
        except DeliveryError as error:
            raise KeysUnavailable(f"Google's signing keys could not be fetched: {error.message}") from None
        try:
            keys = jwt.PyJWKSet.from_dict(document).keys if isinstance(document, dict) else []
        except jwt.PyJWTError:
            keys = []
        usable = {key.key_id: key for key in keys if key.key_id and key.algorithm_name == ALGORITHM}
        if not usable:
            url = self.client.base_url.rstrip("/")
            raise KeysUnavailable(f"{url} answered no RS256 signing keys (a JWK set is expected)")
        return usable


_KEY_SETS: dict[str, GoogleKeys] = {}
_KEY_SETS_LOCK = threading.Lock()


def keys_at(url: str) -> GoogleKeys:
    """The process's key cache for `url`: Google's keys are the same for every source."""
    with _KEY_SETS_LOCK:
        if url not in _KEY_SETS:
            _KEY_SETS[url] = GoogleKeys(url)
        return _KEY_SETS[url]


def verify(settings: Mapping[str, Any], request: InboundRequest) -> None:
    """Raise InvalidSignature (401) unless the push carries a valid OIDC token of the configured account.

    No message quotes the token or any of its claims.
    """
    token = bearer_token(request)
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise InvalidSignature("the push's bearer token is not a JWT") from None
    if header.get("alg") != ALGORITHM:
        raise InvalidSignature(f"the push's OIDC token must be signed with {ALGORITHM}")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise InvalidSignature("the push's OIDC token names no signing key (kid)")
    claims = _decode(token, keys_at(settings["certs_url"]).key(kid), settings["audience"])
    if claims.get("email") != settings["service_account_email"]:
        raise InvalidSignature("the push's OIDC token is not of this source's service_account_email")
    if claims.get("email_verified") is not True:
        raise InvalidSignature("the push's OIDC token does not say its email is verified")


def bearer_token(request: InboundRequest) -> str:
    value = request.header("authorization")
    if not value:
        raise InvalidSignature("the push carries no Authorization header: give the push subscription "
                               "authentication (a service account and this source's audience)")
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidSignature("the Authorization header is not 'Bearer <OIDC token>'")
    return token.strip()


def _decode(token: str, key: jwt.PyJWK, audience: str) -> dict[str, Any]:
    try:
        return jwt.decode(token, key, algorithms=[ALGORITHM], audience=audience, issuer=ISSUERS,
                          leeway=LEEWAY_SECONDS, options={"require": ["exp", "iat", "iss", "aud"]})
    except jwt.ExpiredSignatureError:
        raise InvalidSignature("the push's OIDC token has expired") from None
    except jwt.ImmatureSignatureError:
        raise InvalidSignature("the push's OIDC token is issued in the future") from None
    except jwt.InvalidAudienceError:
        raise InvalidSignature("the push's OIDC token is not for this source's audience") from None
    except jwt.InvalidIssuerError:
        raise InvalidSignature("the push's OIDC token is not issued by accounts.google.com") from None
    except jwt.MissingRequiredClaimError as error:
        raise InvalidSignature(f"the push's OIDC token has no {error.claim} claim") from None
    except jwt.InvalidSignatureError:
        raise InvalidSignature("the push's OIDC token's signature does not verify") from None
    except jwt.PyJWTError:
        raise InvalidSignature("the push's OIDC token is not a valid JWT") from None
