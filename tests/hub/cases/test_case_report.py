"""`cxhub cases report` counts cases in the admin's periods: metrics.timezone, or --timezone."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import orjson
from click.testing import CliRunner

import plugins.webhook as webhook
from hub.cases.report import report
from hub.cli import main
from hub.store import CaseRow, now
from tests.conftest import WHSEC, forward_everything


def a_case(number: int, opened: datetime, hours_to_close: float | None = None) -> CaseRow:
    closed = opened + timedelta(hours=hours_to_close) if hours_to_close is not None else None
    return CaseRow(id=f"case-{number}", route="detractors", event_id=f"event-{number}", customer_email=None,
                   customer_id=f"c{number}", owner=None, status="closed" if closed else "open",
                   open_key=None if closed else f"key-{number}", opened_at=opened,
                   first_response_due=opened + timedelta(days=1), close_due=opened + timedelta(days=3),
                   first_response_at=closed, closed_at=closed, first_response_overdue_at=None,
                   close_overdue_at=None, updated_at=opened)


# Sunday 2026-11-29 23:30 UTC is Monday 00:30 in Berlin (CET, +1); Monday 2026-11-30 10:00 UTC is Monday anywhere near.
SUNDAY_NIGHT = datetime(2026, 11, 29, 23, 30, tzinfo=timezone.utc)
MONDAY = datetime(2026, 11, 30, 10, 0, tzinfo=timezone.utc)


def test_weeks_and_days_are_the_timezones():
    cases = [a_case(1, SUNDAY_NIGHT, 2), a_case(2, MONDAY, 4)]
    assert [(row["period"], row["opened"]) for row in report(cases, "week")] == [("2026-11-23", 1),
                                                                                 ("2026-11-30", 1)]
    [week] = report(cases, "week", ZoneInfo("Europe/Berlin"))
    assert (week["period"], week["opened"], week["closed"]) == ("2026-11-30", 2, 2)
    assert week["time_to_close_hours"] == {"median": 3.0, "mean": 3.0}
    assert [row["period"] for row in report(cases, "day", ZoneInfo("America/New_York"))] == ["2026-11-29",
                                                                                             "2026-11-30"]
    assert [row["period"] for row in report([a_case(3, datetime(2026, 11, 30, 23, 30, tzinfo=timezone.utc))],
                                            "month", ZoneInfo("Asia/Tokyo"))] == ["2026-12-01"]


def test_the_cli_uses_metrics_timezone_and_timezone_overrides_it(make_hub, httpserver, cxhub_database_url):
    config = forward_everything(httpserver.url_for("/receiver")) + "metrics: {timezone: Europe/Berlin}\n"
    hub = make_hub(config, plugins=[webhook], env={"APP_SECRET": WHSEC})
    yesterday = now() - timedelta(days=1)  # the expected rows come from report() itself
    for number, opened in enumerate((yesterday, yesterday.replace(hour=23, minute=30))):
        hub.store.cases.open(a_case(number, opened, 1))
    env = {"DATABASE_URL": cxhub_database_url, "CXHUB_CONFIG": hub.app.config["CXHUB_CONFIG"]}
    cases = hub.store.cases.opened_between(now() - timedelta(days=90), now())

    def run(*extra: str) -> list[dict]:
        result = CliRunner().invoke(main, ["cases", "report", "--by", "day", "--json", *extra], env=env)
        assert result.exit_code == 0, result.output
        return orjson.loads(result.output)

    assert run() == report(cases, "day", ZoneInfo("Europe/Berlin"))
    assert run("--timezone", "Asia/Kolkata") == report(cases, "day", ZoneInfo("Asia/Kolkata"))
    assert run("--timezone", "UTC") == report(cases, "day", ZoneInfo("UTC"))
    assert run("--timezone", "UTC") != run()  # 23:30 UTC is the next day in Berlin
    bad = CliRunner().invoke(main, ["cases", "report", "--timezone", "Mars/Olympus"], env=env)
    assert bad.exit_code == 2 and "not an IANA timezone" in bad.output
