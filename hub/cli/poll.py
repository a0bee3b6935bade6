"""`cxhub poll SOURCE`: run one poll of a source by hand and print what it found."""

from __future__ import annotations

from typing import Any

import click

from hub.cli.common import hub_of, hub_options, load_app, print_json, print_table, visible


@click.command()
@click.argument("source_name", metavar="SOURCE")
@hub_options
@click.option("--json", "as_json", is_flag=True, help="Print the events found, and which were new, as JSON.")
def poll(settings: dict[str, Any], source_name: str, as_json: bool) -> None:
    """Poll SOURCE's vendor API once, as the worker does on its schedule, and print what it found.

    New events are stored and routed like webhooks; events already known (from a webhook or an
    earlier poll) route nothing. The cursor moves on, so the next scheduled poll continues
    from here. Exits 1 when the vendor's API refuses or fails.
    """
    from hub.polling import PollFailed, poll_source
    from hub.redis_errors import RedisUnavailable
    from hub.store import StoreUnavailable

    hub = hub_of(load_app(settings))
    try:
        outcome = poll_source(hub, source_name)
    except PollFailed as error:
        wait = f"; try again in {error.retry_after:.0f}s" if error.retry_after else ""
        click.echo(visible(f"error: poll of {source_name}: {error.message}{wait}"), err=True)
        raise SystemExit(1) from None
    except (StoreUnavailable, RedisUnavailable) as error:
        click.echo(f"error: poll of {source_name}: {error}; nothing was stored and the cursor did not move", err=True)
        raise SystemExit(1) from None
    new = set(outcome.accepted)
    if as_json:
        print_json({"source": outcome.source, "cursor_before": outcome.cursor_before,
                    "cursor_after": outcome.cursor_after, "new": outcome.accepted, "known": outcome.duplicates,
                    "events": outcome.events})
        return
    print_table(((("new" if event["id"] in new else "known"), event["id"], event["type"], event["subject"],
                  event["time"]) for event in outcome.events), ("FOUND", "EVENT", "TYPE", "SUBJECT", "TIME"))
    click.echo(f"{source_name}: {len(outcome.events)} event(s) found, {len(outcome.accepted)} new, "
               f"{len(outcome.duplicates)} already known; cursor {outcome.cursor_before or '(none)'} -> "
               f"{outcome.cursor_after or '(none)'}")
