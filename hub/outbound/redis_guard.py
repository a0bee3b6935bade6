"""Redis failures met while authenticating or pacing a request: the delivery retries, it never dies of them."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from redis.exceptions import RedisError

from hub.plugin.errors import RetryLater


@contextmanager
def redis_unavailable(part: str) -> Iterator[None]:
    """Turn a RedisError into RetryLater naming `part` ("the token cache", "the rate limit")."""
    try:
        yield
    except RedisError as error:
        raise RetryLater(f"{part} is unavailable: {type(error).__name__}") from None
