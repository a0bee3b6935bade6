"""`cxhub routes test`: what a config's routes would do with the events the hub stored."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import click

from hub.cli.common import env_file_option, open_store, print_json, visible

if TYPE_CHECKING:
    from hub.backtest import Outcome, RouteOutcome
    from hub.config import HubConfig
    from hub.pluginhost import PluginHost

UNITS = {"m": 60, "h": 3600, "d": 86400}
MAX_WINDOW_DAYS = 366


def parse_window(value: str) -> timedelta:
    """`30d`, `12h` or `90m`: a whole number and a unit, at most 366 days."""
    text = value.strip()
    number, unit = text[:-1], text[-1:]
    if not (number.isascii() and number.isdigit()) or unit not in UNITS or int(number) == 0:
        raise click.BadParameter(f"{value!r} is not a window; write it like 30d, 12h or 90m")
    window = timedelta(seconds=int(number) * UNITS[unit])
    if window > timedelta(days=MAX_WINDOW_DAYS):
        raise click.BadParameter(f"{value!r} is longer than the longest window, {MAX_WINDOW_DAYS}d")
    return window


@click.group()
def routes() -> None:
    """Routes: try them on stored events before they go live."""


@routes.command("test")
@click.option("--since", "window", required=True, metavar="WINDOW",
              help="Events received in this window before now: 30d, 12h, 90m (at most 366d).")
@click.option("--route", "route_name", metavar="NAME", help="Only this route.")
@click.option("--config", "candidate_path", type=click.Path(exists=True, dir_okay=False), metavar="FILE",
              help="The candidate config; compared with the running one (--running or CXHUB_CONFIG) if given.")
@click.option("--running", "running_path", envvar="CXHUB_CONFIG", type=click.Path(exists=True, dir_okay=False),
              metavar="FILE", help="The running config (or CXHUB_CONFIG).")
@click.option("--limit", default=10_000, show_default=True, type=click.IntRange(1, 1_000_000),
              help="Events scanned at most: the newest of the window when it holds more.")
@click.option("--examples", default=3, show_default=True, type=click.IntRange(0, 50),
              help="Matching events shown per route, with their rendered actions.")
@click.option("--data-dir", envvar="CXHUB_DATA_DIR", default=".cxhub", show_default=True,
              help="Where embedded Redis and SQLite keep their files (or CXHUB_DATA_DIR).")
@click.option("--json", "as_json", is_flag=True)
@env_file_option
def test_routes(window: str, route_name: str | None, candidate_path: str | None, running_path: str | None,
                limit: int, examples: int, data_dir: str, as_json: bool) -> None:
    """Run the stored events of a window through a config's routes: nothing is sent or stored.

    Prints, per route, how many events match, a few of them with each action's parameters as
    rendered and checked by the action, and, with both a running and a candidate config, which
    events would start or stop matching.
    """
    from hub.backtest import rehearse

    span = parse_window(window)
    if candidate_path is None and running_path is None:
        raise click.UsageError("give a config: --config FILE (the candidate), --running FILE or CXHUB_CONFIG")
    host = _host()
    running = _load(running_path, host) if running_path else None
    candidate = _load(candidate_path, host) if candidate_path and candidate_path != running_path else None
    store = open_store({"CXHUB_DATA_DIR": data_dir})
    since = datetime.now(timezone.utc) - span
    try:
        outcome = rehearse(store, host, running, candidate, since=since, route=route_name, limit=limit,
                           examples=examples)
    except LookupError as error:
        raise click.ClickException(str(error.args[0])) from None
    paths = {"running": running_path if running else None, "candidate": candidate_path if candidate else None}
    if as_json:
        print_json(as_dict(outcome, window, paths))
    else:
        print_text(outcome, window, paths)


def _host() -> PluginHost:
    from hub.pluginhost import PluginError, PluginHost, build_plugin_manager

    try:
        return PluginHost(build_plugin_manager())
    except PluginError as error:
        raise click.ClickException(str(error)) from None


def _load(path: str, host: PluginHost) -> HubConfig:
    """A config with its settings (its secrets' variables must be set, as for check-config): exit 2 on problems."""
    from hub.config import ConfigError, load_config

    try:
        return load_config(path, host, os.environ)
    except ConfigError as error:
        for problem in error.problems:
            click.echo(f"error: {problem}", err=True)
        raise SystemExit(2) from None


def as_dict(outcome: Outcome, window: str, paths: dict[str, str | None]) -> dict[str, Any]:
    return {
        "window": window, "since": outcome.since.isoformat(timespec="seconds"), "configs": paths,
        "events_in_window": outcome.in_window, "scanned": outcome.scanned, "limit": outcome.limit,
        "first_received_at": outcome.first, "last_received_at": outcome.last,
        "routes": [_route_dict(route, outcome.compared) for route in outcome.routes],
    }


def _route_dict(route: RouteOutcome, compared: bool) -> dict[str, Any]:
    shown: dict[str, Any] = {"name": route.name, "shadow": route.shadow}
    if compared:
        shown.update(in_running=route.in_running, in_candidate=route.in_candidate,
                     matched={"running": route.running, "candidate": route.candidate},
                     start_matching={"count": route.start.count, "events": route.start.events},
                     stop_matching={"count": route.stop.count, "events": route.stop.events})
    else:
        shown["matched"] = route.candidate or route.running
    shown["examples"] = [{"event": _event_summary(sample.event), "actions": sample.actions}
                         for sample in route.samples]
    return shown


def _event_summary(event: dict[str, Any]) -> dict[str, Any]:
    data = event.get("data", {})
    return {"id": event.get("id"), "type": event.get("type"), "source": event.get("source"),
            "time": event.get("time"), "customer": (data.get("customer") or {}).get("email"),
            "score": data.get("score"), "sentiment": data.get("sentiment")}


def print_text(outcome: Outcome, window: str, paths: dict[str, str | None]) -> None:
    """A report for a terminal: every text the hub stored from vendors goes through `visible`."""
    import orjson

    def echo(text: str) -> None:
        click.echo(visible(text))

    cut = "" if outcome.scanned >= outcome.in_window else \
        f"; scanned the newest {outcome.scanned:,} (--limit {outcome.limit:,})"
    echo(f"{outcome.in_window:,} events received in the last {window} (since "
         f"{outcome.since.isoformat(timespec='seconds')}){cut}")
    if outcome.compared:
        echo(f"running: {paths['running']}  candidate: {paths['candidate']}")
    else:
        echo(f"config: {paths['candidate'] or paths['running']}")
    echo("nothing was sent or stored")
    for route in outcome.routes:
        echo("")
        mode = " (shadow)" if route.shadow else ""
        if outcome.compared:
            where = "" if route.in_running and route.in_candidate else \
                " (new in the candidate)" if route.in_candidate else " (removed in the candidate)"
            echo(f"route {route.name}{mode}{where}: {route.running:,} match now, {route.candidate:,} with the "
                 f"candidate; {route.start.count:,} start matching, {route.stop.count:,} stop")
            for label, change in (("start matching", route.start), ("stop matching", route.stop)):
                if change.count:
                    more = f" (and {change.count - len(change.events):,} more)" if change.count > len(change.events) else ""
                    echo(f"  {label}: {', '.join(change.events)}{more}")
        else:
            echo(f"route {route.name}{mode}: {route.candidate or route.running:,} of {outcome.scanned:,} events match")
        for sample in route.samples:
            summary = _event_summary(sample.event)
            echo(f"  event {summary['id']} {summary['type']} {summary['source']} {summary['time']} "
                 f"{summary['customer'] or '-'}")
            for action in sample.actions:
                shown = orjson.dumps(action["params"], default=str).decode() if "params" in action else \
                    f"would fail: {action['error']}"
                echo(f"    {action['connection']}.{action['action']} {_cut(shown)}")


def _cut(text: str, width: int = 400) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"
