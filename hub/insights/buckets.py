"""Days, weeks (ISO, from Monday) and months in the admin's timezone, and the windows queries cover.

The store counts responses per UTC quarter-hour. Every UTC offset in use today is a whole
number of quarter-hours (India +5:30, Nepal +5:45, Chatham +12:45), so a local day, week or
month is a whole number of quarter-hours too, and its counts are a sum of stored rows, across
daylight-saving changes as well: a local day is 23, 24 or 25 hours long.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterator
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

QUARTER_SECONDS = 900
BUCKETS = ("day", "week", "month", "all")
WINDOW_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
MAX_WINDOW_DAYS = 3 * 366 + 1  # three years of weekly or monthly numbers
MAX_BUCKETS = 400  # a year and a month of days


class BadQuery(ValueError):
    """A query the metrics cannot answer as asked: `status` 400 or 404, a `code` and a message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def parse_window(value: str) -> timedelta:
    """`90d`, `12h`, `30m` or `8w`: a whole number and a unit, at most MAX_WINDOW_DAYS."""
    text = value.strip()
    number, unit = text[:-1], text[-1:]
    if not (number.isascii() and number.isdigit()) or unit not in WINDOW_UNITS or int(number) == 0:
        raise BadQuery(400, "bad_window", f"{value!r} is not a window; write it like 90d, 8w, 12h or 30m")
    if int(number) * WINDOW_UNITS[unit] > MAX_WINDOW_DAYS * 86400:
        raise BadQuery(400, "window_too_large", f"{value!r} is longer than the longest window, {MAX_WINDOW_DAYS}d")
    return timedelta(seconds=int(number) * WINDOW_UNITS[unit])


def parse_timezone(name: str) -> ZoneInfo:
    """An IANA timezone such as Europe/Berlin; anything else is a clear error."""
    try:
        if not name or name.startswith(("/", ".")) or ".." in name:
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadQuery(400, "bad_timezone", f"{name!r} is not an IANA timezone (such as UTC or Europe/Berlin)") \
            from None


def bucket_start(moment: datetime, by: str, zone: ZoneInfo) -> datetime:
    """The start, in `zone`, of the day, week or month holding `moment`."""
    day = moment.astimezone(zone).date()
    if by == "week":
        day -= timedelta(days=day.weekday())
    elif by == "month":
        day = day.replace(day=1)
    return _midnight(day, zone)


def next_start(start: datetime, by: str, zone: ZoneInfo) -> datetime:
    day = start.date()
    if by == "day":
        day += timedelta(days=1)
    elif by == "week":
        day += timedelta(days=7)
    else:
        day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return _midnight(day, zone)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), zone)


def label(start: datetime, by: str) -> str:
    if by == "week":
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    if by == "month":
        return start.strftime("%Y-%m")
    return start.strftime("%Y-%m-%d")


@dataclass(frozen=True)
class Bucket:
    label: str
    start: datetime
    end: datetime

    @property
    def quarters(self) -> tuple[int, int]:
        """The UTC quarter-hours [first, last) it covers (a partial last quarter counts whole)."""
        return (int(self.start.timestamp()) // QUARTER_SECONDS, -(-int(self.end.timestamp()) // QUARTER_SECONDS))


def buckets(since: timedelta, until: datetime, by: str, zone: ZoneInfo) -> list[Bucket]:
    """The buckets of a window ending at `until`: whole days, weeks or months from the one holding
    `until - since` (so the first is complete), the last ending at `until`; `all` is one bucket."""
    if by not in BUCKETS:
        raise BadQuery(400, "bad_bucket", f"by must be one of {', '.join(BUCKETS)}, got {by!r}")
    first = until - since
    if by == "all":
        return [Bucket(f"{first.astimezone(zone).isoformat(timespec='minutes')}/"
                       f"{until.astimezone(zone).isoformat(timespec='minutes')}", first.astimezone(zone),
                       until.astimezone(zone))]
    found: list[Bucket] = []
    for start in _starts(bucket_start(first, by, zone), until, by, zone):
        if len(found) == MAX_BUCKETS:
            raise BadQuery(400, "window_too_large", f"the window holds more than {MAX_BUCKETS} {by}s; "
                                                    "ask for a shorter window or larger buckets")
        found.append(Bucket(label(start, by), start, min(next_start(start, by, zone), until.astimezone(zone))))
    return found


def _starts(start: datetime, until: datetime, by: str, zone: ZoneInfo) -> Iterator[datetime]:
    while start < until:
        yield start
        start = next_start(start, by, zone)


def quarter_time(quarter: int) -> datetime:
    return datetime.fromtimestamp(quarter * QUARTER_SECONDS, timezone.utc)
