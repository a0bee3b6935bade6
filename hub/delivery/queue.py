"""Puts delivery jobs on RQ queues, one queue per connection, now or after a delay.

One queue per connection is what lets a worker stop taking work for a connection that is paused
or at its in-flight cap while it keeps serving the others (see `hub.delivery.gate`). Deliveries
for a connection that is not configured (any more) go to the base queue, where a worker gives
up on them with a clear error instead of leaving them waiting forever.

Sources whose thin events are enriched in the background (hub/enrichment) get a queue each
too, `<queue>.enrich.<source>`, so the same workers, scheduler and test drains serve them.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Protocol, Sequence

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from rq.queue import EnqueueData

from hub.delivery.rq_compat import take_job_ids
from hub.redis_errors import RedisUnavailable

JOB = "hub.delivery.job.deliver"
ENRICH_JOB = "hub.enrichment.job.enrich"
FAILED_JOB_TTL = 7 * 24 * 3600
# RQ stops a job (a batch of deliveries, or an enrichment) that runs longer than this, as hung. It is
# not what notices a dead worker (its leases stop being renewed: hub.delivery.leases), so it only
# has to exceed the longest honest job: a batch's BATCH_SECONDS plus one attempt at the longest
# timeout a connection may have (300 s), with room for a plugin that makes a few calls.
JOB_TIMEOUT_SECONDS = 630


class Owed(Protocol):
    """A delivery to queue: a planned one, or a stored row."""

    @property
    def id(self) -> str: ...

    @property
    def connection(self) -> str: ...


class DeliveryQueue:
    def __init__(self, redis: Redis, name: str, connections: Iterable[str] = (), *,
                 job_timeout: int = JOB_TIMEOUT_SECONDS, enriching_sources: Iterable[str] = ()) -> None:
        self.redis = redis
        self.name = name
        self.base = Queue(name, connection=redis)
        self.by_connection = {connection: Queue(f"{name}.{connection}", connection=redis)
                              for connection in connections}
        self.by_source = {source: Queue(f"{name}.enrich.{source}", connection=redis)
                          for source in enriching_sources}
        self.job_timeout = job_timeout

    @property
    def queues(self) -> list[Queue]:
        """Every queue a worker listens on: one per connection, one per enriching source, then the base queue."""
        return [*self.by_connection.values(), *self.by_source.values(), self.base]

    def queue_for(self, connection: str) -> Queue:
        return self.by_connection.get(connection, self.base)

    def count(self) -> int:
        """Jobs waiting on all queues (scheduled retries not included)."""
        return sum(queue.count for queue in self.queues)

    def scheduled_count(self) -> int:
        """Retries waiting for their backoff to pass."""
        return sum(queue.scheduled_job_registry.count for queue in self.queues)

    def enqueue(self, owed: Sequence[Owed]) -> None:
        """Queue one job per delivery, in a single round trip."""
        if not owed:
            return
        by_queue: dict[str, list[Owed]] = defaultdict(list)
        for item in owed:
            by_queue[item.connection].append(item)
        try:
            with self.redis.pipeline() as pipeline:
                for connection, items in by_queue.items():
                    jobs = [self._job(item.id, connection, "deliver") for item in items]
                    self.queue_for(connection).enqueue_many(jobs, pipeline=pipeline)
                pipeline.execute()
        except RedisError as error:
            raise RedisUnavailable.from_error("the job queue", error) from error

    def schedule(self, delivery_id: str, connection: str, delay: float) -> None:
        """Queue a job again once `delay` seconds have passed, never sooner; with no delay, at once.

        RQ keeps a scheduled job's time in whole seconds, truncated, and releases it once the
        current whole second reaches it: up to a second early. So the time is rounded up to
        the next whole second instead. A job without delay goes to the front (it has waited).
        """
        queue, options = self.queue_for(connection), self._options("retry", delivery_id, timeout_key="job_timeout")
        try:
            if delay <= 0:
                queue.enqueue(JOB, delivery_id, connection, at_front=True, **options)
            else:
                due = datetime.now(timezone.utc) + timedelta(seconds=delay)
                due = due.replace(microsecond=0) + timedelta(seconds=1) if due.microsecond else due
                queue.enqueue_at(due, JOB, delivery_id, connection, **options)
        except RedisError as error:
            raise RedisUnavailable.from_error("the job queue", error) from error

    def enqueue_enrichments(self, owed: Sequence[tuple[str, str]]) -> None:
        """Queue one enrichment job per (event id, source), in a single round trip."""
        if not owed:
            return
        try:
            with self.redis.pipeline() as pipeline:
                for event_id, source in owed:
                    self._enrich_queue(source).enqueue_many(
                        [Queue.prepare_data(ENRICH_JOB, args=(event_id, source),
                                            **self._options("enrich", event_id))], pipeline=pipeline)
                pipeline.execute()
        except RedisError as error:
            raise RedisUnavailable.from_error("the job queue", error) from error

    def schedule_enrichment(self, event_id: str, source: str, delay: float) -> None:
        """Queue an enrichment job again once `delay` seconds have passed (rounded up, as `schedule` does)."""
        queue, options = self._enrich_queue(source), self._options("enrich", event_id, timeout_key="job_timeout")
        try:
            if delay <= 0:
                queue.enqueue(ENRICH_JOB, event_id, source, at_front=True, **options)
            else:
                due = datetime.now(timezone.utc) + timedelta(seconds=delay)
                due = due.replace(microsecond=0) + timedelta(seconds=1) if due.microsecond else due
                queue.enqueue_at(due, ENRICH_JOB, event_id, source, **options)
        except RedisError as error:
            raise RedisUnavailable.from_error("the job queue", error) from error

    def _enrich_queue(self, source: str) -> Queue:
        # A source no longer enriching (its config changed) falls back to the base queue, where the job fails clearly.
        return self.by_source.get(source, self.base)

    def take(self, connection: str, count: int, takers: int = 1) -> list[str]:
        """Take up to `count` more waiting jobs off a connection's queue; return their delivery ids.

        `takers`: how many threads may share the queue; each takes at most its share of what
        waits, so a short queue is delivered in parallel instead of in one thread's line.

        A worker runs them in the job it is already running, which spares RQ's per-job
        bookkeeping (a dozen Redis round trips) for all but the first delivery of a batch.
        Taken jobs are deleted, in the same single round trip (`hub.delivery.rq_compat`); if
        the worker dies before running them, their deliveries are still queued in the store and
        the sweeper queues them again.
        """
        queue = self.by_connection.get(connection)
        if queue is None or count < 1:
            return []
        return [delivery_of(job_id) for job_id in take_job_ids(queue, count, takers)]

    def _job(self, delivery_id: str, connection: str, verb: str) -> EnqueueData:
        return Queue.prepare_data(JOB, args=(delivery_id, connection), **self._options(verb, delivery_id))

    def _options(self, verb: str, delivery_id: str, *, timeout_key: str = "timeout") -> dict[str, Any]:
        return {timeout_key: self.job_timeout, "result_ttl": 0, "failure_ttl": FAILED_JOB_TTL,
                "description": f"{verb} {delivery_id}", "job_id": job_id_for(delivery_id)}


def job_id_for(delivery_id: str) -> str:
    """A job id that names its delivery (a delivery can have several jobs: retries, sweeps)."""
    return f"{delivery_id}_{secrets.token_hex(6)}"


def delivery_of(job_id: str) -> str:
    return job_id.rsplit("_", 1)[0]
