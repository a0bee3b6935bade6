"""A metric by bucket (and optionally by source, form or attribute value) from the store's counts.

Without an attribute the answer comes from the folded counts per quarter-hour (at most 35,040
rows a year per source and form, whatever the number of responses), summed by the database per
bucket; with one, from the response rows, through the attribute index. Either way the pending responses are folded first, so an answer counts
every response stored before it was asked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Mapping, Sequence
from zoneinfo import ZoneInfo

from hub.insights.buckets import BadQuery, Bucket, buckets
from hub.insights.definitions import COUNT_NAMES, METRICS, SCORED, metric_value

if TYPE_CHECKING:
    from hub.store.metrics import Metrics, SpanCounts

MAX_GROUPS = 50
MAX_ATTRIBUTE_FILTERS = 5
UTC = ZoneInfo("UTC")


@dataclass(frozen=True)
class MetricQuery:
    metric: str
    by: str = "week"
    since: timedelta = timedelta(days=90)
    until: datetime | None = None  # now, unless given
    source: str | None = None
    form: str | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)
    group: str | None = None  # source, form or attr:NAME
    zone: ZoneInfo = UTC


@dataclass(frozen=True)
class Totals:
    """A metric's counts over some span, and its value from them."""

    metric: str
    responses: int = 0
    positive: int = 0
    neutral: int = 0
    negative: int = 0
    value_sum: float = 0.0

    @property
    def value(self) -> float | None:
        return metric_value(self.metric, self.responses, self.positive, self.negative, self.value_sum)

    @property
    def counts(self) -> dict[str, int]:
        names = COUNT_NAMES[self.metric]
        return {names[0]: self.positive, names[1]: self.neutral, names[2]: self.negative}

    def plus(self, row: SpanCounts) -> Totals:
        return Totals(self.metric, self.responses + row.responses, self.positive + row.positive,
                      self.neutral + row.neutral, self.negative + row.negative, self.value_sum + row.value_sum)


@dataclass(frozen=True)
class MetricRow:
    """One bucket (of one group) of a metric: its value and counts."""

    bucket: str
    start: datetime
    end: datetime
    group: str | None
    totals: Totals


def check_query(query: MetricQuery) -> None:
    """Raise BadQuery for an unknown metric (404), group or too many filters (400)."""
    if query.metric not in METRICS:
        raise BadQuery(404, "unknown_metric", f"no metric {query.metric!r}; the metrics are {', '.join(METRICS)}")
    if query.group is not None and query.group not in ("source", "form") and not (
            query.group.startswith("attr:") and len(query.group) > len("attr:")):
        raise BadQuery(400, "bad_group", f"group must be source, form or attr:NAME, got {query.group!r}")
    if len(query.attributes) > MAX_ATTRIBUTE_FILTERS:
        raise BadQuery(400, "too_many_attributes", f"at most {MAX_ATTRIBUTE_FILTERS} attribute filters")


def run_query(metrics: Metrics, query: MetricQuery, now: datetime | None = None) -> list[MetricRow]:
    """Every bucket of the window, empty ones included (value None), per group when grouped."""
    check_query(query)
    until = (query.until or now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    spans = buckets(query.since, until, query.by, query.zone)
    rows = span_rows(metrics, query, [span.quarters for span in spans])
    groups = sorted({row.group for row in rows}) if query.group else [""]
    if len(groups) > MAX_GROUPS:
        raise BadQuery(400, "too_many_groups", f"{query.group} has {len(groups)} values in this window, more than "
                                               f"{MAX_GROUPS}; filter on one instead")
    return roll_up(query.metric, spans, rows, groups, grouped=query.group is not None)


def span_rows(metrics: Metrics, query: MetricQuery, spans: Sequence[tuple[int, int]], *,
              fold: bool = True) -> list[SpanCounts]:
    names = list(SCORED) if query.metric == "responses" else [query.metric]
    attribute = query.group[len("attr:"):] if query.group and query.group.startswith("attr:") else None
    for name in [*query.attributes, *([attribute] if attribute else [])]:
        if not metrics.attribute_known(name):
            if fold:
                metrics.fold()
            if not metrics.attribute_known(name):
                raise BadQuery(404, "unknown_attribute", f"no response has the attribute {name!r}")
    if fold:
        metrics.fold()
    if query.attributes or attribute:
        return metrics.span_counts_matching(names, spans, source=query.source, form=query.form,
                                            attributes=query.attributes, group_attribute=attribute,
                                            group=None if attribute else query.group)
    return metrics.span_counts(names, spans, source=query.source, form=query.form, group=query.group)


def roll_up(metric: str, spans: Sequence[Bucket], rows: Sequence[SpanCounts], groups: Sequence[str], *,
            grouped: bool) -> list[MetricRow]:
    """Each bucket with its counts (zero when the store had none), per group."""
    totals = {(group, index): Totals(metric) for group in groups for index in range(len(spans))}
    for row in rows:
        totals[row.group, row.span] = totals[row.group, row.span].plus(row)
    return [MetricRow(span.label, span.start, span.end, group if grouped else None, totals[group, index])
            for group in groups for index, span in enumerate(spans)]


def window_totals(metrics: Metrics, metric: str, first: int, last: int, *, source: str | None = None,
                  form: str | None = None, attributes: Mapping[str, str] | None = None) -> Totals:
    """One metric's totals over the quarter-hours [first, last) (what alert rules compare)."""
    query = MetricQuery(metric, source=source, form=form, attributes=dict(attributes or {}))
    try:
        rows = span_rows(metrics, query, [(first, last)], fold=False)  # the evaluator folded just before
    except BadQuery:  # an attribute no response has yet: nothing to count
        return Totals(metric)
    total = Totals(metric)
    for row in rows:
        total = total.plus(row)
    return total


def serialize(query: MetricQuery, zone_name: str, rows: Sequence[MetricRow]) -> dict[str, object]:
    """The answer as the admin API and `--json` give it."""
    return {"metric": query.metric, "by": query.by, "timezone": zone_name, "group": query.group,
            "buckets": [{"bucket": row.bucket, "start": row.start, "end": row.end, "group": row.group,
                         "value": row.totals.value, "responses": row.totals.responses, "counts": row.totals.counts}
                        for row in rows]}
