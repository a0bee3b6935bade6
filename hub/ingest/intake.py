"""The intake log: with `hub.accept_into: redis`, webhooks are accepted into Redis and stored behind it.

The web side verifies and parses the request, then appends its events to a Redis stream in one
round trip and answers 202. Intake consumers (threads of `cxhub worker`) read the stream in
batches, validate the events, store them and their deliveries in one statement per batch and
queue the delivery jobs: the work that `accept_into: database` does inside each request.

Why it is safe: an entry leaves the stream only after its batch is stored and queued. A
consumer that dies holding entries leaves them pending in the consumer group, and another
consumer claims them once they have been idle for `hub.intake_claim_seconds`. Taking an entry
in twice is harmless: the store knows every event id, so the second time routes nothing. What
a 202 then promises is what Redis persistence promises (see the README): with `appendonly yes`
and `appendfsync always` nothing is lost; with `everysec`, a crash of the Redis host can lose
the last second.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping, Sequence

import orjson
from redis import Redis
from redis.exceptions import RedisError, ResponseError

from hub.plugin.request import InboundRequest
from hub.redis_errors import RedisUnavailable

log = logging.getLogger("cxhub.intake")

GROUP = "intake"
BATCH = 500  # entries a consumer takes in at once: one SQL statement and one Redis pipeline for all
FORGET_CONSUMER_IDLE_MS = 3_600_000  # consumers idle this long, holding nothing, leave the group

# Mark each event id seen (for `dedupe_seconds`) and append the request once if any is new: one
# round trip, atomic. Returns the positions (1-based) of the events that were new.
APPEND = """
local fresh = {}
for i = 2, #KEYS do
  if redis.call('SET', KEYS[i], '1', 'NX', 'EX', ARGV[1]) then fresh[#fresh + 1] = i - 1 end
end
if #fresh > 0 then
  redis.call('XADD', KEYS[1], '*', 'source', ARGV[2], 'events', ARGV[3], 'request', ARGV[4], 'body', ARGV[5])
end
return fresh
"""


@dataclass(frozen=True)
class Logged:
    """What the append found: event ids new to the log, and ids it had seen within the dedupe window."""

    accepted: list[str]
    duplicates: list[str]


@dataclass(frozen=True)
class Entry:
    """One appended request: its source, its (not yet validated) events, and the request (credentials
    removed) to keep beside them or for quarantine, with the names of the headers and query
    parameters taken out of it."""

    id: str
    source: str
    events: list[dict[str, Any]]
    request: InboundRequest
    removed_headers: tuple[str, ...] = ()
    removed_query: tuple[str, ...] = ()

    @property
    def appended_at(self) -> datetime:
        """When the web side accepted the request: a stream entry id starts with Redis's clock in ms."""
        return datetime.fromtimestamp(int(self.id.split("-", 1)[0]) / 1000, timezone.utc)


class IntakeLog:
    def __init__(self, redis: Redis, prefix: str, *, dedupe_seconds: int) -> None:
        self.redis = redis
        self.key = f"{prefix}:intake"
        self.seen_prefix = f"{prefix}:seen:"
        self.dedupe_seconds = dedupe_seconds
        self._append = redis.register_script(APPEND)

    # --- the web side -------------------------------------------------------

    def append(self, source: str, request: InboundRequest, events: Sequence[Mapping[str, Any]]) -> Logged:
        """Append a request's events unless every one was seen before; raise RedisUnavailable on a Redis error."""
        ids = [event["id"] for event in events]
        kept = request.without_credentials()
        meta = {"method": kept.method, "path": kept.path, "content_type": kept.content_type,
                "headers": dict(kept.headers), "query": dict(kept.query),
                "removed": [[name for name in request.headers if name not in kept.headers],
                            [name for name in request.query if name not in kept.query]]}
        try:
            fresh = self._append(keys=[self.key, *(self.seen_prefix + i for i in ids)],
                                 args=[self.dedupe_seconds, source, orjson.dumps(list(events)),
                                       orjson.dumps(meta), kept.body])
        except RedisError as error:
            raise RedisUnavailable.from_error("the intake log", error) from error
        new = {ids[position - 1] for position in fresh}
        return Logged([i for i in ids if i in new], [i for i in ids if i not in new])

    # --- the consumers --------------------------------------------------------

    def read(self, consumer: str, *, block_ms: int | None, pending: bool = False) -> list[Entry]:
        """Up to BATCH entries for `consumer`: new ones (waiting up to `block_ms`), or its own unacked ones."""
        try:
            answer: Any = self.redis.xreadgroup(GROUP, consumer, {self.key: "0" if pending else ">"},
                                           count=BATCH, block=None if pending else block_ms)
        except ResponseError as error:
            if "NOGROUP" not in str(error):
                raise
            self.create_group()
            return []
        return [_entry(entry_id, fields) for _, entries in answer or [] for entry_id, fields in entries
                if fields]  # an entry deleted while pending comes back without fields

    def claim_orphans(self, consumer: str, *, idle_ms: int) -> list[Entry]:
        """Take over entries held `idle_ms` by consumers that died; forget long-idle consumers holding none."""
        try:
            claimed = self.redis.xautoclaim(self.key, GROUP, consumer, idle_ms, count=BATCH)[1]  # 6.2: 2 items, 7: 3
            for other in self.redis.xinfo_consumers(self.key, GROUP):
                if other["pending"] == 0 and other["idle"] > FORGET_CONSUMER_IDLE_MS:
                    self.redis.xgroup_delconsumer(self.key, GROUP, other["name"])
        except ResponseError as error:
            if "NOGROUP" not in str(error):
                raise
            self.create_group()
            return []
        return [_entry(entry_id, fields) for entry_id, fields in claimed if fields]

    def done(self, entry_ids: Sequence[str]) -> None:
        """Acknowledge and delete entries whose events are stored and queued."""
        if entry_ids:
            with self.redis.pipeline(transaction=False) as pipeline:
                pipeline.xack(self.key, GROUP, *entry_ids)
                pipeline.xdel(self.key, *entry_ids)
                pipeline.execute()

    def create_group(self) -> None:
        """The consumer group, reading from the stream's start (entries appended before it existed count)."""
        try:
            self.redis.xgroup_create(self.key, GROUP, id="0", mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    def backlog(self) -> int:
        """Entries not yet taken in (appended, or held by a consumer and not acknowledged)."""
        return int(self.redis.xlen(self.key))

    def held(self) -> int:
        """Entries read by a consumer and not yet acknowledged (being taken in, or orphaned)."""
        try:
            return int(self.redis.xpending(self.key, GROUP)["pending"])
        except ResponseError:  # no stream or group yet
            return 0


def _entry(entry_id: bytes | str, fields: Mapping[bytes, bytes]) -> Entry:
    meta = orjson.loads(fields[b"request"])
    request = InboundRequest(method=meta["method"], path=meta["path"], body=fields[b"body"],
                             content_type=meta["content_type"], headers=meta["headers"], query=meta["query"])
    identifier = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    headers, query = meta.get("removed") or ([], [])  # entries appended before names were carried have none
    return Entry(identifier, fields[b"source"].decode(), orjson.loads(fields[b"events"]), request,
                 tuple(headers), tuple(query))


def consumer_name() -> str:
    """Unique per thread and process, readable in XINFO: host, pid and thread."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


# What a Redis needs for a webhook appended to the intake log to be as safe as one committed to
# PostgreSQL (whose commit waits for its fsync): the log on disk before the answer, never evicted.
KEEPS_THE_PROMISE = {"appendonly": "yes", "appendfsync": "always", "maxmemory-policy": "noeviction"}


@dataclass(frozen=True)
class AcceptChoice:
    """Where this process accepts webhooks (`database` or `redis`), and why, for the start-up log."""

    into: str
    why: str | None = None
    level: int = logging.INFO


def durability_problems(redis: Redis) -> list[str] | None:
    """How a webhook answered 202 from the intake log could be lost with this Redis: [] if it cannot; None if
    Redis will not say (CONFIG refused, as managed services often do, or Redis unreachable)."""
    try:
        with redis.pipeline(transaction=False) as pipeline:
            for name in KEEPS_THE_PROMISE:  # one name per CONFIG GET: Redis 6 takes no more
                pipeline.config_get(name)
            settings: dict[str, str] = {}
            for answer in pipeline.execute():
                settings.update(answer)
    except RedisError:
        return None
    problems = []
    if settings.get("appendonly") != "yes":
        problems.append("appendonly no: a Redis restart loses every webhook answered 202 and not yet stored")
    elif settings.get("appendfsync") != "always":
        problems.append(f"appendfsync {settings.get('appendfsync')}: Redis answers before the log is on disk, "
                        "so a crash of the Redis host (power, kernel) can lose the webhooks of the last second "
                        "or more (a crash of Redis alone loses nothing)")
    if settings.get("maxmemory-policy", "noeviction") != "noeviction":
        problems.append(f"maxmemory-policy {settings['maxmemory-policy']}: a full Redis evicts keys, "
                        "the intake log and queued jobs among them")
    return problems


def choose_accept_into(setting: str, redis: Redis) -> AcceptChoice:
    """`hub.accept_into` for this process: `auto` takes the intake log only where Redis keeps the promise of a 202.

    `auto` (the default) checks Redis once, at start-up: with appendonly yes, appendfsync always
    and maxmemory-policy noeviction a webhook in the intake log is on disk before its 202, as a
    database commit is, and never evicted; otherwise it accepts into the database. `redis` is
    the operator's word for it: it is kept, with a warning naming what could lose a 202.
    """
    if setting == "database":
        return AcceptChoice("database")
    problems = durability_problems(redis)
    if setting == "redis":
        if not problems:
            return AcceptChoice("redis")
        return AcceptChoice("redis", "accept_into: redis, but " + "; ".join(problems) + ". Fix it in Redis's "
                            "configuration, or use accept_into: database (or auto)", logging.WARNING)
    wanted = ", ".join(f"{name} {value}" for name, value in KEEPS_THE_PROMISE.items())
    if problems is None:
        return AcceptChoice("database", "accept_into: auto: accepting webhooks into the database, because Redis "
                            f"does not answer CONFIG GET, so it cannot be checked for {wanted}. Set accept_into: "
                            "redis if it has them")
    if problems:
        return AcceptChoice("database", "accept_into: auto: accepting webhooks into the database, because this "
                            f"Redis could lose a webhook answered 202 ({'; '.join(problems)}). With {wanted}, "
                            "webhooks are accepted into Redis, which is faster; accept_into: redis takes it as it is")
    return AcceptChoice("redis", f"accept_into: auto: accepting webhooks into the intake log (Redis has {wanted})")
