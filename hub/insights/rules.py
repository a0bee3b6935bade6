"""`alerts:` rules: a condition on a metric over a window, compiled from the config.

    - name: form-x-nps-low          # a metric below (or above) a threshold over a rolling window
      metric: nps
      form: abc123                  # optional filters: source, form, attributes {name: value}
      window: 7d
      below: 20
      min_responses: 30
    - name: csat-down-wow           # down N points from the window before (here: last week)
      metric: csat
      window: week                  # day, week, month: the current one in metrics.timezone
      drop: 10
    - name: detractor-burst         # N responses of one category from one customer
      metric: nps
      count: detractors
      per: customer
      at_least: 3
      window: 24h

The schema (hub/config/schema.py) checks the keys; `compile_rule` the combinations, raising
RuleProblem with the key at fault, so check-config names its line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Mapping

from hub.insights.buckets import BadQuery, parse_window
from hub.insights.definitions import COUNT_NAMES, METRICS

ALERT_SOURCE = "alerts"  # the source of the cx.metric.alert events (a config source may not take the name)
CALENDAR = ("day", "week", "month")
CONDITIONS = ("below", "above", "drop", "at_least")
MAX_ROLLING_DAYS = 92


class RuleProblem(ValueError):
    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key, self.message = key, message


@dataclass(frozen=True)
class AlertRule:
    name: str
    metric: str
    condition: str  # below, above, drop or at_least
    threshold: float
    window: str  # as written: 7d, 24h, week
    rolling: timedelta | None  # None for a calendar window
    calendar: str | None  # day, week or month
    min_responses: int = 1
    source: str | None = None
    form: str | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)
    count: str | None = None  # with at_least: responses or one of the metric's count names
    per: str | None = None  # customer: one alert per customer

    def describe(self) -> str:
        where = " ".join(part for part in (f"source {self.source}" if self.source else "",
                                           f"form {self.form}" if self.form else "",
                                           *(f"{name}={value}" for name, value in self.attributes.items())) if part)
        span = f"this {self.calendar}" if self.calendar else f"the last {self.window}"
        subject = f"{self.count} of one customer" if self.per else self.count or self.metric.upper()
        return f"{subject}{' of ' + where if where else ''} over {span}"


def compile_rule(data: Mapping[str, Any]) -> AlertRule:
    """Build a rule from its loaded keys; RuleProblem names the key that makes it impossible."""
    metric = data["metric"]
    if metric not in METRICS:
        raise RuleProblem("metric", f"unknown metric {metric!r} (the metrics are {', '.join(METRICS)})")
    given = [name for name in CONDITIONS if data.get(name) is not None]
    if len(given) != 1:
        raise RuleProblem("name" if not given else given[1],
                          "give exactly one condition: below, above, drop or at_least (with count)"
                          + (f"; this rule gives {', '.join(given)}" if given else ""))
    condition = given[0]
    count, per = data.get("count"), data.get("per")
    if condition == "at_least":
        names = ("responses", *COUNT_NAMES[metric])
        if count is None:
            raise RuleProblem("at_least", f"at_least counts responses: add count ({', '.join(names)})")
        if count not in names:
            raise RuleProblem("count", f"{metric} counts {', '.join(names)}, not {count!r}")
    elif count is not None or per is not None:
        raise RuleProblem("count" if count is not None else "per", "count and per go with at_least, not "
                                                                    f"{condition}")
    if per is not None and per != "customer":
        raise RuleProblem("per", f"per can only be customer, got {per!r}")
    if condition == "drop" and metric in ("responses",):
        raise RuleProblem("drop", "drop compares a score; for response counts use below or above")
    window = str(data["window"])
    rolling, calendar = None, None
    if window in CALENDAR:
        calendar = window
    else:
        try:
            rolling = parse_window(window)
        except BadQuery as error:
            raise RuleProblem("window", f"{error.message}, or day, week or month (the current one)") from None
        if rolling > timedelta(days=MAX_ROLLING_DAYS):
            raise RuleProblem("window", f"an alert window is at most {MAX_ROLLING_DAYS}d")
    return AlertRule(data["name"], metric, condition, float(data[condition]), window, rolling, calendar,
                     int(data.get("min_responses") or 1), data.get("source"), data.get("form"),
                     dict(data.get("attributes") or {}), count, per)
