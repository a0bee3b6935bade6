"""A connection's pace, shared by every worker through Redis: the vendor's rate limit, and the Retry-After of a 429.

* Rate limit: a moving window (the `limits` library's, as the sources' rate limits use, on the same
  Redis): at most `requests` requests in any `per_seconds` seconds, counted as each request is
  sent. A fixed window would let twice the limit through around a window's edge, which is what
  draws a vendor's 429s. The first request of an attempt that finds no room waits for it, briefly,
  in its thread; a longer wait raises Throttled, and the delivery goes back to its queue without
  spending an attempt. A later request of the same attempt (an action that looks a contact up, then
  updates it) waits in its thread up to MAX_MID_ATTEMPT_WAIT: given back, the attempt would repeat
  what it already did.
* Backoff: a 429 (or 503) with Retry-After sets, for every worker, the moment before which the
  connection sends nothing (`back_off`): later answers can push it further, never nearer.
  The gate reads that moment with the breakers (`backoff_key`), so deliveries wait in the queue.

A connection with no rate limit costs no round trip per request: only its 429s write to Redis.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

from limits import RateLimitItemPerSecond
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter
from redis import Redis

from hub.outbound.redis_guard import redis_unavailable
from hub.plugin.errors import Throttled
from hub.plugin.types import RateLimit

MAX_INLINE_WAIT = 2.0  # an attempt's first request waits this long at most in its thread; then the delivery is given back
MAX_MID_ATTEMPT_WAIT = 60.0  # a later request of the attempt waits up to this long rather than repeat the earlier ones
MAX_BACKOFF_SECONDS = 3600.0  # a Retry-After longer than this is read as this (a vendor's mistake must not stop a day)

# KEYS[1]: the backoff key. ARGV: until (a Unix time, as text), milliseconds to keep the key.
PUSH_BACK = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
return redis.call('GET', KEYS[1])
"""


def backoff_key(prefix: str, connection: str) -> str:
    return f"cxhub:{prefix}:backoff:{connection}"


class SharedPace:
    """The `Pace` of a connection's HttpClient (`acquire` before each request, `back_off` on a 429)."""

    def __init__(self, redis: Redis, prefix: str, connection: str, rate: RateLimit | None, *,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep) -> None:
        self.redis, self.connection, self.rate, self.clock, self.sleep = redis, connection, rate, clock, sleep
        self.key = backoff_key(prefix, connection)
        self.item = RateLimitItemPerSecond(rate.requests, rate.per_seconds) if rate else None
        storage = RedisStorage("redis://", connection_pool=redis.connection_pool, key_prefix=f"cxhub:{prefix}:pace")
        self.limiter = MovingWindowRateLimiter(storage)
        self.push_back = redis.register_script(PUSH_BACK)
        self.attempt = threading.local()  # requests this thread sent in its current attempt

    def start_attempt(self) -> None:
        """The calling thread starts a delivery attempt (see MAX_MID_ATTEMPT_WAIT)."""
        self.attempt.sent = 0

    def acquire(self) -> None:
        """Take room for one request, waiting in the thread as long as allowed; else raise Throttled."""
        if self.item is None:
            return
        with redis_unavailable("the connection's rate limit (Redis)"):
            self._acquire(self.item)

    def _acquire(self, item: RateLimitItemPerSecond) -> None:
        sent = getattr(self.attempt, "sent", 0)
        self.attempt.sent = sent + 1
        allowed = MAX_MID_ATTEMPT_WAIT if sent else MAX_INLINE_WAIT
        waited = 0.0
        while True:
            wait = self.backoff_remaining()
            why = "slowed by the destination's Retry-After"
            if wait <= 0:
                if self.limiter.hit(item, self.connection):
                    return
                wait = max(0.01, self.limiter.get_window_stats(item, self.connection).reset_time - self.clock())
                why = f"at its rate limit ({self._rate_text()})"
            if waited + wait > allowed:
                self.attempt.sent = sent
                raise Throttled(f"connection {self.connection} is {why}: waiting {wait:.1f}s", after=wait)
            self.sleep(wait)
            waited += wait

    def wait(self) -> float:
        """Seconds until the connection has room for a request (0 when it has room now); takes no room."""
        remaining = self.backoff_remaining()
        if remaining > 0 or self.item is None:
            return max(0.0, remaining)
        if self.limiter.test(self.item, self.connection):
            return 0.0
        return max(0.01, self.limiter.get_window_stats(self.item, self.connection).reset_time - self.clock())

    def back_off(self, seconds: float) -> None:
        """Send nothing to this connection, from any worker, for `seconds` (a vendor's Retry-After)."""
        seconds = min(max(seconds, 0.0), MAX_BACKOFF_SECONDS)
        if seconds <= 0:
            return
        until = self.clock() + seconds
        with redis_unavailable("the connection's pace (Redis)"):
            self.push_back([self.key], [repr(until), int(seconds * 1000) + 1000])

    def backoff_remaining(self) -> float:
        value = self.redis.get(self.key)
        return float(value) - self.clock() if value is not None else 0.0

    def _rate_text(self) -> str:
        rate = self.rate
        return f"{rate.requests} requests per {rate.per_seconds}s" if rate else "no limit"
