"""A connection's OAuth access token, cached in Redis and shared by every thread and worker process.

* Every request reads the token from this process's memory; past its refresh moment (a tenth of its
  lifetime before it expires, at most a minute before) the process looks in Redis, where another
  worker may have renewed it already, and only then asks the token endpoint.
* Renewing takes a Redis lock: one worker asks the token endpoint, the others wait for the lock
  and find the new token in Redis. A 401 renews the token once (`renew(stale)`): if another worker
  has stored a different token meanwhile, that one is used and the endpoint is not asked again.
* Keys are per connection and per credentials (a digest of the `oauth:` block, secrets included):
  once an admin puts in new credentials, no token got with the old ones is used.
* A refresh token the endpoint rotates (answers with a new one) is kept in Redis and used from then
  on, since the configured one may no longer be valid.

Tokens live in Redis only: never in the store, a job's arguments, a log line or a message.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from redis import Redis
from redis.exceptions import LockError

from hub.config.model import OAuthConfig
from hub.outbound.oauth import Token, request_token
from hub.outbound.redis_guard import redis_unavailable
from hub.plugin.errors import RetryLater

REFRESH_AHEAD_SECONDS = 60.0  # renew at most this long before expiry...
REFRESH_AHEAD_SHARE = 0.1  # ...and at most this share of the token's lifetime before it


def credentials_digest(config: OAuthConfig) -> str:
    """A digest of everything that decides which token the endpoint gives (it names Redis keys, never shown)."""
    parts = [config.grant, config.token_url, config.client_id, config.scope or "", config.subject or "",
             config.audience or "", config.client_auth]
    parts += [secret.reveal() if secret else "" for secret in (config.client_secret, config.refresh_token,
                                                               config.private_key)]
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:24]


@dataclass(frozen=True)
class Cached:
    """A token as kept: its value, when it was got and when it expires (Unix times)."""

    access_token: str = field(repr=False)
    fetched_at: float
    expires_at: float

    def fresh(self, moment: float) -> bool:
        ahead = min(REFRESH_AHEAD_SECONDS, (self.expires_at - self.fetched_at) * REFRESH_AHEAD_SHARE)
        return moment < self.expires_at - ahead


class SharedToken:
    """The `Credentials` of an OAuth connection's HttpClient: `current()` and, after a 401, `renew(stale)`."""

    def __init__(self, redis: Redis, prefix: str, connection: str, config: OAuthConfig, *, timeout: float,
                 clock: Callable[[], float] = time.time) -> None:
        self.redis, self.connection, self.config, self.timeout, self.clock = redis, connection, config, timeout, clock
        base = f"cxhub:{prefix}:oauth:{connection}:{credentials_digest(config)}"
        self.token_key, self.refresh_key, self.lock_key = base + ":token", base + ":refresh", base + ":lock"
        self.local: Cached | None = None
        self.guard = threading.Lock()  # one thread of this process renews; the others wait for it

    def __repr__(self) -> str:
        return f"SharedToken({self.connection!r}, {self.config.grant})"

    def current(self) -> str:
        """A valid access token: this process's, else the shared one, else a new one."""
        local = self.local
        if local is not None and local.fresh(self.clock()):
            return local.access_token
        with self.guard, redis_unavailable("the token cache (Redis)"):
            shared = self._read()
            if shared is not None and shared.fresh(self.clock()):
                self.local = shared
                return shared.access_token
            return self._renew(stale=None)

    def renew(self, stale: str) -> str:
        """The destination refused `stale` (401): a token renewed since, by anyone, or a new one."""
        with self.guard, redis_unavailable("the token cache (Redis)"):
            local = self.local
            if local is not None and local.access_token != stale and local.fresh(self.clock()):
                return local.access_token  # another thread of this process renewed it meanwhile
            return self._renew(stale=stale)

    def forget(self) -> None:
        """Drop the cached access token everywhere (the next request asks the endpoint)."""
        with self.guard:
            self.local = None
            self.redis.delete(self.token_key)

    def _renew(self, stale: str | None) -> str:
        wait = self.timeout * 2 + 5  # a renewal that takes longer than this has failed: its lock expires
        lock = self.redis.lock(self.lock_key, timeout=wait, blocking_timeout=wait + 1, thread_local=False)
        if not lock.acquire():
            raise RetryLater(f"connection {self.connection}: another worker is still renewing the access token")
        try:
            shared = self._read()
            if shared is not None and shared.access_token != stale and shared.fresh(self.clock()):
                self.local = shared  # renewed by another worker while this one waited for the lock
                return shared.access_token
            refresh = self._refresh_token()
            fetched_at = self.clock()
            token = request_token(self.config, refresh_token=refresh, timeout=self.timeout,
                                  connection=self.connection)
            self._store(token, Cached(token.access_token, fetched_at, fetched_at + token.expires_in))
            return token.access_token
        finally:
            try:
                lock.release()
            except LockError:
                pass  # it expired meanwhile: nothing left to release

    def _refresh_token(self) -> str | None:
        if self.config.grant != "refresh_token":
            return None
        rotated = self.redis.get(self.refresh_key)
        if rotated is not None:
            return _text(rotated)
        assert self.config.refresh_token is not None  # the schema requires it for this grant
        return self.config.refresh_token.reveal()

    def _read(self) -> Cached | None:
        access, expires_at, fetched_at = self.redis.hmget(self.token_key, "access_token", "expires_at", "fetched_at")
        if access is None or expires_at is None or fetched_at is None:
            return None
        return Cached(_text(access), float(fetched_at), float(expires_at))

    def _store(self, token: Token, cached: Cached) -> None:
        with self.redis.pipeline() as pipeline:
            if token.refresh_token is not None:
                pipeline.set(self.refresh_key, token.refresh_token)
            pipeline.hset(self.token_key, mapping={"access_token": cached.access_token,
                                                   "expires_at": repr(cached.expires_at),
                                                   "fetched_at": repr(cached.fetched_at)})
            pipeline.expire(self.token_key, int(token.expires_in) + 1)
            pipeline.execute()
        self.local = cached


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
