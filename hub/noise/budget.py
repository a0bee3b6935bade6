"""Per-route budgets (`max_per_hour`): how many matching events a route delivered in the rolling hour.

Every process that takes events in shares the count through one Redis sorted set per route,
whose members are event ids scored by when they were let through. One script call trims what is
older than an hour, then lets the event through if it is already counted (a resend, a replay)
or if there is room, atomically, so two web processes at the limit cannot both pass an event.
Losing Redis loses only the count of the current hour.
"""

from __future__ import annotations

from typing import Sequence

from redis.exceptions import RedisError

from hub.redis_errors import RedisUnavailable
from hub.runtime import Hub

WINDOW_SECONDS = 3600

# KEYS[1]: the route's set. ARGV: now, window seconds, limit, event id. Returns 1 when the event may go.
ADMIT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
if redis.call('ZSCORE', KEYS[1], ARGV[4]) then return 1 end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]) + 60)
return 1
"""


def budget_key(prefix: str, route: str) -> str:
    return f"cxhub:{prefix}:budget:{route}"


def over_budget(hub: Hub, asks: Sequence[tuple[str, str, int]], moment: float) -> set[tuple[str, str]]:
    """Of (route, event id, max_per_hour) asks, in order, those beyond their route's budget; one round trip."""
    if not asks:
        return set()
    script = hub.redis.register_script(ADMIT)
    prefix = hub.config.hub.queue
    try:
        with hub.redis.pipeline(transaction=False) as pipeline:
            for route, event_id, limit in asks:
                script(keys=[budget_key(prefix, route)], args=[moment, WINDOW_SECONDS, limit, event_id],
                       client=pipeline)
            answers = pipeline.execute()
    except RedisError as error:
        raise RedisUnavailable.from_error("the route budgets", error) from error
    return {(route, event_id) for (route, event_id, _), admitted in zip(asks, answers) if not admitted}
