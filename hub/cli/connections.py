"""`cxhub connections`: each connection's state, and resuming one that was paused."""

from __future__ import annotations

from typing import Any

import click

from hub.cli.common import hub_of, hub_options, load_app, print_json, print_table


class _ListByDefault(click.Group):
    """`cxhub connections [OPTIONS]` is `cxhub connections list [OPTIONS]`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0].startswith("-") and args[0] != "--help"):
            args = ["list", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_ListByDefault)
def connections() -> None:
    """Connections and whether they deliver: ok, paused (until when, or until resumed, and why), half-open or
    slowed (a destination's Retry-After)."""


@connections.command("list")
@hub_options
@click.option("--json", "as_json", is_flag=True)
def list_connections(settings: dict[str, Any], as_json: bool) -> None:
    """List the connections with their state."""
    from hub.operations import connection_states

    rows = connection_states(hub_of(load_app(settings, read_only=True)))
    if as_json:
        print_json(rows)
        return
    print_table(((row["connection"], row["plugin"], row["status"], _detail(row)) for row in rows),
                ("CONNECTION", "PLUGIN", "STATE", "DETAIL"))


def _detail(row: dict[str, Any]) -> str:
    if row["reason"] is not None:
        return f"until resumed: {row['reason']}"
    if row["status"] == "slowed":
        return f"the destination's Retry-After: nothing sent before {row['until'].isoformat(timespec='seconds')}"
    if row["until"] is not None:
        return f"breaker open until {row['until'].isoformat(timespec='seconds')} ({row['failures']} failures)"
    return f"{row['failures']} failures in a row" if row["failures"] else ""


@connections.command("resume")
@hub_options
@click.argument("name")
def resume(settings: dict[str, Any], name: str) -> None:
    """Resume a paused connection: its waiting deliveries are delivered again."""
    from hub.operations import NotFound, resume_connection

    try:
        resumed = resume_connection(hub_of(load_app(settings, read_only=True)), name)
    except NotFound as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"resumed {name}" if resumed else f"{name} was not paused")
