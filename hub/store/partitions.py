"""Monthly partitions of events, deliveries and attempts on PostgreSQL, so retention drops a month whole.

The three tables are partitioned by RANGE of their event's time (`events.time`,
`deliveries.event_time`, `attempts.event_time`), so an event, its deliveries and their attempts
always share a month. Each month has one partition per table, named `<table>_pYYYY_MM`, and each
table has a DEFAULT partition (`<table>_default`) for rows of a month without one (event times
far in the past or the future): no insert ever fails for want of a partition. `ensure` creates
the partitions of the current month and the next MONTHS_AHEAD (at migration time, and hourly
with retention: hub/retention.py), so a long-running hub does not fall into DEFAULT; rows of a
month the DEFAULT partition holds are moved into it when it is made.

SQLite has no partitions: `Partitions.ensure` does nothing there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping

from sqlalchemy import Connection, text

from hub.store.database import Database, now

# Parent tables and their partition keys: an event, its deliveries, their attempts.
PARTITIONED = {"events": "time", "deliveries": "event_time", "attempts": "event_time"}
MONTHS_AHEAD = 2
LOCK_KEY = 727369  # the advisory lock held while partitions are made (two processes may try at once)


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month in UTC: [start, end), the range of one partition."""

    start: datetime

    @classmethod
    def of(cls, moment: datetime) -> Month:
        moment = moment.astimezone(timezone.utc)
        return cls(datetime(moment.year, moment.month, 1, tzinfo=timezone.utc))

    @property
    def end(self) -> datetime:
        return self.start.replace(year=self.start.year + self.start.month // 12, month=self.start.month % 12 + 1)

    def next(self) -> Month:
        return Month(self.end)

    def name(self, table: str) -> str:
        return f"{table}_p{self.start:%Y_%m}"


def months_from(first: Month, last: Month) -> list[Month]:
    """Every month from `first` to `last`, both included."""
    months = [first]
    while months[-1] < last:
        months.append(months[-1].next())
    return months


def ahead(moment: datetime) -> list[Month]:
    """The months whose partitions should exist at `moment`: its own and the next MONTHS_AHEAD."""
    last = first = Month.of(moment)
    for _ in range(MONTHS_AHEAD):
        last = last.next()
    return months_from(first, last)


def default_name(table: str) -> str:
    return f"{table}_default"


def create_default(db: Connection, table: str, parent: str | None = None) -> None:
    db.execute(text(f"CREATE TABLE IF NOT EXISTS {default_name(table)} PARTITION OF {parent or table} DEFAULT"))


def create_month(db: Connection, month: Month, parents: Mapping[str, str] | None = None) -> list[str]:
    """Create the month's missing partitions of the three tables; return the names created.

    `parents` names the parent tables when they are not (yet) called events, deliveries and
    attempts (the migration builds them under other names). What the DEFAULT partitions hold of
    the month is moved into the new partitions (PostgreSQL refuses a partition whose rows sit in DEFAULT).
    """
    missing = [table for table in PARTITIONED if db.execute(
        text("SELECT to_regclass(:name) IS NULL"), {"name": month.name(table)}).scalar()]
    if not missing:
        return []
    bounds = {"lo": month.start, "hi": month.end}
    moving = parents is None and _default_holds(db, month)
    if moving:
        for table, column in PARTITIONED.items():
            db.execute(text(f"CREATE TEMPORARY TABLE moving_{table} ON COMMIT DROP AS SELECT * FROM "
                            f"{default_name(table)} WHERE {column} >= :lo AND {column} < :hi"), bounds)
        for table, column in PARTITIONED.items():
            db.execute(text(f"DELETE FROM {default_name(table)} WHERE {column} >= :lo AND {column} < :hi"), bounds)
    for table in missing:
        parent = (parents or {}).get(table, table)
        db.execute(text(f"CREATE TABLE {month.name(table)} PARTITION OF {parent} "
                        f"FOR VALUES FROM ('{month.start.isoformat()}') TO ('{month.end.isoformat()}')"))
    if moving:
        for table in PARTITIONED:
            db.execute(text(f"INSERT INTO {table} SELECT * FROM moving_{table}"))
    return [month.name(table) for table in missing]


def _default_holds(db: Connection, month: Month) -> bool:
    """Whether the events' DEFAULT partition has rows of the month (their deliveries and attempts are beside them)."""
    return bool(db.execute(text(f"SELECT EXISTS (SELECT 1 FROM {default_name('events')} "
                                "WHERE time >= :lo AND time < :hi)"), {"lo": month.start, "hi": month.end}).scalar())


def months(db: Connection) -> list[Month]:
    """The months the events table has a partition for, oldest first."""
    names = db.execute(text("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                            "WHERE i.inhparent = to_regclass('events')")).scalars()
    found = (re.fullmatch(r"events_p(\d{4})_(\d{2})", name) for name in names)
    return sorted(Month(datetime(int(m[1]), int(m[2]), 1, tzinfo=timezone.utc)) for m in found if m)


def drop_month(db: Connection, month: Month) -> None:
    """Drop the month's partitions of the three tables (with everything they hold)."""
    for table in reversed(PARTITIONED):
        db.execute(text(f"DROP TABLE IF EXISTS {month.name(table)}"))


class Partitions:
    def __init__(self, database: Database) -> None:
        self.database = database

    def ensure(self, moment: datetime | None = None) -> list[str]:
        """Create the partitions of the current month and the next MONTHS_AHEAD that are missing; return their names.

        Making a partition locks its parent table: one that cannot be locked within two seconds
        (a long transaction holds it) raises StoreUnavailable rather than stall every query
        queued behind the lock; the next hour tries again, months before the partition is needed.
        """
        if not self.database.is_postgresql:
            return []
        with self.database.connect(write=True) as db:
            db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
            db.execute(text("SET LOCAL lock_timeout = '2s'"))
            return [name for month in ahead(moment or now()) for name in create_month(db, month)]


def conflict_key(database: Database, table: str) -> list[str]:
    """The columns ON CONFLICT names for a table's primary key: with the partition key on PostgreSQL."""
    if database.is_postgresql and table in PARTITIONED:
        return ["id", PARTITIONED[table]]
    return ["id"]


_PARTITION_NAME = re.compile(rf"({'|'.join(PARTITIONED)})_(p\d{{4}}_\d{{2}}|default)")


def is_partition(name: str | None) -> bool:
    """Whether a table name is one of the partitions (autogenerate compares the parents with the models, not them)."""
    return name is not None and _PARTITION_NAME.fullmatch(name) is not None


def not_a_partition(name: str | None, type_: str, parent_names: Mapping[Any, str | None]) -> bool:
    """Alembic's include_name: leave the partitions and their indexes out of comparisons with the models."""
    if type_ == "table":
        return not is_partition(name)
    return not is_partition(parent_names.get("table_name"))
