"""The two places cxhub relies on RQ beyond its public API, kept here and checked by a test.

Written for RQ 2.x and 3.0 (`rq>=2.0,<4` in setup.cfg; the delivery, worker and ingest tests pass on
RQ 2.0.0, 2.12.0 and 3.0.0).
`tests/hub/delivery/test_rq_compat.py` fails when an RQ release changes what this module
assumes, so an upgrade shows up as one failing test instead of jobs that go missing.

1. `BaseWorker.work()` calls `self._install_signal_handlers()`, which calls `signal.signal`:
   that raises ValueError outside the main thread, where cxhub's delivery threads run RQ
   workers. `NoSignalHandlers` turns it into nothing; the main thread handles the signals and
   stops the workers (`HubWorker.stop`).
2. RQ takes one job per dequeue, through public calls that cost about a dozen round trips. A
   worker that takes a batch (`DeliveryQueue.take`) pops the ids off the queue and deletes
   their job hashes itself, in one atomic script: that relies on RQ's key layout, a queue
   being a Redis list of job ids at `Queue.key` (next job on the left) and a job being a hash
   at `Job.key_for(id)`.
3. Around each job it performs, RQ keeps the job's own state: its status, the started and
   finished registries, an execution record, the worker's counters: about 55 Redis commands
   a job, measured (`python -m bench.profile --deliver`), more than the delivery itself. cxhub's
   delivery and enrichment jobs carry only ids; their state is in the store, where a claim's
   lease is what brings back the work of a worker that died (`hub.delivery.leases`).
   `run_without_bookkeeping` runs such a job as `take_job_ids` does a taken one: the job hash is
   deleted (the dequeue already popped its id) and the function called under the worker's
   death penalty; a failure is logged. It relies on the same layout as 2.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from rq.timeouts import JobTimeoutException

if TYPE_CHECKING:
    from rq import Queue
    from rq.job import Job

log = logging.getLogger("cxhub.worker")
DEFAULT_TIMEOUT_SECONDS = 180  # RQ's own default, for a job enqueued without one

SUPPORTED_RQ = ">=2.0,<4"

# Pop job ids off the queue KEYS[1] and delete their job hashes (key prefix ARGV[2]), atomically: no
# job is left popped but not deleted if the caller dies in between. It takes a fair share of what
# waits: at most ARGV[1], and no more than the waiting jobs divided among ARGV[3] takers.
TAKE = """
local share = math.ceil(redis.call('LLEN', KEYS[1]) / tonumber(ARGV[3]))
local count = math.min(tonumber(ARGV[1]), share)
if count < 1 then return {} end
local ids = redis.call('LPOP', KEYS[1], count)
if not ids then return {} end
for _, id in ipairs(ids) do redis.call('DEL', ARGV[2] .. id) end
return ids
"""


class NoSignalHandlers:
    """A worker mixin that leaves signals alone, so RQ's work loop can run in any thread."""

    def _install_signal_handlers(self) -> None:
        """Overrides RQ's private hook; the caller stops the worker instead (see the docstring above)."""


def take_job_ids(queue: Queue, count: int, takers: int = 1) -> list[str]:
    """Take up to `count` waiting jobs off the front of `queue` in one round trip; return their ids.

    With `takers` > 1, at most the waiting jobs divided by `takers` (rounded up) are taken, so
    the threads that may work on the queue share a short one instead of one taking it all.
    The jobs are gone from RQ (queue and job hash) once this returns; the caller runs them itself.
    """
    take = queue.connection.register_script(TAKE)  # EVALSHA: the script is sent once per server
    ids = take(keys=[queue.key], args=[count, queue.job_class.key_for(""), max(1, takers)])
    return [job_id.decode() if isinstance(job_id, bytes) else job_id for job_id in ids]


def run_without_bookkeeping(job: Job, death_penalty_class: Any) -> None:
    """Run a job whose state the store keeps, without RQ's per-job records (3. above).

    Its hash goes first: were the worker to die during the job, RQ would only have marked it
    abandoned, while the store's lease brings the work back in seconds either way.
    """
    job.connection.delete(job.key)
    try:
        with death_penalty_class(job.timeout or DEFAULT_TIMEOUT_SECONDS, JobTimeoutException, job_id=job.id):
            job.func(*job.args, **job.kwargs)
    except Exception:  # a bug, or the job's timeout: what the job had claimed is run again once its lease expires
        log.exception("job %s (%s%r) failed", job.id, job.func_name, tuple(job.args))
