"""Bar charts drawn as SVG on the server: no script, nothing to load, readable offline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Mapping, Sequence

WIDTH, HEIGHT = 720, 160


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str  # what the bar's tooltip says
    css: str = "bar"


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    peak: int
    first: str
    last: str
    width: int = WIDTH
    height: int = HEIGHT


def buckets(since: datetime, until: datetime, hours_per_bucket: int) -> list[datetime]:
    """The start of every bucket from `since` (rounded down to the hour) to `until`."""
    start = since.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
    step = timedelta(hours=hours_per_bucket)
    found = []
    while start <= until:
        found.append(start)
        start += step
    return found


def regroup(per_hour: Mapping[datetime, int], starts: Sequence[datetime], hours_per_bucket: int) -> list[int]:
    """Hourly counts summed into the buckets that start at `starts`."""
    totals = [0] * len(starts)
    if not starts:
        return totals
    for hour, count in per_hour.items():
        index = int((hour - starts[0]).total_seconds() // (hours_per_bucket * 3600))
        if 0 <= index < len(totals):
            totals[index] += count
    return totals


def stacked(series: Sequence[tuple[str, str, Sequence[int]]], starts: Sequence[datetime]) -> Chart:
    """Bars per bucket, one stacked segment per series (name, css class, counts)."""
    totals = [sum(counts[index] for _, _, counts in series) for index in range(len(starts))]
    peak = max(totals, default=0)
    slot = WIDTH / max(1, len(starts))
    bars = []
    for index, start in enumerate(starts):
        base = float(HEIGHT)
        for name, css, counts in series:
            count = counts[index]
            if not count:
                continue
            height = HEIGHT * count / peak
            base -= height
            bars.append(Bar(index * slot + slot * 0.1, base, max(1.0, slot * 0.8), height,
                            f"{start:%Y-%m-%d %H:00} UTC: {count} {name}", css))
    stamp = "%Y-%m-%d %H:00"
    return Chart(bars, peak, starts[0].strftime(stamp) if starts else "", starts[-1].strftime(stamp) if starts else "")


@dataclass(frozen=True)
class Trend:
    """A value per bucket on a fixed scale (NPS -100..100, CSAT 0..100, hours 0..peak); empty buckets have no bar."""

    bars: list[Bar]
    low: float
    high: float
    zero: float  # the y of the baseline the bars grow from
    first: str
    last: str
    width: int = WIDTH
    height: int = HEIGHT


def trend(points: Sequence[tuple[str, float | None, str]], low: float, high: float) -> Trend:
    """Bars from the baseline (0, or `low` when 0 is off the scale) to each point's value.

    A point is (bucket label, value or None, what its tooltip adds, such as the response count)."""
    span = (high - low) or 1.0
    base = min(max(0.0, low), high)

    def y(value: float) -> float:
        return HEIGHT * (high - min(max(value, low), high)) / span

    slot = WIDTH / max(1, len(points))
    bars = []
    for index, (name, value, note) in enumerate(points):
        if value is None:
            continue
        top, bottom = sorted((y(value), y(base)))
        css = "bar negative" if value < base else "bar"
        shown = f"{value:.1f}".rstrip("0").rstrip(".")
        bars.append(Bar(index * slot + slot * 0.1, top, max(1.0, slot * 0.8), max(1.0, bottom - top),
                        f"{name}: {shown}{' · ' + note if note else ''}", css))
    return Trend(bars, low, high, y(base), points[0][0] if points else "", points[-1][0] if points else "")
