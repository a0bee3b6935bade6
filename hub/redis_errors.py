"""The one error every Redis-backed part raises when Redis fails: the job queue, the intake log, the rate limiter.

It sits below ingest and delivery so that each can raise and catch it without importing the
other; the ingest view answers it with 503.
"""

from __future__ import annotations

from redis.exceptions import RedisError


class RedisUnavailable(Exception):
    """Redis cannot be reached; the caller answers 503 (the client retries) or waits and tries again."""

    @classmethod
    def from_error(cls, part: str, error: RedisError) -> RedisUnavailable:
        """`part` names what failed for the message: "the job queue", "the intake log", ..."""
        return cls(f"{part} is unavailable: {type(error).__name__}")
