"""Admin operations shared by the CLI, the admin API and the console: replay, redeliver, quarantine
replay and discard, backlog, connection states, pausing and resuming a connection, route dry-runs,
and finding, merging and unmerging customers."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import orjson

from hub.delivery import gate
from hub.events.canonical import TEST_SOURCE
from hub.events.storable import escape_unstorable
from hub.ingest.shadow import render_shadows
from hub.ingest.service import Accepted, Rejected, ingest
from hub.noise.plan import plan_noise
from hub.plugin.request import InboundRequest
from hub.profiles.identity import parse_identifier
from hub.routing.explain import Step, explain
from hub.routing.objects import ObjectLedger, subjects_by_source
from hub.routing.origins import routing_view, stamped_context
from hub.routing.templates import TemplateProblem, digest_of_one, render_params
from hub.runtime import Hub
from hub.store import Store
from hub.store.rows import MergeRow, ProfileView

log = logging.getLogger("cxhub")


class NotFound(Exception):
    """The event, delivery or quarantined request does not exist (or cannot be acted on)."""


class UnknownCustomer(NotFound):
    """No customer profile has this id, identifier or email."""


@dataclass(frozen=True)
class Replayed:
    queued: list[str]
    untouched: list[str]


def connection_states(hub: Hub) -> list[dict[str, Any]]:
    """Each connection's state: ok, paused by its breaker (until when), held (why) until resumed, or slowed
    by a destination's Retry-After (until when)."""
    names = sorted(hub.config.connections)
    states = gate.read_breakers(hub.redis, hub.config.hub.queue, names)
    moment = time.time()
    rows = []
    for name in names:
        state = states[name]
        until = None if state.held is not None else state.until()
        if state.paused(moment):
            status = "paused"
        elif state.open_until is not None:
            status = "half-open"
        elif state.slowed_until is not None and state.slowed_until > moment:
            status, until = "slowed", datetime.fromtimestamp(state.slowed_until, timezone.utc)  # a Retry-After
        else:
            status = "ok"
        rows.append({"connection": name, "plugin": hub.config.connections[name].plugin, "status": status,
                     "until": until, "reason": state.held, "failures": state.failures})
    return rows


def resume_connection(hub: Hub, name: str) -> bool:
    """Resume a paused connection (held, or paused by its breaker); False if it was not paused."""
    if name not in hub.config.connections:
        raise NotFound(f"no connection {name!r} (configured: {', '.join(sorted(hub.config.connections)) or 'none'})")
    resumed = gate.resume_connection(hub.redis, hub.config.hub.queue, name)
    if resumed:
        log.warning("connection %s resumed by an admin", name)
        hub.plugins.notify("cxhub_connection_resumed", connection=name)
    return resumed


def pause_connection(hub: Hub, name: str, reason: str) -> bool:
    """Hold a connection until it is resumed (its deliveries wait, spending no attempts); False if already held."""
    if name not in hub.config.connections:
        raise NotFound(f"no connection {name!r} (configured: {', '.join(sorted(hub.config.connections)) or 'none'})")
    paused = gate.hold_connection(hub.redis, hub.config.hub.queue, name, reason)
    if paused:
        log.warning("connection %s paused by an admin: %s", name, reason)
        hub.plugins.notify("cxhub_connection_paused", connection=name, until=None, error=reason)
    return paused


def discard_quarantined(hub: Hub, quarantine_id: str) -> None:
    """Mark an open quarantined request discarded: it is not replayed, and retention deletes it."""
    row = hub.store.quarantine.get(quarantine_id)
    if row is None or row.status != "open":
        raise NotFound(f"no open quarantined request {quarantine_id}")
    hub.store.quarantine.set_status(quarantine_id, "discarded")


@dataclass(frozen=True)
class PlannedAction:
    connection: str
    action: str
    params: Any  # rendered against the event; None when rendering failed
    problem: str | None = None


@dataclass(frozen=True)
class RoutePlan:
    """What one route would do with an event: whether it matches, why, and its actions rendered."""

    route: str
    matched: bool
    why: list[Step]
    actions: list[PlannedAction]


def dry_run(hub: Hub, event: dict[str, Any]) -> list[RoutePlan]:
    """Match a canonical event against every loaded route and render the actions of those that match.

    Nothing is stored, queued or sent. (Whether a route already ran for the same object, which
    take-in also checks, is not considered: this shows what the routes themselves say.) An event
    stamped with an origin (`data.origin`) is matched and rendered with it, as take-in does. A
    digest action shows a digest of this event alone.
    """
    plans = []
    origin = stamped_context(hub.store, event)
    view = routing_view(event, origin)
    for route in hub.router.routes:
        matched = route.when.matches(view)
        actions = []
        for spec in route.actions if matched else ():
            try:
                if spec.digest is not None:
                    rendered = render_params(spec.params, digest_of_one(event, route.name))
                else:
                    rendered = render_params(spec.params, event, origin=origin)
                actions.append(PlannedAction(spec.connection, spec.action, rendered))
            except TemplateProblem as problem:
                actions.append(PlannedAction(spec.connection, spec.action, None, str(problem)))
        plans.append(RoutePlan(route.name, matched, explain(route.when, view), actions))
    return plans


def backlog(hub: Hub) -> dict[str, dict[str, int]]:
    """What waits: webhooks in the intake log (all, and held by a consumer), delivery jobs (now, and retries)."""
    return {"intake": {"entries": hub.intake.backlog(), "held": hub.intake.held()},
            "jobs": {"queued": hub.queue.count(), "scheduled": hub.queue.scheduled_count()}}


def replay_event(hub: Hub, event_id: str) -> Replayed:
    """Route a stored event again with the current routes.

    New matching actions get new deliveries; dead deliveries are queued again; deliveries that
    succeeded or are still under way are left alone, so no ticket is created twice. A route that
    delivered for another event about the same object is not run for this one either, unless it
    has `run_on_updates` (the rule at take-in). A shadow route records its delivery (never sent);
    one recorded before is left alone.
    """
    row = hub.store.reads.event(event_id)
    if row is None:
        raise NotFound(f"no event {event_id}")
    if row.source == TEST_SOURCE:
        raise NotFound(f"event {event_id} is a console test event, which no route ever sees: send another test")
    event = orjson.loads(row.body)
    ledger = ObjectLedger(hub.store.ingest.events_about(subjects_by_source([event])))
    origin = stamped_context(hub.store, event)
    planned = plan_noise(hub, render_shadows(hub, event, hub.router.deliveries_for(event, ledger.routed(event), origin),
                                             origin))
    created = set(hub.store.ingest.add_deliveries(planned))
    requeued = hub.store.deliveries.requeue([item.id for item in planned if item.id not in created])
    hub.queue.enqueue([*(item for item in planned if item.sent and item.id in created), *requeued])
    queued = {item.id for item in requeued} | {item.id for item in planned if item.sent and item.id in created}
    return Replayed([item.id for item in planned if item.id in queued],
                    [item.id for item in planned if item.id not in queued])


@dataclass(frozen=True)
class HeldOutcome:
    """What a release or a discard of held deliveries did: the ids acted on, and those left as they were."""

    done: list[str]
    skipped: list[str]


def release_held(hub: Hub, delivery_ids: list[str] | None = None, *, route: str | None = None) -> HeldOutcome:
    """Send deliveries held for review (over a route's `max_per_hour`): by id, or every one of a route.

    They are queued at once; a connection in its quiet hours holds them again until the hours end.
    Deliveries not held for review (held for quiet hours, already sent, unknown) are skipped.
    """
    released = hub.store.noise.release(delivery_ids, route=route)
    hub.queue.enqueue(released)
    done = [item.id for item in released]
    if released:
        log.warning("released %d held deliveries%s", len(done), f" of route {route}" if route else "")
    return HeldOutcome(done, [i for i in delivery_ids or () if i not in set(done)])


def discard_held(hub: Hub, delivery_ids: list[str] | None = None, *, route: str | None = None) -> HeldOutcome:
    """Never send these held deliveries (by id, or every held one of a route); retention deletes them later."""
    discarded = hub.store.noise.discard(delivery_ids, route=route)
    if discarded:
        log.warning("discarded %d held deliveries%s", len(discarded), f" of route {route}" if route else "")
    return HeldOutcome(discarded, [i for i in delivery_ids or () if i not in set(discarded)])


def redeliver(hub: Hub, delivery_ids: list[str]) -> list[str]:
    """Queue dead-lettered deliveries again, each with a fresh retry budget; return those queued."""
    requeued = hub.store.deliveries.requeue(delivery_ids)
    hub.queue.enqueue(requeued)
    return [item.id for item in requeued]


def replay_quarantined(hub: Hub, quarantine_id: str) -> Accepted:
    """Parse a quarantined request again (after a plugin fix) and ingest what it now yields.

    Its signature was verified on arrival and is not checked again: timestamped schemes would
    reject it as stale. If it still fails, it stays in quarantine with the new error.
    """
    row = hub.store.quarantine.get(quarantine_id)
    if row is None or row.status != "open":
        raise NotFound(f"no open quarantined request {quarantine_id}")
    source = hub.config.sources.get(row.source)
    if source is None:
        raise NotFound(f"source {row.source!r} is no longer configured")
    request = InboundRequest(method=row.method, path=f"/hooks/{source.name}", body=row.body,
                             content_type=row.content_type, headers=orjson.loads(row.headers),
                             query=orjson.loads(row.query))
    try:
        outcome = ingest(hub, source, request, replay=True)
    except Rejected as error:
        hub.store.quarantine.set_status(quarantine_id, "open", error=escape_unstorable(error.message))
        raise
    hub.store.quarantine.set_status(quarantine_id, "replayed")
    return outcome


CUSTOMER_HINT = "give an email, an identifier such as zendesk:8447388090494, or a profile id (cus_...)"


def customer_profile(store: Store, text: str) -> str:
    """The profile that `text` names: a profile id, or the owner of an identifier or email.

    It is the profile itself, not the customer it may be merged into: that is what an unmerge
    splits off. Raise UnknownCustomer.
    """
    text = text.strip()
    if text.startswith("cus_") and store.profiles.root_of(text) is not None:
        return text
    identifier = parse_identifier(text)
    owner = store.profiles.owner(identifier.kind, identifier.value) if identifier is not None else None
    if owner is None:
        shown = text if len(text) <= 200 else text[:200] + "…"
        raise UnknownCustomer(f"no customer {shown!r} ({CUSTOMER_HINT})")
    return owner


def find_customer(store: Store, text: str) -> ProfileView:
    """The customer `text` names (see `customer_profile`), as shown: its root with every merged profile."""
    view = store.profiles.view(customer_profile(store, text))
    if view is None:  # unmerged or deleted between the two reads
        raise UnknownCustomer(f"no customer {text!r}")
    return view


def merge_customers(store: Store, keep: str, absorb: str, *, by: str, reason: str = "") -> MergeRow:
    """Merge the customer `absorb` names into the one `keep` names; the merge is recorded with `by` and `reason`.

    Raise UnknownCustomer, or `hub.store.profiles.SameProfile` when both name one customer.
    """
    merged = store.profiles.merge(customer_profile(store, keep), customer_profile(store, absorb), by=by,
                                  reason=reason)
    log.warning("customer %s merged into %s by %s", merged.from_profile, merged.into_profile, by)
    return merged


def unmerge_customer(store: Store, text: str, *, by: str, reason: str = "") -> MergeRow:
    """Split the profile `text` names (with what was merged into it) off the customer it was merged into.

    Raise UnknownCustomer, or `hub.store.profiles.NotMerged` when that profile is not merged into another.
    """
    undone = store.profiles.unmerge(customer_profile(store, text), by=by, reason=reason)
    log.warning("customer %s unmerged from %s by %s", undone.from_profile, undone.into_profile, by)
    return undone
