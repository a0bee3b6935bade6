"""The `cxhub` command."""

from __future__ import annotations

import click

from hub import __version__
from hub.cli.cases import cases
from hub.cli.connections import connections
from hub.cli.console import console
from hub.cli.customers import customers
from hub.cli.db import db
from hub.cli.enrichment import enrichment
from hub.cli.common import exit_on_sigterm
from hub.cli.records import (
    backlog_command,
    deliveries,
    events,
    prune_command,
    quarantine,
    redeliver_command,
    replay,
)
from hub.cli.metrics import metrics_command
from hub.cli.poll import poll
from hub.cli.routes import routes
from hub.cli.serve import serve, worker
from hub.cli.tools import check_config, new_plugin, normalize, plugins


@click.group()
@click.version_option(__version__, prog_name="cxhub")
@click.pass_context
def main(context: click.Context) -> None:
    """cxhub: customer-experience webhooks in, canonical events, routed actions out."""
    exit_on_sigterm(context)


for command in (serve, worker, check_config, new_plugin, normalize, plugins, events, deliveries, replay,
                redeliver_command, quarantine, prune_command, backlog_command, connections, db, poll, enrichment, console,
                routes, customers, metrics_command, cases):
    main.add_command(command)
