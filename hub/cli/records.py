"""Listing and replaying what the hub stored: events, deliveries, quarantined requests."""

from __future__ import annotations

from typing import Any, Sequence

import click

from hub.cli.common import hub_of, hub_options, load_app, open_store, print_json, print_table, visible


class DeliveryStatus(click.Choice):
    """The store's delivery statuses as a choice, read when first needed: importing the store
    (SQLAlchemy) would double the time `cxhub --help` takes."""

    def __init__(self) -> None:
        super().__init__(())

    @property  # type: ignore[override]
    def choices(self) -> Sequence[str]:
        from hub.store.deliveries import STATUSES

        return STATUSES

    @choices.setter
    def choices(self, value: Sequence[str]) -> None:
        """click.Choice sets its choices when built; these come from the store instead."""


def _short(text: str | None, width: int = 60) -> str:
    text = (text or "").replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


@click.group()
def events() -> None:
    """Stored events."""


@events.command("list")
@hub_options
@click.option("--source")
@click.option("--type", "event_type")
@click.option("--customer", help="Customer email (any case).")
@click.option("--band", type=click.Choice(["negative", "neutral", "positive"]))
@click.option("--limit", default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print full events as JSON.")
def list_events(settings: dict[str, Any], source: str | None, event_type: str | None, customer: str | None,
                band: str | None, limit: int, as_json: bool) -> None:
    """List stored events, newest first."""
    rows = open_store(settings).reads.events(source=source, type=event_type, customer=customer, band=band,
                                             limit=limit)
    if as_json:
        print_json(rows)
        return
    print_table(((row.id, row.received_at.isoformat(timespec="seconds"), row.source, row.type, row.score_band,
                  row.customer_email) for row in rows),
                ("ID", "RECEIVED", "SOURCE", "TYPE", "BAND", "CUSTOMER"))


@events.command("show")
@hub_options
@click.argument("event_id")
@click.option("--json", "as_json", is_flag=True, help="Print the lineage as JSON (as GET /admin/events/ID/lineage).")
def show_event(settings: dict[str, Any], event_id: str, as_json: bool) -> None:
    """What happened to an event: its origin, its deliveries, what they created, and the later events about those."""
    from hub.admin.schemas import LineageSchema
    from hub.store import CreatedObjectRow

    lineage = open_store(settings).lineage.of_event(event_id)
    if lineage is None:
        raise click.ClickException(f"no event {event_id}")
    if as_json:
        print_json(LineageSchema().dump(lineage))
        return
    event = lineage.event
    _line(f"event {event.id}  {event.type} from {event.source}, {event.received_at.isoformat(timespec='seconds')}"
          f"{'  customer ' + event.customer_email if event.customer_email else ''}")
    if lineage.origin is not None:
        origin = lineage.origin
        _line(f"  follows up event {origin.event.id} ({origin.event.type} from {origin.event.source}): "
              f"delivery {origin.delivery.id} of route {origin.delivery.route} "
              f"({origin.delivery.connection}.{origin.delivery.action}) created {origin.object.system} "
              f"{origin.object.object_id}")
    created: dict[str, list[CreatedObjectRow]] = {}
    for item in lineage.created:
        created.setdefault(item.delivery_id, []).append(item)
    _line(f"  deliveries: {len(lineage.deliveries)}")
    for delivery in lineage.deliveries:
        _line(f"    {delivery.id}  {delivery.status}  {delivery.connection}.{delivery.action}  route {delivery.route}"
              + "".join(f"  created {item.system} {item.object_id}{' ' + item.url if item.url else ''}"
                        for item in created.get(delivery.id, ())))
    _line(f"  later events about what they created: {len(lineage.follow_ups)}")
    for later in lineage.follow_ups:
        _line(f"    {later.id}  {later.received_at.isoformat(timespec='seconds')}  {later.type} from {later.source}"
              f" about {later.subject}")


@events.command("origin")
@hub_options
@click.argument("system")
@click.argument("object_id")
@click.option("--json", "as_json", is_flag=True)
def object_origin(settings: dict[str, Any], system: str, object_id: str, as_json: bool) -> None:
    """Which event caused an object the hub created: `cxhub events origin jira CX-12`."""
    from hub.admin.schemas import OriginSchema

    origin = open_store(settings).lineage.cause_of(system, object_id)
    if origin is None:
        raise click.ClickException(visible(f"the hub created no {system} object {object_id!r} (or it was pruned)"))
    if as_json:
        print_json(OriginSchema().dump(origin))
        return
    delivery, event = origin.delivery, origin.event
    _line(f"{system} {object_id} was created by delivery {delivery.id} ({delivery.connection}.{delivery.action}, "
          f"route {delivery.route}) at {origin.object.created_at.isoformat(timespec='seconds')}")
    _line(f"for event {event.id}  {event.type} from {event.source}, {event.received_at.isoformat(timespec='seconds')}"
          f"{'  customer ' + event.customer_email if event.customer_email else ''}")


def _line(text: str) -> None:
    click.echo(visible(text))


@click.group()
def deliveries() -> None:
    """Deliveries of events to connections."""


@deliveries.command("list")
@hub_options
@click.option("--status", type=DeliveryStatus())
@click.option("--event", "event_id")
@click.option("--connection")
@click.option("--route")
@click.option("--limit", default=50, show_default=True)
@click.option("--attempts", "with_attempts", is_flag=True, help="Include every attempt (JSON output).")
@click.option("--json", "as_json", is_flag=True)
def list_deliveries(settings: dict[str, Any], status: str | None, event_id: str | None, connection: str | None,
                    route: str | None, limit: int, with_attempts: bool, as_json: bool) -> None:
    """List deliveries, most recently updated first (held ones say until when, or that they wait for review)."""
    reads = open_store(settings).reads
    rows = reads.deliveries(status=status, event_id=event_id, connection=connection, route=route, limit=limit)
    if as_json or with_attempts:
        print_json([{**vars(row), "attempts_made": reads.attempts(row.id)} if with_attempts else row
                    for row in rows])
        return
    print_table(((row.id, _status(row), row.attempts, f"{row.connection}.{row.action}", row.route,
                  _short(row.last_error)) for row in rows),
                ("ID", "STATUS", "ATTEMPTS", "ACTION", "ROUTE", "LAST ERROR"))


def _status(row: Any) -> str:
    """A held delivery's status says when it goes (quiet hours) or that it waits for an admin (a route's budget)."""
    if row.status != "held":
        return f"{row.status} (digest)" if row.is_digest else row.status
    if row.next_attempt_at is None:
        return "held for review"
    return f"held until {row.next_attempt_at.isoformat(timespec='minutes')}"


def _held_command(verb: str, settings: dict[str, Any], delivery_ids: tuple[str, ...], route: str | None) -> None:
    if not delivery_ids and not route:
        raise click.UsageError("give delivery ids, or --route (or both: those ids of that route)")
    from hub.operations import discard_held, release_held

    act = release_held if verb == "released" else discard_held
    outcome = act(hub_of(load_app(settings)), list(delivery_ids) or None, route=route)
    for delivery_id in outcome.done:
        click.echo(f"{verb} {delivery_id}")
    for delivery_id in outcome.skipped:
        click.echo(f"skipped {delivery_id}: not held{' for review' if verb == 'released' else ''}", err=True)
    if not outcome.done and not delivery_ids:
        click.echo(f"route {route} has no deliveries held{' for review' if verb == 'released' else ''}")
    if outcome.skipped:
        raise SystemExit(1)


@deliveries.command("release")
@hub_options
@click.argument("delivery_ids", nargs=-1)
@click.option("--route", help="Every delivery of this route held for review.")
def release_deliveries(settings: dict[str, Any], delivery_ids: tuple[str, ...], route: str | None) -> None:
    """Send deliveries held for review (over their route's max_per_hour): by id, or all of a route.

    A connection in its quiet hours holds them again until the hours end.
    """
    _held_command("released", settings, delivery_ids, route)


@deliveries.command("discard")
@hub_options
@click.argument("delivery_ids", nargs=-1)
@click.option("--route", help="Every held delivery of this route.")
def discard_deliveries(settings: dict[str, Any], delivery_ids: tuple[str, ...], route: str | None) -> None:
    """Never send held deliveries (for review or for quiet hours): by id, or all of a route."""
    _held_command("discarded", settings, delivery_ids, route)


@click.command()
@hub_options
@click.argument("event_id")
def replay(settings: dict[str, Any], event_id: str) -> None:
    """Route a stored event again (deliveries that succeeded are not repeated)."""
    from hub.operations import NotFound, replay_event

    try:
        outcome = replay_event(hub_of(load_app(settings)), event_id)
    except NotFound as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"queued {len(outcome.queued)} deliveries; left {len(outcome.untouched)} alone "
               "(already succeeded or under way)")
    for delivery_id in outcome.queued:
        click.echo(f"  queued {delivery_id}")


@click.command("redeliver")
@hub_options
@click.argument("delivery_ids", nargs=-1)
@click.option("--all-dead", is_flag=True, help="Every dead-lettered delivery (narrow with --connection/--route).")
@click.option("--connection", help="With --all-dead: only this connection's.")
@click.option("--route", help="With --all-dead: only this route's.")
def redeliver_command(settings: dict[str, Any], delivery_ids: tuple[str, ...], all_dead: bool,
                      connection: str | None, route: str | None) -> None:
    """Queue dead-lettered deliveries again, with a fresh retry budget: by id, or all of them by filter."""
    if bool(delivery_ids) == all_dead:
        raise click.UsageError("give delivery ids, or --all-dead (optionally with --connection/--route)")
    if (connection or route) and not all_dead:
        raise click.UsageError("--connection and --route go with --all-dead")
    from hub.operations import redeliver

    hub = hub_of(load_app(settings))
    if all_dead:
        delivery_ids = tuple(hub.store.reads.dead_ids(connection=connection, route=route))
        click.echo(f"{len(delivery_ids)} dead-lettered deliveries match")
    queued = redeliver(hub, list(delivery_ids))
    for delivery_id in delivery_ids:
        if delivery_id in queued:
            click.echo(f"queued {delivery_id}")
        else:
            row = hub.store.reads.delivery(delivery_id)
            status = row.status if row else "not found"
            click.echo(f"skipped {delivery_id}: only dead deliveries can be redelivered (status: {status})", err=True)
    if len(queued) < len(delivery_ids):
        raise SystemExit(1)


@click.group()
def quarantine() -> None:
    """Requests a plugin could not understand (answered 422), kept for replay."""


@quarantine.command("list")
@hub_options
@click.option("--all", "show_all", is_flag=True, help="Include replayed requests.")
def list_quarantine(settings: dict[str, Any], show_all: bool) -> None:
    """List quarantined requests, newest first, and how many a full quarantine dropped."""
    quarantined = open_store(settings).quarantine
    rows = quarantined.requests(status=None if show_all else "open")
    print_table(((row.id, row.received_at.isoformat(timespec="seconds"), row.source, row.status,
                  _short(row.error, 80)) for row in rows), ("ID", "RECEIVED", "SOURCE", "STATUS", "ERROR"))
    for dropped in quarantined.dropped():
        click.echo(f"dropped {dropped.dropped} requests from {dropped.source} because the quarantine was full "
                   f"(hub.quarantine_max_rows); the last at {dropped.last_dropped_at.isoformat(timespec='seconds')}")


@quarantine.command("replay")
@hub_options
@click.argument("quarantine_id")
def replay_quarantine(settings: dict[str, Any], quarantine_id: str) -> None:
    """Parse a quarantined request again, after the plugin was fixed."""
    from hub.ingest.service import Rejected
    from hub.operations import NotFound, replay_quarantined

    try:
        outcome = replay_quarantined(hub_of(load_app(settings)), quarantine_id)
    except NotFound as error:
        raise click.ClickException(str(error)) from None
    except Rejected as error:
        raise click.ClickException(visible(f"still rejected ({error.status}): {error.message}")) from None
    click.echo(f"accepted {len(outcome.accepted)} events, {len(outcome.duplicates)} already known")


@click.command("prune")
@hub_options
@click.option("--older-than-days", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Override hub.retention_days for this run.")
def prune_command(settings: dict[str, Any], older_than_days: float | None) -> None:
    """Delete finished events (and their deliveries and attempts) older than the retention period.

    Workers do this hourly on their own; this runs it now.
    """
    from hub.retention import prune

    hub = hub_of(load_app(settings))
    counts = prune(hub, older_than_days=older_than_days)
    if not counts:
        click.echo("retention is off (hub.retention_days: 0); nothing deleted")
        return
    click.echo("deleted " + ", ".join(f"{count} {kind}" for kind, count in counts.items()))


@click.command("backlog")
@hub_options
@click.option("--json", "as_json", is_flag=True)
def backlog_command(settings: dict[str, Any], as_json: bool) -> None:
    """What is waiting: webhooks in the intake log (accept_into: redis) and delivery jobs."""
    from hub.operations import backlog

    waiting = backlog(hub_of(load_app(settings, read_only=True)))
    if as_json:
        print_json(waiting)
        return
    intake, jobs = waiting["intake"], waiting["jobs"]
    print_table([("intake log", intake["entries"], f"{intake['held']} held by a consumer"),
                 ("delivery jobs", jobs["queued"], f"{jobs['scheduled']} retries waiting for their backoff")],
                ("QUEUE", "WAITING", ""))
