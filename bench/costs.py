"""What one event costs in Redis and PostgreSQL: commands, transactions, rows, WAL, stored bytes, memory.

The hub runs with two actions per event and the default `accept_into` (the intake log, on the
bench's Redis). First the running hub idles for a while, so the polling every worker does
whether or not events arrive (sweeper, case checks, customer resolution) is known per second;
then `costs_events` events are sent at `costs_rate`, everything is delivered and the hub stopped
(its backends exit, so PostgreSQL has every counter), and the deltas are read:

- Redis: INFO commandstats (calls and µs by command; commands a Lua script runs are counted
  beside the EVALSHA that ran them);
- PostgreSQL: pg_stat_database's transactions, pg_stat_user_tables' rows inserted, updated,
  deleted per table, the WAL position (the server's: other databases on a shared server add to
  it, so their transactions in the window are reported too), and pg_stat_statements' calls
  when the server preloads it; then how much each table grew, with its indexes and TOAST. When the
  server is local and its WAL readable (the bench runs as root or postgres), `pg_waldump -f` reads
  the WAL as it is written and counts the records of this database alone (`bench/waldump.py`).

Then Redis memory per event waiting: with no worker running, N events in the intake log; after
intake-only workers stored them, their 2N delivery jobs in the queues; after delivery, what stays
(each event's dedupe key, for `hub.dedupe_seconds`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

import psycopg

from bench.end_to_end import PER_EVENT, hub_meter
from bench.load import send_at_rate
from bench.waldump import DatabaseWal
from hub.store.tables import events as events_table
from hub.testing import wait_for

if TYPE_CHECKING:
    from redis import Redis

    from bench.scenarios import Scenarios

HUB_TABLES = ("events", "deliveries", "attempts", "requests")
OWN_COMMANDS = ("info",)  # what the bench itself sends to Redis during the steady run (its snapshots)
TOP = 10


def deltas(after: Mapping[str, float], before: Mapping[str, float]) -> dict[str, float]:
    """after - before for every key of `after` (a key new in `after` started at 0); zeros left out."""
    return {key: value - before.get(key, 0) for key, value in after.items() if value - before.get(key, 0)}


def per_event(counts: Mapping[str, float], events: int) -> dict[str, float]:
    return {key: value / events for key, value in counts.items()}


def top(counts: Mapping[str, float], n: int = TOP) -> dict[str, float]:
    """The `n` largest, largest first."""
    return dict(sorted(counts.items(), key=lambda item: -item[1])[:n])


def command_calls(commandstats: Mapping[str, Mapping[str, float]], figure: str = "calls") -> dict[str, float]:
    """{command: calls} (or usec) from redis-py's INFO commandstats ({'cmdstat_xadd': {'calls': 3, ...}})."""
    return {name.removeprefix("cmdstat_"): stats[figure] for name, stats in commandstats.items()
            if name.removeprefix("cmdstat_") not in OWN_COMMANDS}


def table_rows(stats: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """{'events.ins': n, ...} from {table: {'ins': n, 'upd': n, 'del': n}}, so `deltas` can subtract them."""
    return {f"{table}.{kind}": value for table, kinds in stats.items() for kind, value in kinds.items()}


@dataclass
class Snapshot:
    redis_calls: dict[str, float]
    redis_usec: dict[str, float]
    xact_commit: float
    xact_rollback: float
    other_databases: dict[str, float]  # transactions of each other database: on a shared server, who else wrote WAL
    rows: dict[str, float]
    wal_lsn: str
    wal_fpi: float  # full-page images (pg_stat_wal, the server's): a page's first change after a checkpoint
    statements: float | None  # pg_stat_statements' calls in this database, when the server preloads it
    own_xacts: int  # the bench's own transactions so far (this meter's queries), to subtract
    at: float = field(default_factory=time.monotonic)


class Meter:
    """Reads the counters of the bench's Redis and PostgreSQL database; counts its own transactions."""

    def __init__(self, redis: Redis, database_url: str, database: str) -> None:
        self.redis, self.database = redis, database
        self.db = psycopg.connect(database_url, autocommit=True)
        self.own_xacts = 0  # each statement of this autocommit connection is one committed transaction
        self.statements_on = bool(self.query1("SELECT current_setting('shared_preload_libraries') "
                                              "LIKE '%pg_stat_statements%'"))
        if self.statements_on:
            self.query1("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        self.own_xacts += 1
        return self.db.execute(sql, args or None).fetchall()  # no arguments: a % is a % (LIKE)

    def query1(self, sql: str, *args: Any) -> Any:
        return self.query(sql, *args)[0][0]

    def snapshot(self) -> Snapshot:
        stats = self.redis.info("commandstats")
        self.query1("SELECT pg_stat_clear_snapshot()")
        own = self.own_xacts
        databases = {name: (commit, rollback) for name, commit, rollback in self.query(
            "SELECT datname, xact_commit, xact_rollback FROM pg_stat_database WHERE datname IS NOT NULL")}
        commit, rollback = databases.pop(self.database)
        rows = {name: {"ins": ins, "upd": upd, "del": dele} for name, ins, upd, dele in self.query(
            "SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables")}
        statements = None
        if self.statements_on:
            statements = float(self.query1("SELECT coalesce(sum(calls), 0) FROM pg_stat_statements s "
                                           "JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = %s", self.database))
        lsn, fpi = self.query("SELECT pg_current_wal_lsn()::text, wal_fpi FROM pg_stat_wal")[0]
        return Snapshot(command_calls(stats), command_calls(stats, "usec"), float(commit), float(rollback),
                        {name: float(sum(xacts)) for name, xacts in databases.items()}, table_rows(rows), lsn,
                        float(fpi), statements, own)

    def wal_bytes(self, before: Snapshot, after: Snapshot) -> float:
        return float(self.query1("SELECT pg_wal_lsn_diff(%s::pg_lsn, %s::pg_lsn)", after.wal_lsn, before.wal_lsn))

    def sizes(self) -> dict[str, dict[str, float]]:
        """Bytes on disk of each table: heap, indexes, and total (with TOAST)."""
        return {name: {"heap": heap, "indexes": indexes, "total": total} for name, heap, indexes, total in self.query(
            "SELECT relname, pg_relation_size(relid), pg_indexes_size(relid), pg_total_relation_size(relid) "
            "FROM pg_stat_user_tables")}

    def difference(self, before: Snapshot, after: Snapshot) -> dict[str, Any]:
        """Everything that happened between two snapshots, less the bench's own transactions."""
        return {"seconds": after.at - before.at,
                "redis_calls": deltas(after.redis_calls, before.redis_calls),
                "redis_usec": sum(deltas(after.redis_usec, before.redis_usec).values()),
                "redis_usec_scripts": deltas(after.redis_usec, before.redis_usec).get("evalsha", 0.0),
                "xact_commit": after.xact_commit - before.xact_commit - (after.own_xacts - before.own_xacts),
                "xact_rollback": after.xact_rollback - before.xact_rollback,
                "other_databases_xact": sum(after.other_databases[name] - xacts  # a dropped database drops out
                                            for name, xacts in before.other_databases.items()
                                            if name in after.other_databases),
                "rows": deltas(after.rows, before.rows),
                "wal_bytes": self.wal_bytes(before, after),
                "wal_fpi": after.wal_fpi - before.wal_fpi,
                "statements": None if after.statements is None or before.statements is None
                else after.statements - before.statements}

    def close(self) -> None:
        self.db.close()


def net_of_idle(run: dict[str, Any], idle: dict[str, Any]) -> dict[str, float]:
    """The run's counts less what the idle hub does in as many seconds (its polling), for the scalar figures."""
    scale = run["seconds"] / idle["seconds"]
    return {key: run[key] - idle[key] * scale
            for key in ("redis_usec", "xact_commit", "xact_rollback", "wal_bytes") if run.get(key) is not None} | {
        "redis_calls": sum(run["redis_calls"].values()) - sum(idle["redis_calls"].values()) * scale}


def summary(run: dict[str, Any], idle: dict[str, Any], events: int) -> dict[str, Any]:
    """Per event: the run's raw figures and the same net of idle polling; per second: the idle hub's."""
    net = net_of_idle(run, idle)
    calls = sum(run["redis_calls"].values())
    return {
        "redis_commands_per_event": calls / events,
        "redis_commands_per_event_net": net["redis_calls"] / events,
        "redis_top_commands_per_event": per_event(top(run["redis_calls"]), events),
        "redis_usec_per_event": run["redis_usec"] / events,  # a script's commands count twice: in it and alone
        "redis_usec_per_event_scripts": run["redis_usec_scripts"] / events,
        "pg_commits_per_event": run["xact_commit"] / events,
        "pg_commits_per_event_net": net["xact_commit"] / events,
        "pg_rollbacks_per_event": run["xact_rollback"] / events,
        "pg_statements_per_event": None if run["statements"] is None else run["statements"] / events,
        "pg_rows_per_event": per_event(run["rows"], events),
        "wal_bytes_per_event": run["wal_bytes"] / events,
        "wal_bytes_per_event_net": net["wal_bytes"] / events,
        "wal_full_page_images_per_event": run["wal_fpi"] / events,
        "idle_per_s": {"redis_commands": sum(idle["redis_calls"].values()) / idle["seconds"],
                       "pg_commits": idle["xact_commit"] / idle["seconds"],
                       "pg_rollbacks": idle["xact_rollback"] / idle["seconds"],
                       "wal_bytes": idle["wal_bytes"] / idle["seconds"]},
    }


def truncate(scenarios: Scenarios) -> None:
    """Empty the hub's tables with TRUNCATE (DELETE keeps their pages), so sizes are this run's alone.

    A fresh database has no tables yet: the hub makes them when it starts."""
    engine = scenarios.stack.engine
    with engine.begin() as db:
        if all(engine.dialect.has_table(db, name) for name in HUB_TABLES):
            db.exec_driver_sql(f"TRUNCATE {', '.join(HUB_TABLES)} CASCADE")


def steady(scenarios: Scenarios, meter: Meter, events: int, rate: float, idle_seconds: float) -> dict[str, Any]:
    """The hub idle for `idle_seconds`, then `events` events at `rate`, all delivered, the hub stopped."""
    stack = scenarios.stack
    url, web = stack.start_web()
    workers = stack.start_workers(2)
    cpu = hub_meter(scenarios, web, workers)
    sizes_before = meter.sizes()
    try:
        idle_from = meter.snapshot()
        time.sleep(idle_seconds)
        before = meter.snapshot()
        idle = meter.difference(idle_from, before)
        wal = DatabaseWal(stack.processes, meter.query1, meter.database, before.wal_lsn)
        cpu.start()
        sent = send_at_rate(url, rate, events / rate, scenarios.numbers(events + 1))
        wait_for(lambda: stack.sink_count("/costs/") >= len(sent) * PER_EVENT, 300, interval=0.5,
                 what="every delivery at the sink")
        owed = "SELECT count(*) FROM deliveries WHERE status IN ('queued', 'running', 'retrying')"
        wait_for(lambda: meter.query1(owed) == 0, 120,
                 interval=1, what="every delivery stored done")
        spent = cpu.seconds()
    finally:
        for process in [web, *workers]:
            stack.processes.stop(process)
    time.sleep(2)  # the backends have exited and reported their counters
    after = meter.snapshot()
    run = meter.difference(before, after)
    run["database_wal"] = wal.figures(before.wal_lsn, after.wal_lsn)
    stored = meter.query1("SELECT count(*) FROM events")
    written = {key.split(".")[0] for key in run["rows"]} | set(HUB_TABLES)
    sizes = {name: figures for name, figures in meter.sizes().items() if name in written}
    grown = {name: figures["total"] - sizes_before.get(name, {}).get("total", 0) for name, figures in sizes.items()}
    return {"events_sent": len(sent), "events_stored": stored, "rate": rate, "run": run, "idle": idle,
            **summary(run, idle, stored),
            "database_wal_per_event": None if run["database_wal"] is None
            else per_event(run["database_wal"], stored),
            "cpu_ms_per_event": {name: value * 1000 / stored for name, value in spent.items()},
            "sizes": sizes,
            "bytes_per_event": {name: value / stored for name, value in top(grown, len(grown)).items() if value},
            "bytes_per_event_all": sum(grown.values()) / stored}


def used_memory(redis: Redis) -> int:
    return int(redis.info("memory")["used_memory"])


def waiting_memory(scenarios: Scenarios, events: int) -> dict[str, float]:
    """Redis bytes per event: waiting in the intake log, as delivery jobs in the queues, and after delivery."""
    stack = scenarios.stack
    stack.reset()
    redis = stack.redis
    url, web = stack.start_web()
    empty = used_memory(redis)
    try:
        scenarios.preload(url, events)
    finally:
        stack.processes.stop(web)
    in_log, log_length = used_memory(redis), int(redis.xlen(stack.intake_key))
    intake = stack.start_workers(2, intake_only=True)
    try:
        wait_for(lambda: redis.xlen(stack.intake_key) == 0, 300, interval=0.5, what="the intake log emptied")
        wait_for(lambda: stack.count(events_table) >= events, 60, interval=0.5, what="every event stored")
    finally:
        for process in intake:
            stack.processes.stop(process)
    queued = used_memory(redis)
    workers = stack.start_workers(2)
    try:
        wait_for(lambda: stack.sink_count("/costs/") >= events * PER_EVENT, 300, interval=0.5,
                 what="every delivery at the sink")
    finally:
        for process in workers:
            stack.processes.stop(process)
    return {"events": events, "log_entries": log_length, "empty_bytes": empty,
            "intake_log_bytes_per_event": (in_log - empty) / events,
            "delivery_queues_bytes_per_event": (queued - empty) / events,
            "after_delivery_bytes_per_event": (used_memory(redis) - empty) / events,
            "keys_after_delivery": int(redis.dbsize())}


def costs(scenarios: Scenarios) -> None:
    """The `costs` scenario: what one event costs (PostgreSQL only: SQLite has no such counters)."""
    stack, settings = scenarios.stack, scenarios.settings
    if not stack.database_name:
        scenarios.results["costs"] = {"skipped": "needs PostgreSQL"}
        return
    stack.reset()
    truncate(scenarios)
    stack.configure([("a", stack.sink_url + "/costs/a"), ("b", stack.sink_url + "/costs/b")])
    meter = Meter(stack.redis, stack.database_url, stack.database_name)
    try:
        figures = steady(scenarios, meter, settings.costs_events, settings.costs_rate, settings.costs_idle_seconds)
    finally:
        meter.close()
    figures["accept_into"] = "redis" if stack.redis.exists(stack.intake_key) else "database"
    figures["redis_memory"] = waiting_memory(scenarios, settings.costs_events)
    scenarios.results["costs"] = figures
