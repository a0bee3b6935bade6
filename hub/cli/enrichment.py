"""`cxhub enrichment`: thin events whose details could not be fetched, and trying them again."""

from __future__ import annotations

from typing import Any

import click

from hub.cli.common import hub_of, hub_options, load_app, print_json, print_table


# The store's ENRICHMENT_STATUSES, written out: `cxhub --help` imports no database code (a test checks both).
STATUSES = ("pending", "running", "done", "failed")


@click.group()
def enrichment() -> None:
    """Enrichment of thin events (vendors that send only ids): failed ones are kept until retried."""


@enrichment.command("list")
@hub_options
@click.option("--status", type=click.Choice(STATUSES), default="failed", show_default=True)
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def list_enrichment(settings: dict[str, Any], status: str, limit: int, as_json: bool) -> None:
    """List enrichments in one status, the latest first."""
    rows = hub_of(load_app(settings, read_only=True)).store.enrichments.with_status((status,), limit=limit)
    if as_json:
        print_json([vars(row) for row in rows])
        return
    print_table(((row.event_id, row.source, row.status, str(row.attempts), row.last_error or "") for row in rows),
                ("EVENT", "SOURCE", "STATUS", "ATTEMPTS", "LAST ERROR"))


@enrichment.command("retry")
@hub_options
@click.argument("event_ids", nargs=-1)
@click.option("--all", "every", is_flag=True, help="Retry every failed enrichment.")
def retry(settings: dict[str, Any], event_ids: tuple[str, ...], every: bool) -> None:
    """Try failed enrichments again (by event ID, or --all), each with a fresh retry budget."""
    from hub.enrichment.operations import retry_enrichments

    if bool(event_ids) == every:
        raise click.UsageError("name event IDs or pass --all (not both)")
    queued = retry_enrichments(hub_of(load_app(settings, read_only=True)), None if every else list(event_ids))
    skipped = [event_id for event_id in event_ids if event_id not in queued]
    click.echo(f"queued {len(queued)} enrichments again")
    if skipped:
        raise click.ClickException(f"not failed (or unknown), left alone: {', '.join(skipped)}")
