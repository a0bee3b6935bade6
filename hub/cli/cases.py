"""`cxhub cases`: closed-loop cases, read from the store only (no plugins, no Redis, no secrets)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import click

from hub.cli.common import hub_options, open_store, print_json, print_table

STATUSES = ("open", "in_progress", "closed")


def _time(value: Any) -> str:
    return value.isoformat(timespec="seconds") if value is not None else ""


@click.group()
def cases() -> None:
    """Closed-loop cases and their SLA (routes with case:)."""


@cases.command("list")
@hub_options
@click.option("--status", type=click.Choice(STATUSES))
@click.option("--overdue", is_flag=True, help="Only cases past a deadline they have not met.")
@click.option("--limit", default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def list_cases(settings: dict[str, Any], status: str | None, overdue: bool, limit: int, as_json: bool) -> None:
    """List cases, newest first."""
    from hub.cases.view import summary

    rows = [summary(case) for case in open_store(settings).cases.list(status=status, overdue=overdue, limit=limit)]
    if as_json:
        print_json(rows)
        return
    print_table(((row["id"], row["status"], row["owner"], row["customer"]["email"] or row["customer"]["id"],
                  _time(row["opened_at"]), _time(row["first_response_due"]), _time(row["close_due"]),
                  ",".join(row["overdue"])) for row in rows),
                ("ID", "STATUS", "OWNER", "CUSTOMER", "OPENED", "FIRST RESPONSE DUE", "CLOSE DUE", "OVERDUE"))


@cases.command("show")
@hub_options
@click.argument("case_id")
@click.option("--json", "as_json", is_flag=True)
def show_case(settings: dict[str, Any], case_id: str, as_json: bool) -> None:
    """A case with its linked events, tickets, messages and the trackers' reports."""
    from hub.cases.view import detail

    store = open_store(settings)
    case = store.cases.get(case_id)
    if case is None:
        raise click.ClickException(f"no case {case_id!r}")
    shown = detail(store, case)
    if as_json:
        print_json(shown)
        return
    print_table([(key, shown[key]) for key in ("id", "route", "status", "owner", "event_id")] +
                [("customer", shown["customer"]["email"] or shown["customer"]["id"]),
                 ("opened", _time(shown["opened_at"])),
                 ("first response", f"{_time(shown['first_response_at']) or '-'} (due {_time(shown['first_response_due']) or '-'})"),
                 ("closed", f"{_time(shown['closed_at']) or '-'} (due {_time(shown['close_due']) or '-'})"),
                 ("overdue", ",".join(shown["overdue"]) or "no")], ("CASE", ""))
    click.echo("events:")
    for item in shown["events"]:
        click.echo(f"    {item['id']}  {item['type']} from {item['source']}  ({item['why']})")
    click.echo("deliveries:")
    for item in shown["deliveries"]:
        click.echo(f"    {item['status']}  {item['connection']}.{item['action']}  {item['external_id'] or ''}")
    click.echo("follow-ups:")
    for item in shown["follow_ups"]:
        click.echo(f"    {item['id']}  {item['type']} from {item['source']}  {item['counts_as'] or ''}")


@cases.command("report")
@hub_options
@click.option("--by", type=click.Choice(("day", "week", "month")), default="week", show_default=True)
@click.option("--since", "since_days", default=90, show_default=True, help="Days back.")
@click.option("--json", "as_json", is_flag=True)
def report_cases(settings: dict[str, Any], by: str, since_days: int, as_json: bool) -> None:
    """Time to first response and time to close (hours), per period the cases opened in."""
    from hub.cases.report import report
    from hub.store import now

    moment = now()
    rows = report(open_store(settings).cases.opened_between(moment - timedelta(days=since_days), moment), by)
    if as_json:
        print_json(rows)
        return
    print_table(((row["period"], row["opened"], row["responded"], row["time_to_first_response_hours"]["median"],
                  row["time_to_first_response_hours"]["mean"], row["closed"], row["time_to_close_hours"]["median"],
                  row["time_to_close_hours"]["mean"], row["breached"]) for row in rows),
                (by.upper(), "OPENED", "RESPONDED", "TTFR MEDIAN H", "TTFR MEAN H", "CLOSED", "TTC MEDIAN H",
                 "TTC MEAN H", "BREACHED"))
