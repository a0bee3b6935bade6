"""Wall-clock times in a timezone: quiet hours and digest schedules, DST-correct through zoneinfo.

Everything here is pure: a moment (an aware datetime) goes in, an aware UTC datetime comes out.
A local time is turned into a moment with `datetime.combine(day, time, tzinfo=zone)`, which
zoneinfo resolves as PEP 495 says: a time that happens twice (the autumn hour) is its first
occurrence, and a time that never happens (the spring hour) is read with the offset before the
change, so `02:30` on the night clocks go forward is 03:30 in summer time. A daily period is
therefore as long as the wall clocks say: the night of 20:00-08:00 that loses an hour lasts 11 hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # datetime.weekday() order
MAX_STEPS = 16  # periods that follow one another (a quiet night into a quiet weekend) are joined, this many at most


def parse_time_of_day(text: object) -> time:
    """`"08:00"` -> time(8, 0); raise ValueError naming the value otherwise (24-hour clock, HH:MM)."""
    if isinstance(text, str) and text.isascii() and len(text) == 5 and text[2] == ":" and text[:2].isdigit() and text[3:].isdigit():
        hours, minutes = int(text[:2]), int(text[3:])
        if hours < 24 and minutes < 60:
            return time(hours, minutes)
    raise ValueError(f"{text!r} is not a time of day; write it on the 24-hour clock as HH:MM, like 08:00 or 20:30")


def parse_zone(name: object) -> ZoneInfo:
    """An IANA timezone (`Europe/Paris`, `UTC`); raise ValueError naming the value otherwise."""
    if isinstance(name, str) and name and len(name) <= 64 and ".." not in name and not name.startswith("/"):
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    raise ValueError(f"{name!r} is not a timezone; give an IANA name such as Europe/Paris, America/New_York or UTC")


def _at(day: date, clock: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, clock, tzinfo=zone).astimezone(timezone.utc)


@dataclass(frozen=True)
class QuietHours:
    """`connections.<name>.quiet_hours`: when people are not to be messaged, in the connection's timezone.

    A quiet period starts at `start` on each of `days` and ends at the next `end` (the next
    morning when `end` is not later than `start`). Each of `all_day` is quiet from midnight to
    midnight. Periods that touch are one: with `all_day: [sat, sun]`, Friday night's quiet lasts
    until Monday morning's `end`.
    """

    start: time
    end: time
    zone: ZoneInfo
    days: frozenset[int] = frozenset(range(7))  # weekday numbers on which a quiet period starts
    all_day: frozenset[int] = frozenset()

    def describe(self) -> str:
        days = "" if self.days == frozenset(range(7)) else " on " + ", ".join(DAYS[d] for d in sorted(self.days))
        whole = f", all day on {', '.join(DAYS[d] for d in sorted(self.all_day))}" if self.all_day else ""
        return f"{self.start:%H:%M}-{self.end:%H:%M}{days}{whole} ({self.zone.key})"

    def until(self, moment: datetime) -> datetime | None:
        """When the quiet period holding `moment` ends (UTC), or None if `moment` is not quiet."""
        reached = moment.astimezone(timezone.utc)
        for _ in range(MAX_STEPS):
            end = self._period_end(reached)
            if end is None:
                break
            reached = end
        return None if reached == moment.astimezone(timezone.utc) else reached

    def _period_end(self, moment: datetime) -> datetime | None:
        """The end of one period that holds `moment` (start inclusive, end exclusive), or None."""
        today = moment.astimezone(self.zone).date()
        ends = []
        for started in (today - timedelta(days=1), today):
            if started.weekday() in self.days:
                begin = _at(started, self.start, self.zone)
                finish = _at(started + timedelta(days=1) if self.end <= self.start else started, self.end, self.zone)
                if begin <= moment < finish:
                    ends.append(finish)
        if today.weekday() in self.all_day:
            ends.append(_at(today + timedelta(days=1), time(0), self.zone))
        return max(ends) if ends else None


def next_time_after(times: Iterable[time], zone: ZoneInfo, moment: datetime) -> datetime:
    """The first of the daily wall-clock `times` in `zone` strictly after `moment` (UTC)."""
    today = moment.astimezone(zone).date()
    after = moment.astimezone(timezone.utc)
    candidates = [_at(today + timedelta(days=offset), clock, zone) for offset in (-1, 0, 1, 2) for clock in times]
    return min(candidate for candidate in candidates if candidate > after)


def local_text(moment: datetime, zone: ZoneInfo) -> str:
    """A moment as people there read it: `2026-12-02 08:00 CET`."""
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
