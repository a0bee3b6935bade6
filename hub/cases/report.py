"""Time to first response and time to close, per day, week (ISO, from Monday) or month, in UTC.

Cases count in the period they were opened. Times are in hours; the median and the mean are
over the cases that reached the milestone. `breached` counts the cases that missed a deadline.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from statistics import mean, median
from typing import Any, Sequence

from hub.store import CaseRow

PERIODS = ("day", "week", "month")


def period_start(moment: datetime, by: str) -> datetime:
    day = moment.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    if by == "day":
        return day
    if by == "week":
        return day - timedelta(days=day.weekday())
    if by == "month":
        return day.replace(day=1)
    raise ValueError(f"by must be one of {', '.join(PERIODS)}, got {by!r}")


def _hours(values: Sequence[float]) -> dict[str, float | None]:
    return {"median": round(median(values), 2) if values else None, "mean": round(mean(values), 2) if values else None}


def report(cases: Sequence[CaseRow], by: str) -> list[dict[str, Any]]:
    """One row per period that opened cases, oldest first."""
    buckets: dict[datetime, list[CaseRow]] = {}
    for case in cases:
        buckets.setdefault(period_start(case.opened_at, by), []).append(case)
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
