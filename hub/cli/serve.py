"""`cxhub serve` and `cxhub worker`."""

from __future__ import annotations

import logging
import signal
import time
from typing import Any

import click

from hub.cli.common import hub_of, hub_options, load_app, setup_logging

log = logging.getLogger("cxhub")


@click.command()
@hub_options
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int, help="HTTP server threads.")
@click.option("--workers", type=int, default=None,
              help="In-process delivery threads (default: hub.worker_threads with embedded Redis, 0 with REDIS_URL).")
def serve(settings: dict[str, Any], host: str, port: int, threads: int, workers: int | None) -> None:
    """Run the hub: webhooks in, and (in embedded mode) delivery workers in the same process."""
    from hub.webserver import EmbeddedServer

    from hub.events.canonical import prepare_validators
    from hub.worker import WorkerThreads, recover_unfinished

    setup_logging()
    app = load_app(settings)
    prepare_validators()  # built now rather than on the first webhook
    hub = hub_of(app)
    embedded = not app.config["REDIS_URL"]
    count = (hub.config.hub.worker_threads if embedded else 0) if workers is None else workers
    if embedded:
        recovered = recover_unfinished(hub)
        if recovered:
            click.echo(f"requeued {recovered} unfinished deliveries")
    server = EmbeddedServer(app, host=host, port=port, max_body_bytes=hub.config.hub.max_body_bytes,
                            threads=threads)  # binds now: a port in use fails before any thread starts
    background = WorkerThreads(app, count) if count else None
    if background:
        background.start()
    backends = f"embedded Redis and SQLite in {settings['CXHUB_DATA_DIR']}" if embedded else "REDIS_URL and DATABASE_URL"
    click.echo(f"cxhub on http://{host}:{port} — sources: {', '.join(hub.config.sources) or 'none'}; "
               f"{backends}; accepting into the {hub.config.hub.accept_into}; {count} worker thread(s)")
    if hub.config.hub.accept_into == "redis" and not count:
        click.echo("accept_into: redis with no worker threads here: run `cxhub worker` to store what is accepted")
    stopped_by = _stop_on_signals()
    started = time.monotonic()
    try:
        server.run()
    finally:
        if background:
            background.stop()
        log.info("cxhub serve stopped (%s) after %.0fs; %d worker thread(s) stopped",
                 stopped_by.get("signal", "the server returned"), time.monotonic() - started, count)


def _stop_on_signals() -> dict[str, str]:
    """Make SIGTERM stop waitress as Ctrl-C does (it closes on SystemExit); record which signal it was."""
    stopped_by: dict[str, str] = {}

    def stop(number: int, frame: Any) -> None:
        stopped_by["signal"] = signal.Signals(number).name
        raise SystemExit(0)

    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, stop)
    return stopped_by


@click.command()
@hub_options
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
@click.option("--intake-only", is_flag=True,
              help="Only store what accept_into: redis accepted (no delivery threads).")
@click.option("--metrics-port", type=click.IntRange(1, 65535), default=None,
              help="Serve this worker's counters at http://HOST:PORT/metrics (needs CXHUB_METRICS_TOKEN).")
@click.option("--metrics-host", default="127.0.0.1", show_default=True)
def worker(settings: dict[str, Any], burst: bool, intake_only: bool, metrics_port: int | None,
           metrics_host: str) -> None:
    """Run a delivery worker against REDIS_URL and DATABASE_URL: hub.worker_threads threads, no fork per job.

    Every worker also runs an intake consumer, which stores what `hub.accept_into: redis` accepted.
    """
    from hub.events.canonical import prepare_validators
    from hub.instruments.exposition import serve_metrics
    from hub.worker import run_worker

    setup_logging()
    app = load_app(settings)
    if metrics_port is not None:
        token = app.config.get("CXHUB_METRICS_TOKEN")
        if not token:
            raise click.UsageError("--metrics-port needs CXHUB_METRICS_TOKEN: a scrape must carry it")
        serve_metrics(metrics_host, metrics_port, token)
    prepare_validators()  # built now rather than on the first webhook
    run_worker(app, burst=burst, intake_only=intake_only)
