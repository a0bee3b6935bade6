"""The retry schedule, as one pure function so it can be table-tested."""

from __future__ import annotations

import random
from typing import Callable

from hub.config.model import RetryPolicy

MAX_RETRY_AFTER = 3600.0


def backoff_delay(failed_attempts: int, policy: RetryPolicy, *, retry_after: float | None = None,
                  rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait before the next attempt, after `failed_attempts` failures (1 or more).

    Exponential: initial_delay * 2**(n-1), capped at max_delay, then reduced by a random
    fraction of up to `jitter` so retries from many deliveries spread out. A server's
    Retry-After (at most an hour) is a floor: the hub never comes back sooner than asked.
    """
    if failed_attempts < 1:
        raise ValueError(f"failed_attempts must be at least 1, got {failed_attempts}")
    exponent = min(failed_attempts - 1, 60)
    delay = min(policy.max_delay, policy.initial_delay * 2**exponent)
    delay *= 1 - policy.jitter * rand()
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
    return delay
