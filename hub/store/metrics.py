"""CX metrics in the store: response rows, their counts per quarter-hour, and alert states.

The take-in upserts each response's row in its own transaction (`UPSERT_RESPONSES`, also part
of ingest's one PostgreSQL statement), marked pending. `fold` later adds pending rows to
`metric_counts`, taking out what the row counted before, so a changed score moves from one
category or bucket to another and is never counted twice. Folding is safe in any number of
processes at once: each batch is claimed in a write transaction first (row locks with SKIP
LOCKED on PostgreSQL; SQLite has one writer), and the count rows are written in key order.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Mapping, Sequence

import orjson
from sqlalchemy import and_, case, delete, func, literal, literal_column, select, text, union_all, update

from hub.store.database import Database, now
from hub.store.tables import metric_alerts, metric_counts, response_attributes, responses

ALL = "*"  # the roll-up rows: every source, every form
MAX_ATTRIBUTE_NAME, MAX_ATTRIBUTE_VALUE = 128, 512  # longer attributes are not indexed for queries
RESPONSE_COLUMNS = ("key", "source", "subject", "metric", "category", "value", "form", "customer", "attributes",
                    "answered_ms", "quarter", "scored_ms", "event_id", "pending")
_NEWER = ("(excluded.scored_ms > responses.scored_ms OR (excluded.scored_ms = responses.scored_ms "
          "AND excluded.event_id > responses.event_id))")
_EARLIER = "excluded.answered_ms < responses.answered_ms"
_LATEST = ("metric", "category", "value", "form", "customer", "attributes", "scored_ms", "event_id")
# The latest score wins, the earliest time keeps its bucket; an event already counted (a resend,
# a replay, an older event arriving late) changes nothing and leaves the row as it was.
ON_CONFLICT = ("ON CONFLICT (key) DO UPDATE SET "
               + ", ".join(f"{name} = CASE WHEN {_NEWER} THEN excluded.{name} ELSE responses.{name} END"
                           for name in _LATEST)
               + f", answered_ms = CASE WHEN {_EARLIER} THEN excluded.answered_ms ELSE responses.answered_ms END"
               + f", quarter = CASE WHEN {_EARLIER} THEN excluded.quarter ELSE responses.quarter END"
               + f", pending = 1 WHERE {_NEWER} OR {_EARLIER}")
UPSERT_RESPONSES = text(f"INSERT INTO responses ({', '.join(RESPONSE_COLUMNS)}) "
                        f"VALUES ({', '.join(':' + name for name in RESPONSE_COLUMNS)}) {ON_CONFLICT}")


SPANS_PER_STATEMENT = 200  # SQLite allows 500 terms in a compound SELECT
IN_CHUNK = 500  # values per IN list
SELECTIVITY_PROBE = 2000  # rows counted of each attribute filter to choose the one that drives
COUNT_COLUMNS = ("responses", "positive", "neutral", "negative", "value_sum")
# On PostgreSQL the fold's many rows go as one JSON parameter of one statement: an executemany
# there is a statement per row (psycopg 3), about forty per response, which made the fold the
# slowest part; SQLite's executemany is a loop in process and stays.
ADD_COUNTS_IN_POSTGRESQL = text(
    "INSERT INTO metric_counts (metric, source, form, quarter, " + ", ".join(COUNT_COLUMNS) + ") "
    "SELECT metric, source, form, quarter, " + ", ".join(COUNT_COLUMNS) + " FROM jsonb_to_recordset(CAST(:rows AS "
    "jsonb)) AS r(metric text, source text, form text, quarter integer, responses integer, positive integer, "
    "neutral integer, negative integer, value_sum double precision) "
    "ON CONFLICT (metric, source, form, quarter) DO UPDATE SET "
    + ", ".join(f"{name} = metric_counts.{name} + excluded.{name}" for name in COUNT_COLUMNS))
ATTRIBUTE_COLUMNS = "key, name, value, metric, quarter, category, score, source, form"
ADD_ATTRIBUTES_IN_POSTGRESQL = text(
    f"INSERT INTO response_attributes ({ATTRIBUTE_COLUMNS}) SELECT {ATTRIBUTE_COLUMNS} "
    "FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(key text, name text, value text, metric text, "
    "quarter integer, category text, score double precision, source text, form text)")
QUARTER_MS = 15 * 60 * 1000


@dataclass(frozen=True)
class SpanCounts:
    """The counts of one group in one span of quarter-hours (a bucket), by the span's position."""

    span: int
    group: str
    responses: int
    positive: int
    neutral: int
    negative: int
    value_sum: float


@dataclass(frozen=True)
class AlertState:
    rule: str
    group_key: str
    state: str
    episode: int
    value: float | None
    changed_at: datetime


class Metrics:
    def __init__(self, database: Database) -> None:
        self.database = database

    # --- writing --------------------------------------------------------------

    def record(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Upsert response rows by themselves (the take-in writes them with its events instead)."""
        if rows:
            with self.database.connect(write=True) as db:
                db.execute(UPSERT_RESPONSES, list(rows))

    def pending(self) -> int:
        with self.database.connect() as db:
            return int(db.execute(select(func.count()).where(responses.c.pending == 1)).scalar_one())

    def fold(self, batch: int = 2000) -> int:
        """Add pending responses to the counts, a batch per transaction; return how many were folded."""
        total = 0
        while True:
            folded = self._fold_batch(batch)
            total += folded
            if folded < batch:
                return total

    def _fold_batch(self, batch: int) -> int:
        chosen = select(responses.c.key).where(responses.c.pending == 1).order_by(responses.c.key).limit(batch)
        if self.database.is_postgresql:
            chosen = chosen.with_for_update(skip_locked=True)
        claim = (update(responses).where(responses.c.key.in_(chosen.scalar_subquery())).values(pending=2)
                 .returning(*(responses.c[name] for name in ("key", "source", "metric", "category", "value", "form",
                                                             "quarter", "attributes", "counted_metric",
                                                             "counted_category", "counted_value", "counted_form",
                                                             "counted_quarter"))))
        with self.database.connect(write=True) as db:  # the claim writes first: SQLite takes its lock here
            rows = db.execute(claim).mappings().all()
            if not rows:
                return 0
            deltas: dict[tuple[str, str, str, int], list[float]] = defaultdict(lambda: [0, 0, 0, 0, 0.0])
            for row in rows:
                if row["counted_metric"] is not None:
                    _add(deltas, row["counted_metric"], row["source"], row["counted_form"], row["counted_quarter"],
                         row["counted_category"], row["counted_value"], -1)
                if row["metric"] is not None:
                    _add(deltas, row["metric"], row["source"], row["form"], row["quarter"], row["category"],
                         row["value"], 1)
            changes = [{"metric": key[0], "source": key[1], "form": key[2], "quarter": key[3],
                        "responses": int(delta[0]), "positive": int(delta[1]), "neutral": int(delta[2]),
                        "negative": int(delta[3]), "value_sum": float(delta[4])}
                       for key, delta in sorted(deltas.items()) if any(delta)]
            if changes and self.database.is_postgresql:
                db.execute(ADD_COUNTS_IN_POSTGRESQL, {"rows": orjson.dumps(changes).decode()})
            elif changes:
                statement = self.database.insert(metric_counts)
                db.execute(statement.on_conflict_do_update(
                    index_elements=["metric", "source", "form", "quarter"],
                    set_={name: metric_counts.c[name] + statement.excluded[name] for name in COUNT_COLUMNS}),
                    changes)
            keys = [row["key"] for row in rows]
            db.execute(update(responses).where(responses.c.key.in_(keys), responses.c.pending == 2)
                       .values(pending=0, counted_metric=responses.c.metric, counted_category=responses.c.category,
                               counted_value=responses.c.value, counted_form=responses.c.form,
                               counted_quarter=responses.c.quarter))
            db.execute(delete(response_attributes).where(response_attributes.c.key.in_(keys)))
            attributes = [{"key": row["key"], "name": name, "value": value, "metric": row["metric"],
                           "quarter": row["quarter"], "category": row["category"], "score": row["value"],
                           "source": row["source"], "form": row["form"]}
                          for row in rows for name, value in orjson.loads(row["attributes"]).items()
                          if len(name) <= MAX_ATTRIBUTE_NAME and len(value) <= MAX_ATTRIBUTE_VALUE]
            if attributes and self.database.is_postgresql:
                db.execute(ADD_ATTRIBUTES_IN_POSTGRESQL, {"rows": orjson.dumps(attributes).decode()})
            elif attributes:
                db.execute(response_attributes.insert(), attributes)
            return len(rows)

    # --- reading --------------------------------------------------------------

    def span_counts(self, metrics: Sequence[str], spans: Sequence[tuple[int, int]], *, source: str | None = None,
                    form: str | None = None, group: str | None = None) -> list[SpanCounts]:
        """Counts per span of quarter-hours [first, last), from the folded counts; `group` is source or form.

        One statement, one index range scan per span (a UNION ALL): the database sums the
        quarter-hours, and only a row per span and group comes back.
        """
        table = metric_counts.c
        conditions = [table.metric.in_(metrics),  # the roll-ups (source or form '*') unless split by them
                      table.source == source if source else table.source != ALL if group == "source" else
                      table.source == ALL,
                      table.form == form if form else table.form != ALL if group == "form" else table.form == ALL]
        key: Any = self._group_key(table.source if group == "source" else table.form if group == "form" else None)
        sums = (func.sum(table.responses), func.sum(table.positive), func.sum(table.neutral), func.sum(table.negative),
                func.sum(table.value_sum))
        parts = [select(literal(index), key, *sums).where(*conditions, table.quarter >= first, table.quarter < last)
                 .group_by(key) for index, (first, last) in enumerate(spans)]
        return self._spans(parts)

    def span_counts_matching(self, metrics: Sequence[str], spans: Sequence[tuple[int, int]], *,
                             source: str | None = None, form: str | None = None,
                             attributes: Mapping[str, str] | None = None, group_attribute: str | None = None,
                             group: str | None = None) -> list[SpanCounts]:
        """The same counts from the attribute rows, for attribute filters and groups (call `fold` first).

        Each attribute row carries what its response counts, so a bucket is one range of one
        covering index: (name, value, metric, quarter) for the most selective filter, (name,
        metric, quarter) for a group without one. Further filters, and a group beside a filter,
        are primary-key lookups (key, name) of the rows the range found; the responses are not read.
        """
        filters = list((attributes or {}).items())
        if len(filters) > 1 and spans:
            filters = self._most_selective_first(metrics, filters, spans[0][0], spans[-1][1])
        if not filters and not group_attribute:
            raise ValueError("span_counts_matching needs an attribute filter or an attribute group")
        driver = response_attributes.alias("driver")
        table = driver.c
        joined: Any = driver
        conditions: list[Any] = [table.metric.in_(metrics)]
        if filters:
            conditions += [table.name == filters[0][0], table.value == filters[0][1]]
        else:
            conditions.append(table.name == group_attribute)
        if source:
            conditions.append(table.source == source)
        if form:
            conditions.append(table.form == form)
        for number, (name, value) in enumerate(filters[1:]):
            having = response_attributes.alias(f"having_{number}")
            joined = joined.join(having, and_(having.c.key == table.key, having.c.name == name,
                                              having.c.value == value))
        key: Any = self._group_key(table.source if group == "source" else table.form if group == "form" else None)
        if group_attribute and filters:
            grouping = response_attributes.alias("grouping")
            joined = joined.join(grouping, and_(grouping.c.key == table.key, grouping.c.name == group_attribute))
            key = self._group_key(grouping.c.value)
        elif group_attribute:
            key = self._group_key(table.value)
        sums = (func.count(), *(func.sum(_is(table.category, name)) for name in ("positive", "neutral", "negative")),
                func.sum(table.score))
        parts = [select(literal(index), key, *sums).select_from(joined)
                 .where(*conditions, table.quarter >= first, table.quarter < last).group_by(key)
                 for index, (first, last) in enumerate(spans)]
        return self._spans(parts)

    def _group_key(self, column: Any) -> Any:
        """What a bucket's rows are grouped by: nothing, or `column` (on SQLite as `column || ''`).

        SQLite, without statistics, prefers an index that yields the rows in the group's order
        (no sort) to the one whose range is the bucket: grouped by source it read every form's
        rows of all time, by attribute every quarter of it (seconds over a million responses).
        An expression cannot come in index order, so it takes the bucket's range and sorts the
        few rows found instead. PostgreSQL chooses by its statistics.
        """
        if column is None:
            return literal("")
        return column if self.database.is_postgresql else column.op("||")(literal_column("''"))

    def _most_selective_first(self, metrics: Sequence[str], filters: list[tuple[str, str]], first: int,
                              last: int) -> list[tuple[str, str]]:
        """The filters, the one matching fewest responses in [first, last) first (it drives the query).

        Each is counted up to SELECTIVITY_PROBE rows of its index range, so asking costs little
        however many responses match, and a broad filter never drives beside a narrow one.
        """
        table = response_attributes.c

        def matching(name: str, value: str) -> Any:
            probe = (select(literal(1)).where(table.name == name, table.value == value, table.metric.in_(metrics),
                                              table.quarter >= first, table.quarter < last)
                     .limit(SELECTIVITY_PROBE).subquery())
            return select(func.count()).select_from(probe).scalar_subquery()

        with self.database.connect() as db:
            found = db.execute(select(*(matching(name, value) for name, value in filters))).one()
        return [pair for _, _, pair in sorted(zip(found, range(len(filters)), filters))]

    def _spans(self, parts: Sequence[Any]) -> list[SpanCounts]:
        with self.database.connect() as db:
            found: list[SpanCounts] = []
            for offset in range(0, len(parts), SPANS_PER_STATEMENT):
                chunk = parts[offset:offset + SPANS_PER_STATEMENT]
                statement: Any = chunk[0] if len(chunk) == 1 else union_all(*chunk)
                for row in db.execute(statement):
                    found.append(_counts(row))
            return found

    def attribute_known(self, name: str) -> bool:
        """Whether any response carries the attribute `name` (an unknown one is a 404, not an empty answer)."""
        query = select(response_attributes.c.key).where(response_attributes.c.name == name).limit(1)
        with self.database.connect() as db:
            return db.execute(query).first() is not None

    def per_customer(self, metric: str, category: str | None, since_ms: int, until_ms: int, *,
                     source: str | None = None, form: str | None = None, at_least: int = 1) -> dict[str, int]:
        """Responses per customer answered in [since_ms, until_ms), with `at_least` of them (for `per: customer`)."""
        table = responses.c
        # The quarter bounds make it one range of (metric, quarter): the window's responses, not all history.
        conditions = [table.metric == metric, table.quarter >= since_ms // QUARTER_MS,
                      table.quarter <= (until_ms - 1) // QUARTER_MS, table.answered_ms >= since_ms,
                      table.answered_ms < until_ms, table.customer.isnot(None)]
        if category:
            conditions.append(table.category == category)
        if source:
            conditions.append(table.source == source)
        if form:
            conditions.append(table.form == form)
        query = (select(table.customer, func.count()).where(*conditions).group_by(table.customer)
                 .having(func.count() >= at_least))
        with self.database.connect() as db:
            return {str(customer): int(count) for customer, count in db.execute(query)}

    # --- alert states -----------------------------------------------------------

    def alert_states(self, rule: str, groups: Iterable[str] | None = None) -> dict[str, AlertState]:
        """A rule's states: all of them, or (given `groups`) the firing ones and those of `groups`.

        With `per: customer` a rule keeps a state for every customer it ever fired for; the
        evaluator needs only the firing ones (to clear) and those of the customers holding now
        (to fire the next episode), so it never reads them all (ix_metric_alerts_state).
        """
        table = metric_alerts.c
        queries: list[Any] = []
        if groups is None:
            queries.append(select(metric_alerts).where(table.rule == rule))
        else:
            queries.append(select(metric_alerts).where(table.rule == rule, table.state == "firing"))
            wanted = sorted(set(groups))
            queries += [select(metric_alerts).where(table.rule == rule,
                                                    table.group_key.in_(wanted[offset:offset + IN_CHUNK]))
                        for offset in range(0, len(wanted), IN_CHUNK)]
        found: dict[str, AlertState] = {}
        with self.database.connect() as db:
            for query in queries:
                for row in db.execute(query):
                    found[row.group_key] = AlertState(row.rule, row.group_key, row.state, row.episode, row.value,
                                                      row.changed_at)
        return found

    def move_alert(self, rule: str, group_key: str, *, state: str, episode: int, value: float | None,
                   previous: AlertState | None) -> bool:
        """Set an alert's state if it is still `previous` (compare and set); False when another process moved it."""
        values = {"state": state, "episode": episode, "value": value, "changed_at": now()}
        with self.database.connect(write=True) as db:
            if previous is None:
                statement = self.database.insert(metric_alerts).values(rule=rule, group_key=group_key, **values)
                return bool(db.execute(statement.on_conflict_do_nothing(
                    index_elements=["rule", "group_key"])).rowcount)
            statement = (update(metric_alerts)
                         .where(metric_alerts.c.rule == rule, metric_alerts.c.group_key == group_key,
                                metric_alerts.c.state == previous.state, metric_alerts.c.episode == previous.episode)
                         .values(**values))
            return db.execute(statement).rowcount == 1

    def forget_alerts(self, keep: Iterable[str]) -> int:
        """Delete the states of rules no longer in the config."""
        names = list(keep)
        with self.database.connect(write=True) as db:
            condition = metric_alerts.c.rule.notin_(names) if names else literal(True)
            return db.execute(delete(metric_alerts).where(condition)).rowcount


def _add(deltas: dict[tuple[str, str, str, int], list[float]], metric: str, source: str, form: str, quarter: int,
         category: str, value: float, sign: int) -> None:
    position = {"positive": 1, "neutral": 2, "negative": 3}[category]
    for key in ((metric, source, form, quarter), (metric, source, ALL, quarter), (metric, ALL, form, quarter),
                (metric, ALL, ALL, quarter)):
        delta = deltas[key]
        delta[0] += sign
        delta[position] += sign
        delta[4] += sign * value


def _counts(row: Any) -> SpanCounts:
    count, positive, neutral, negative = (int(value or 0) for value in row[2:6])
    return SpanCounts(int(row[0]), str(row[1]), count, positive, neutral, negative, float(row[6] or 0))


def _is(column: Any, value: str) -> Any:
    return case((column == value, 1), else_=0)


def upsert_in_postgresql(columns_sql: str, types_sql: str) -> str:
    """The response upsert as a CTE of ingest's one statement (rows from a JSON parameter)."""
    return (f"INSERT INTO responses ({columns_sql}) SELECT {columns_sql} "
            f"FROM jsonb_to_recordset(CAST(:responses AS jsonb)) AS r({types_sql}) {ON_CONFLICT}")

