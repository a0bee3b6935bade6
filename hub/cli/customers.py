"""`cxhub customers`: one customer across every source, its timeline, merges and unmerges."""

from __future__ import annotations

import getpass
from typing import Any

import click
import orjson

from hub.cli.common import hub_of, hub_options, load_app, open_store, print_json, print_table, visible


@click.group()
def customers() -> None:
    """Customer profiles: every event attached to one customer, resolved across sources."""


def _fail(error: Exception) -> None:
    raise click.ClickException(visible(str(error)))


def _when(moment: Any) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z") if moment is not None else "-"


def _short(text: str | None, width: int = 70) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[: width - 1] + "…"


@customers.command("show")
@hub_options
@click.argument("customer")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 500), help="Timeline events shown.")
@click.option("--after", metavar="CURSOR", help="The timeline page after this cursor (printed under a page).")
@click.option("--json", "as_json", is_flag=True, help="The profile and the timeline page as JSON.")
def show(settings: dict[str, Any], customer: str, limit: int, after: str | None, as_json: bool) -> None:
    """Show the customer CUSTOMER (an email, an identifier such as zendesk:123, or a profile id) and its timeline."""
    from hub.admin.schemas import CustomerSchema, TimelineSchema
    from hub.operations import UnknownCustomer, find_customer
    from hub.store import BadCursor, Cursor

    store = open_store(settings)
    try:
        view = find_customer(store, customer)
        page = store.profiles.timeline(view.id, limit=limit, after=Cursor.decode(after) if after else None)
    except (UnknownCustomer, BadCursor) as error:
        _fail(error)
        return
    following = page.next.encode() if page.next else None
    if as_json:
        print_json({"customer": CustomerSchema().dump(view),
                    "timeline": TimelineSchema().dump({"customer": view.id, "events": page.rows, "next": following})})
        return
    click.echo(visible(f"customer {view.id}"))
    if len(view.members) > 1:
        click.echo(visible(f"  merged from {', '.join(member for member in view.members if member != view.id)}"))
    click.echo(f"  first seen {_when(view.first_seen)}  last seen {_when(view.last_seen)}  "
               f"events stored {view.events}")
    click.echo("identifiers")
    print_table((("  " + row.kind, row.value, row.profile_id, _when(row.added_at)) for row in view.identifiers),
                ("  KIND", "VALUE", "PROFILE", "SINCE"))
    click.echo("latest scores" if view.scores else "latest scores: none")
    if view.scores:
        print_table((("  " + score.metric, f"{score.value:g}/{score.max:g}", score.band, _when(score.time),
                      score.source) for score in view.scores), ("  METRIC", "SCORE", "BAND", "WHEN", "SOURCE"))
    click.echo("open cases" if view.open_cases else "open cases: none")
    if view.open_cases:
        print_table((("  " + case.id, case.status, case.route, _when(case.opened_at), case.owner or "")
                     for case in view.open_cases), ("  CASE", "STATUS", "ROUTE", "OPENED", "OWNER"))
    click.echo("merges" if view.merges else "merges: none")
    for merge in view.merges:
        undone = f"; undone {_when(merge.undone_at)} by {merge.undone_by}" if merge.undone_at else ""
        click.echo(visible(f"  {merge.status} {_when(merge.at)} {merge.from_profile} -> {merge.into_profile} "
                           f"by {merge.by}: {merge.reason}{undone}"))
    click.echo(f"timeline, newest first ({len(page.rows)} shown)")
    for entry in page.rows:
        data = orjson.loads(entry.body).get("data") or {}
        score = data.get("score") or {}
        scored = f"{score.get('type')} {score.get('value')}/{score.get('max')} {score.get('band')}" if score else "-"
        person = data.get("customer") or {}
        who = " ".join(part for part in (_short(person.get("name"), 40),
                                         f"<{_short(person['email'], 60)}>" if person.get("email") else "") if part)
        click.echo(visible(f"  {_when(entry.time)}  {entry.source}  {entry.type}  {scored}  {who}".rstrip()))
        if data.get("text"):
            click.echo(visible(f"      \"{_short(data['text'])}\""))
        if entry.enrichment and entry.enrichment != "done":
            click.echo(visible(f"      details from the vendor's API: {entry.enrichment}"))
        for delivery in entry.deliveries:
            result = f" {_short(delivery.result, 60)}" if delivery.result else ""
            failed = delivery.last_error and delivery.status != "succeeded"
            failure = f" ({_short(delivery.last_error, 60)})" if failed else ""
            click.echo(visible(f"      -> {delivery.route}: {delivery.connection}.{delivery.action} "
                               f"{delivery.status}{result}{failure}"))
        if not entry.deliveries:
            click.echo("      -> an update: no route ran again" if data.get("update") else "      -> no route matched")
        click.echo(visible(f"      event {entry.id}"))
    if following:
        click.echo(f"more: cxhub customers show {visible(customer)!r} --after {following}")


def _who(by: str | None) -> str:
    if by:
        return by
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@customers.command("merge")
@hub_options
@click.argument("keep")
@click.argument("absorb")
@click.option("--reason", default="", help="Why (kept with the merge).")
@click.option("--by", help="Who merges (default: cli:<user>).")
@click.option("--json", "as_json", is_flag=True)
def merge(settings: dict[str, Any], keep: str, absorb: str, reason: str, by: str | None, as_json: bool) -> None:
    """Merge the customer ABSORB into KEEP (each an email, an identifier or a profile id); the timeline follows."""
    from hub.admin.schemas import MergeSchema
    from hub.operations import UnknownCustomer, merge_customers
    from hub.store.profiles import ProfileError

    try:
        merged = merge_customers(open_store(settings), keep, absorb, by=_who(by), reason=reason)
    except (UnknownCustomer, ProfileError) as error:
        _fail(error)
        return
    if as_json:
        print_json(MergeSchema().dump(merged))
        return
    click.echo(visible(f"merged {merged.from_profile} into {merged.into_profile} (merge {merged.id}); "
                       f"undo with: cxhub customers unmerge {merged.from_profile}"))


@customers.command("unmerge")
@hub_options
@click.argument("profile")
@click.option("--reason", default="", help="Why (kept with the merge record).")
@click.option("--by", help="Who unmerges (default: cli:<user>).")
@click.option("--json", "as_json", is_flag=True)
def unmerge(settings: dict[str, Any], profile: str, reason: str, by: str | None, as_json: bool) -> None:
    """Split PROFILE (a profile id, or an identifier it owns) off the customer it was merged into.

    It takes back its own identifiers and events, and what was merged into it; events never
    merge the two again by themselves (an admin still can).
    """
    from hub.admin.schemas import MergeSchema
    from hub.operations import UnknownCustomer, unmerge_customer
    from hub.store.profiles import ProfileError

    try:
        undone = unmerge_customer(open_store(settings), profile, by=_who(by), reason=reason)
    except (UnknownCustomer, ProfileError) as error:
        _fail(error)
        return
    if as_json:
        print_json(MergeSchema().dump(undone))
        return
    click.echo(visible(f"unmerged {undone.from_profile} from {undone.into_profile} (merge {undone.id} undone)"))


@customers.command("resolve")
@hub_options
@click.option("--failed", "retry_failed", is_flag=True, help="Try the events that failed to attach again.")
def resolve(settings: dict[str, Any], retry_failed: bool) -> None:
    """Attach the events waiting for their customer profile now (workers do it by themselves)."""
    from hub.profiles.resolver import resolve_all

    hub = hub_of(load_app(settings))
    marked = hub.store.profiles.retry_failed() if retry_failed else 0
    taken = resolve_all(hub)
    left = hub.store.profiles.count_pending()
    click.echo(f"processed {taken} events{f' ({marked} had failed before)' if retry_failed else ''}; "
               f"pending {left['pending']}, failed {left['failed']}")
