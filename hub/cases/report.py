"""Time to first response and time to close, per day, week (ISO, from Monday) or month.

Periods are the admin's (`metrics.timezone`, or `--timezone`), as the metrics' buckets are
(hub/insights/buckets.py): a case opened at 23:30 UTC on Sunday counts in Monday's week in
Berlin. Cases count in the period they were opened. Times are in hours; the median and the mean are
over the cases that reached the milestone. `breached` counts the cases that missed a deadline.
"""

from __future__ import annotations

from datetime import datetime
from statistics import mean, median
from typing import Any, Sequence
from zoneinfo import ZoneInfo

from hub.insights.buckets import bucket_start
from hub.store import CaseRow

PERIODS = ("day", "week", "month")
UTC = ZoneInfo("UTC")


def period_start(moment: datetime, by: str, zone: ZoneInfo = UTC) -> datetime:
    """The start, in `zone`, of the day, week or month holding `moment`."""
    if by not in PERIODS:
        raise ValueError(f"by must be one of {', '.join(PERIODS)}, got {by!r}")
    return bucket_start(moment, by, zone)


def _hours(values: Sequence[float]) -> dict[str, float | None]:
    return {"median": round(median(values), 2) if values else None, "mean": round(mean(values), 2) if values else None}


def report(cases: Sequence[CaseRow], by: str, zone: ZoneInfo = UTC) -> list[dict[str, Any]]:
    """One row per period (in `zone`) that opened cases, oldest first; `period` is its first local day."""
    buckets: dict[datetime, list[CaseRow]] = {}
    for case in cases:
        buckets.setdefault(period_start(case.opened_at, by, zone), []).append(case)
    rows = []
    for start, group in sorted(buckets.items()):
        response = [(case.first_response_at - case.opened_at).total_seconds() / 3600 for case in group
                    if case.first_response_at]
        close = [(case.closed_at - case.opened_at).total_seconds() / 3600 for case in group if case.closed_at]
        rows.append({"period": start.date().isoformat(), "opened": len(group), "responded": len(response),
                     "closed": len(close), "time_to_first_response_hours": _hours(response),
                     "time_to_close_hours": _hours(close),
                     "breached": sum(1 for case in group if case.first_response_overdue_at or case.close_overdue_at)})
    return rows
