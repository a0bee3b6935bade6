"""Per-source rate limits, counted in Redis so every web process shares them (the `limits` library)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem
from limits.storage import RedisStorage
from limits.strategies import FixedWindowRateLimiter
from redis import Redis
from redis.exceptions import RedisError

from hub.redis_errors import RedisUnavailable


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0


class SourceLimiter:
    def __init__(self, redis: Redis, namespace: str) -> None:
        storage = RedisStorage("redis://", connection_pool=redis.connection_pool, key_prefix=f"cxhub:{namespace}:rate")
        self.limiter = FixedWindowRateLimiter(storage)

    def hit(self, source: str, rate: RateLimitItem) -> Verdict:
        """Count one request; when over the rate, say how many seconds until the window resets."""
        try:
            if self.limiter.hit(rate, source):
                return Verdict(True)
            reset = self.limiter.get_window_stats(rate, source).reset_time
        except RedisError as error:
            raise RedisUnavailable.from_error("the rate limiter's Redis", error) from error
        return Verdict(False, max(1, math.ceil(reset - time.time())))
