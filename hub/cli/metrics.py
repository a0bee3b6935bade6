"""`cxhub metrics METRIC`: NPS, CSAT, CES, review rating or response counts per day, week or month."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from hub.cli.common import hub_options, open_store, print_json, print_table

METRIC_NAMES = ("nps", "csat", "ces", "rating", "responses")


@click.command("metrics")
@click.argument("metric", metavar="METRIC")
@hub_options
@click.option("--by", default="week", show_default=True, type=click.Choice(["day", "week", "month", "all"]),
              help="Buckets: days, ISO weeks (from Monday) or months in the timezone, or one for the window.")
@click.option("--since", default="90d", show_default=True, help="The window before now (or --until): 90d, 8w, 12h.")
@click.option("--until", type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]),
              help="The window's end, in the timezone (default: now).")
@click.option("--source", help="Only responses from this source.")
@click.option("--form", help="Only responses to this form or survey.")
@click.option("--attr", "attributes", multiple=True, metavar="NAME=VALUE", help="Only responses with this attribute.")
@click.option("--group", help="One row per bucket and source, form, or attr:NAME value.")
@click.option("--timezone", "zone_name", help="An IANA timezone (default: metrics.timezone of the config).")
@click.option("--json", "as_json", is_flag=True)
def metrics_command(metric: str, settings: dict[str, Any], by: str, since: str, until: datetime | None,
                    source: str | None, form: str | None, attributes: tuple[str, ...], group: str | None,
                    zone_name: str | None, as_json: bool) -> None:
    """Print METRIC (nps, csat, ces, rating or responses) per bucket, with its counts.

    Each response counts once, with its latest score (docs/metrics.md gives every definition).
    """
    from hub.insights.buckets import BadQuery, parse_timezone, parse_window
    from hub.insights.definitions import COUNT_NAMES
    from hub.insights.query import MetricQuery, run_query, serialize

    filters = {}
    for item in attributes:
        name, found, value = item.partition("=")
        if not found or not name:
            raise click.BadParameter(f"{item!r}: write it like form_id=abc123", param_hint="--attr")
        filters[name] = value
    try:
        zone_name = zone_name or _configured_timezone(settings["CXHUB_CONFIG"])
        zone = parse_timezone(zone_name)
        query = MetricQuery(metric, by, parse_window(since), until.replace(tzinfo=zone) if until else None, source,
                            form, filters, group, zone)
        rows = run_query(open_store(settings).metrics, query)
    except BadQuery as error:
        raise click.ClickException(error.message) from None
    if as_json:
        print_json(serialize(query, zone_name, rows))
        return
    names = COUNT_NAMES[metric]
    headers = [by.upper() if by != "all" else "WINDOW", *(["GROUP"] if group else []), metric.upper(), "RESPONSES",
               *(name.upper() for name in names)]
    print_table(([row.bucket, *([row.group] if group else []), _shown(row.totals.value), row.totals.responses,
                  *row.totals.counts.values()] for row in rows), headers)


def _shown(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def _configured_timezone(path: str) -> str:
    """`metrics.timezone` of the config, read alone (no plugin, no secret needed); UTC when unset."""
    from hub.config.schema import MetricsSchema
    from hub.config.yamlfile import read_yaml
    from marshmallow import ValidationError

    try:
        with open(path, encoding="utf-8") as file:
            data, _, _ = read_yaml(file.read(), path, {})
    except OSError as error:
        raise click.ClickException(f"cannot read the config file: {error}") from None
    section = data.get("metrics") if isinstance(data, dict) else None
    try:
        return str(MetricsSchema().load(section or {}).timezone)
    except ValidationError as error:
        raise click.ClickException(f"{path}: metrics: {error.messages}") from None
