"""Which connections a worker may deliver to right now: a shared circuit breaker and a local in-flight cap.

Isolation works at two depths:

* In-flight cap (per worker process): at most `max_in_flight` of a process's threads work on one
  connection at a time, so a slow destination can hold some threads but never all of them. The
  worker simply stops taking jobs from that connection's queue while it is at its cap.
* Circuit breaker (shared by every worker through Redis): after `failure_threshold` consecutive
  retryable failures (timeouts, 5xx, 429, refused connections) the connection is paused for
  `pause_seconds`. Workers leave its queue alone while paused, so deliveries wait there without
  spending attempts. Then one trial delivery goes through (half-open): success resumes the
  connection, failure pauses it again. A 4xx answer counts as success here: the destination is up.
* Hold (shared through Redis too): a destination that says to stop (410 Gone; a plugin raising
  PauseConnection, such as AuthFailed for credentials that went bad) pauses its connection with that
  reason until an admin resumes it (`cxhub connections resume NAME`). Its deliveries wait in its queue.
* Pace (shared through Redis, hub.outbound.pace): a connection at its rate limit, or slowed by a
  vendor's Retry-After, takes no delivery until it has room; the deliveries wait uncounted.

Why not pybreaker: its `call` holds a per-breaker lock for the whole guarded call, which would
serialize a worker's threads on one connection, and its Redis storage costs several round trips
per call. Here a successful delivery to a healthy connection costs no round trip at all: the
breaker's state is read for all connections in one pipelined call, at most once per `refresh` seconds.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Mapping, Sequence

from redis import Redis, RedisError

from hub.config.model import ConnectionConfig
from hub.outbound.pace import SharedPace, backoff_key

TRIAL_SECONDS = 60  # a half-open trial that never reports back frees the slot after this long
HELD_RECHECK_SECONDS = 60  # a delivery that meets a held connection comes back to its queue after this long

# KEYS[1]: the breaker hash. ARGV: now, threshold, pause seconds. Returns "paused" when this failure tripped it.
RECORD_FAILURE = """
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
local open_until = redis.call('HGET', KEYS[1], 'open_until')
if open_until or failures >= tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], 'open_until', tonumber(ARGV[1]) + tonumber(ARGV[3]))
  redis.call('HDEL', KEYS[1], 'trial')
  if not open_until then return 'paused' end
end
return 'counted'
"""

# KEYS[1]: the breaker hash. ARGV: now, trial seconds. Returns 1 when this caller may run the half-open
# trial, 2 when the breaker closed meanwhile (no trial needed, and no key left behind), 0 otherwise.
TAKE_TRIAL = """
if redis.call('HEXISTS', KEYS[1], 'open_until') == 0 then return 2 end
if tonumber(redis.call('HGET', KEYS[1], 'trial') or '0') > tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'trial', tonumber(ARGV[1]) + tonumber(ARGV[2]))
return 1
"""

# KEYS[1]: the breaker hash. Returns "resumed" when the connection was paused.
RECORD_SUCCESS = """
local was_open = redis.call('HEXISTS', KEYS[1], 'open_until')
redis.call('DEL', KEYS[1])
if was_open == 1 then return 'resumed' end
return 'closed'
"""


@dataclass(frozen=True)
class BreakerState:
    failures: int = 0
    open_until: float | None = None  # a Unix time; set while paused or half-open
    trial_until: float | None = None  # set while a half-open trial delivery runs
    held: str | None = None  # why the connection is paused until an admin resumes it
    slowed_until: float | None = None  # a vendor's Retry-After: nothing is sent before this Unix time

    def paused(self, moment: float) -> bool:
        return self.held is not None or (self.open_until is not None and moment < self.open_until)

    def blocked(self, moment: float) -> bool:
        """Paused, slowed by a Retry-After, or half-open with its one trial under way."""
        return (self.paused(moment) or (self.slowed_until or 0) > moment
                or (self.open_until is not None and (self.trial_until or 0) > moment))

    def until(self) -> datetime | None:
        return datetime.fromtimestamp(self.open_until, timezone.utc) if self.open_until is not None else None


def breaker_key(prefix: str, connection: str) -> str:
    return f"cxhub:{prefix}:breaker:{connection}"


def hold_key(prefix: str, connection: str) -> str:
    return f"cxhub:{prefix}:held:{connection}"


def read_breakers(redis: Redis, prefix: str, connections: Sequence[str]) -> dict[str, BreakerState]:
    """Every connection's breaker state and hold in one round trip."""
    with redis.pipeline(transaction=False) as pipeline:
        for name in connections:
            pipeline.hmget(breaker_key(prefix, name), "failures", "open_until", "trial")
            pipeline.get(hold_key(prefix, name))
            pipeline.get(backoff_key(prefix, name))
        answers = pipeline.execute()
    return {name: BreakerState(int(failures or 0), _time(open_until), _time(trial),
                               held.decode("utf-8", "replace") if held is not None else None, _time(slowed))
            for name, (failures, open_until, trial), held, slowed
            in zip(connections, answers[::3], answers[1::3], answers[2::3])}


def hold_connection(redis: Redis, prefix: str, connection: str, reason: str) -> bool:
    """Pause a connection until `resume_connection`; True if this call paused it (it was not held yet)."""
    return bool(redis.set(hold_key(prefix, connection), reason, nx=True))


def resume_connection(redis: Redis, prefix: str, connection: str) -> bool:
    """Lift a hold and reset the breaker; True if the connection was paused (held or by its breaker)."""
    with redis.pipeline() as pipeline:
        pipeline.delete(hold_key(prefix, connection))
        pipeline.hexists(breaker_key(prefix, connection), "open_until")
        pipeline.delete(breaker_key(prefix, connection))
        held, was_open, _ = pipeline.execute()
    return bool(held or was_open)


def _time(value: bytes | None) -> float | None:
    return float(value) if value is not None else None


@dataclass(frozen=True)
class Transition:
    """A change of a connection's breaker, for the lifecycle hooks."""

    connection: str
    paused: bool  # True: just paused; False: just resumed
    until: datetime | None = None  # None with `held`: until an admin resumes it
    held: bool = False


class ConnectionGate:
    """One per worker process, shared by its threads."""

    def __init__(self, redis: Redis, prefix: str, connections: Mapping[str, ConnectionConfig], *,
                 default_cap: int, refresh: float = 1.0, clock: Callable[[], float] = time.time) -> None:
        self.redis, self.prefix, self.refresh, self.clock = redis, prefix, refresh, clock
        self.caps = {name: config.max_in_flight or default_cap for name, config in connections.items()}
        self.breakers = {name: config.breaker for name, config in connections.items()}
        self.in_flight = dict.fromkeys(connections, 0)
        # Every connection has a pace, so a 429's Retry-After slows all workers; a rate limit is optional.
        self.paces = {name: SharedPace(redis, prefix, name, config.rate_limit) for name, config in connections.items()}
        self.states: dict[str, BreakerState] = {}
        self.read_at = float("-inf")
        self.lock = threading.Lock()
        self.read_lock = threading.Lock()  # one thread reads the breakers; the others wait for its answer
        self.record_failure = redis.register_script(RECORD_FAILURE)
        self.record_success = redis.register_script(RECORD_SUCCESS)
        self.take_trial = redis.register_script(TAKE_TRIAL)

    def open_connections(self) -> list[str]:
        """Connections this process may start a delivery for: not paused and below their cap."""
        moment = self.clock()
        states = self._states(moment)
        with self.lock:
            return [name for name, cap in self.caps.items()
                    if self.in_flight[name] < cap and not states[name].blocked(moment)]

    def is_open(self, connection: str) -> bool:
        """Whether this process may start a delivery for the connection now (see `open_connections`)."""
        return connection in self.open_connections()

    def enter(self, connection: str) -> float | None:
        """Take an in-flight slot; None if granted, else the seconds to wait before trying again.

        A thread can find the cap reached although the connection's queue looked open when it
        took its job (another thread got there first); that job goes back at once (0 seconds).
        """
        if connection not in self.caps:
            return None  # no longer configured: let the runner give up on it
        moment = self.clock()
        state = self._states(moment)[connection]
        if state.held is not None:
            return HELD_RECHECK_SECONDS
        if state.paused(moment):
            return state.open_until - moment  # type: ignore[operator]
        if state.slowed_until is not None and state.slowed_until > moment:
            return state.slowed_until - moment
        if state.open_until is not None and not self._take_trial(connection):
            return 1.0  # half-open, and another worker is running the trial
        pace = self.paces[connection]
        if pace.item is not None and (wait := pace.wait()) > 0:
            return wait  # at its rate limit: this delivery waits its turn in the queue
        with self.lock:
            if self.in_flight[connection] >= self.caps[connection]:
                return 0.0  # busy here, not paused: queued again at once, for another process or a freed slot
            self.in_flight[connection] += 1
        return None

    def leave(self, connection: str, outcome: str) -> Transition | None:
        """Free the slot and feed the breaker: outcome is "succeeded", "failed" (retryable) or "neutral"."""
        if connection not in self.caps:
            return None
        with self.lock:
            self.in_flight[connection] -= 1
        policy = self.breakers[connection]
        if outcome == "neutral" or policy.failure_threshold == 0:
            return None
        key = breaker_key(self.prefix, connection)
        moment = self.clock()
        if outcome == "failed":
            tripped = self.record_failure([key], [moment, policy.failure_threshold, policy.pause_seconds])
            self.read_at = float("-inf")
            if tripped == b"paused":
                return Transition(connection, True, BreakerState(0, moment + policy.pause_seconds).until())
            return None
        state = self._states(moment)[connection]
        if state.failures == 0 and state.open_until is None:
            return None  # healthy: nothing to reset, no round trip
        resumed = self.record_success([key], [])
        self.read_at = float("-inf")
        return Transition(connection, False) if resumed == b"resumed" else None

    def hold(self, connection: str, reason: str) -> Transition | None:
        """Pause the connection for every worker until an admin resumes it (the destination said to stop)."""
        held = hold_connection(self.redis, self.prefix, connection, reason)
        self.read_at = float("-inf")
        return Transition(connection, True, None, held=True) if held else None

    def _states(self, moment: float) -> dict[str, BreakerState]:
        with self.read_lock:
            if moment - self.read_at >= self.refresh:
                # Marked read before reading: a failure recorded meanwhile marks it stale again, so a
                # success that follows sees that failure and resets the count.
                self.read_at = moment
                try:
                    self.states = read_breakers(self.redis, self.prefix, list(self.caps))
                except RedisError:
                    self.read_at = float("-inf")  # read again next time, never serve what was not read
                    raise
            return self.states

    def _take_trial(self, connection: str) -> bool:
        self.read_at = float("-inf")
        return self.take_trial([breaker_key(self.prefix, connection)], [self.clock(), TRIAL_SECONDS]) != 0
