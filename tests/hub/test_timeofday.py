"""Quiet hours and digest times on the wall clock, across the nights the clocks change (Europe/Paris, 2026).

Clocks go forward on 29 March 2026 at 02:00 CET (to 03:00 CEST) and back on 25 October 2026 at
03:00 CEST (to 02:00 CET), so 08:00 is 07:00 UTC in winter and 06:00 UTC in summer.
"""

from __future__ import annotations

from datetime import datetime, time, timezone

import pytest

from hub.timeofday import QuietHours, local_text, next_time_after, parse_time_of_day, parse_zone

PARIS = parse_zone("Europe/Paris")
NIGHTS = QuietHours(time(20), time(8), PARIS)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


@pytest.mark.parametrize("moment, until", [
    ("2026-12-01 18:59", None),  # 19:59 CET: not yet
    ("2026-12-01 19:00", "2026-12-02 07:00"),  # 20:00 CET: the start is quiet
    ("2026-12-02 03:00", "2026-12-02 07:00"),
    ("2026-12-02 06:59", "2026-12-02 07:00"),
    ("2026-12-02 07:00", None),  # 08:00 CET: the end is not
    ("2026-03-28 21:00", "2026-03-29 06:00"),  # the night that loses an hour ends at 08:00 CEST
    ("2026-03-29 05:59", "2026-03-29 06:00"),
    ("2026-03-29 06:00", None),
    ("2026-03-29 18:00", "2026-03-30 06:00"),  # 20:00 CEST, a summer night
    ("2026-10-24 21:00", "2026-10-25 07:00"),  # the night that gains an hour ends at 08:00 CET
    ("2026-10-25 06:30", "2026-10-25 07:00"),  # 07:30 CET, which was 08:30 CEST the evening before
])
def test_a_nightly_quiet_period(moment, until):
    assert NIGHTS.until(utc(moment)) == (utc(until) if until else None)


def test_a_period_within_a_day_and_one_starting_at_an_hour_that_never_happens():
    lunch = QuietHours(time(12), time(14), PARIS)
    assert lunch.until(utc("2026-12-01 12:30")) == utc("2026-12-01 13:00")
    assert lunch.until(utc("2026-12-01 13:00")) is None
    # 02:30 does not exist on 29 March: read with the winter offset, it is 03:30 CEST (01:30 UTC)
    lost = QuietHours(time(2, 30), time(4), PARIS)
    assert lost.until(utc("2026-03-29 01:15")) is None
    assert lost.until(utc("2026-03-29 01:45")) == utc("2026-03-29 02:00")


def test_days_a_period_starts_on_and_whole_days():
    weekend_nights = QuietHours(time(20), time(8), PARIS, days=frozenset({5, 6}))  # sat, sun
    assert weekend_nights.until(utc("2026-12-04 21:00")) is None  # Friday 22:00
    assert weekend_nights.until(utc("2026-12-05 21:00")) == utc("2026-12-06 07:00")  # Saturday night
    assert weekend_nights.until(utc("2026-12-07 06:00")) == utc("2026-12-07 07:00")  # Sunday night, Monday 07:00
    weekend = QuietHours(time(20), time(8), PARIS, all_day=frozenset({5, 6}))
    # Friday night, all Saturday and Sunday and Sunday night are one quiet period
    assert weekend.until(utc("2026-12-04 21:00")) == utc("2026-12-07 07:00")
    assert weekend.until(utc("2026-12-05 12:00")) == utc("2026-12-07 07:00")
    assert weekend.until(utc("2026-12-07 07:00")) is None
    assert "20:00-08:00, all day on sat, sun (Europe/Paris)" == weekend.describe()


def test_another_timezone():
    new_york = QuietHours(time(22), time(7), parse_zone("America/New_York"))
    assert new_york.until(utc("2026-12-02 04:00")) == utc("2026-12-02 12:00")  # 23:00 EST -> 07:00 EST
    assert new_york.until(utc("2026-07-02 03:00")) == utc("2026-07-02 11:00")  # 23:00 EDT -> 07:00 EDT


def test_digest_times_follow_the_wall_clock():
    nine = (time(9),)
    assert next_time_after(nine, PARIS, utc("2026-03-28 10:00")) == utc("2026-03-29 07:00")  # 09:00 CEST
    assert next_time_after(nine, PARIS, utc("2026-03-27 07:00")) == utc("2026-03-27 08:00")  # 09:00 CET that day
    assert next_time_after(nine, PARIS, utc("2026-10-25 06:00")) == utc("2026-10-25 08:00")  # 09:00 CET
    assert next_time_after((time(9), time(17, 30)), PARIS, utc("2026-12-01 09:00")) == utc("2026-12-01 16:30")
    assert local_text(utc("2026-03-29 06:00"), PARIS) == "2026-03-29 08:00 CEST"


@pytest.mark.parametrize("text", ["8:00", "24:00", "08:60", "08.00", "", None, 800, "０８:００"])
def test_times_of_day_are_hh_mm(text):
    with pytest.raises(ValueError, match="is not a time of day"):
        parse_time_of_day(text)


@pytest.mark.parametrize("name", ["Europe/Pariss", "", "../etc/passwd", "/etc/localtime", None, "x" * 100])
def test_timezones_are_iana_names(name):
    with pytest.raises(ValueError, match="is not a timezone"):
        parse_zone(name)
