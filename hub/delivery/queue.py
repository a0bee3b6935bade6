"""Puts delivery jobs on the RQ queue: now, or after a delay (the RQ scheduler moves them)."""

from __future__ import annotations

from datetime import timedelta
from typing import Sequence

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue

JOB = "hub.delivery.job.deliver"
FAILED_JOB_TTL = 7 * 24 * 3600


class QueueUnavailable(Exception):
    """Redis cannot be reached; the caller answers 503 and the client retries."""


class DeliveryQueue:
    def __init__(self, redis: Redis, name: str, *, lease_seconds: int = 660) -> None:
        self.redis = redis
        self.rq = Queue(name, connection=redis)
        # RQ stops a job before its delivery's lease ends, so a slow attempt is never run twice at once.
        self.job_timeout = max(5, lease_seconds - 30)

    def enqueue(self, delivery_ids: Sequence[str]) -> None:
        """Queue one job per delivery in a single round trip."""
        if not delivery_ids:
            return
        jobs = [Queue.prepare_data(JOB, args=(delivery_id,), timeout=self.job_timeout, result_ttl=0,
                                   failure_ttl=FAILED_JOB_TTL, description=f"deliver {delivery_id}")
                for delivery_id in delivery_ids]
        try:
            with self.redis.pipeline() as pipeline:
                self.rq.enqueue_many(jobs, pipeline=pipeline)
                pipeline.execute()
        except RedisError as error:
            raise QueueUnavailable(f"the job queue is unavailable: {type(error).__name__}") from error

    def schedule(self, delivery_id: str, delay: float) -> None:
        """Queue a retry to run after `delay` seconds (at once when the delay is under a second)."""
        if delay < 1:
            self.enqueue([delivery_id])
            return
        try:
            self.rq.enqueue_in(timedelta(seconds=delay), JOB, delivery_id, job_timeout=self.job_timeout,
                               result_ttl=0, failure_ttl=FAILED_JOB_TTL, description=f"retry {delivery_id}")
        except RedisError as error:
            raise QueueUnavailable(f"the job queue is unavailable: {type(error).__name__}") from error
