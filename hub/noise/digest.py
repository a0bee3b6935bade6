"""Digests: the events a digest action matched, sent as one delivery per window.

Collecting is take-in's part: a digest action's delivery is stored `collecting` with its event,
in the same transaction, so a collected event is as durable as the event itself and no worker
holds anything in memory. Making the digest is the worker schedule's (hub.noise.schedule): once
the window of a route action's oldest collected event has closed, one delivery is stored for
all the events collected until then (hub.store.noise: one per window however many workers try),
and it goes the normal way: a job, retries, dead letters, `cxhub redeliver`. A window with
nothing collected sends nothing, because only a collected event opens one.

The digest's delivery renders the route's parameters once, with one name, `digest`:

    digest.count    how many events were collected
    digest.events   the first `max_items` of them (CloudEvents, oldest first)
    digest.more     how many more there were (count - shown), for "and N more"
    digest.route    the route's name
    digest.window   {start, end}: when the first event was collected and when the digest was made (ISO 8601)
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import orjson

from hub.noise.quiet import quiet_now
from hub.routing.routes import DEFAULT_DIGEST_ITEMS, ActionSpec
from hub.routing.templates import digest_subject
from hub.runtime import Hub
from hub.store import DeliveryRow
from hub.store.noise import DigestPlan, Flushed

log = logging.getLogger("cxhub.digest")


def digest_specs(hub: Hub) -> dict[tuple[str, str, str], ActionSpec]:
    """Every digest action of the loaded routes, by (route, connection, action)."""
    return {(route.name, spec.connection, spec.action): spec for route in hub.router.routes
            for spec in route.actions if spec.digest is not None}


def flush_due_digests(hub: Hub, moment: datetime | None = None) -> list[Flushed]:
    """Make every digest whose window has closed by `moment` (now by default) and queue those not held.

    Events collected for an action the config no longer has a digest for are left collecting,
    and logged: nothing is thrown away because a config changed.
    """
    moment = moment or hub.clock()
    specs = digest_specs(hub)
    made = []
    for waiting in hub.store.noise.collected():
        spec = specs.get((waiting.route, waiting.connection, waiting.action))
        if spec is None or spec.digest is None:
            log.warning("%d events collected for a digest of %s.%s (route %s), which the config no longer has: "
                        "they wait", waiting.count, waiting.connection, waiting.action, waiting.route)
            continue
        if spec.digest.closes(waiting.oldest_at) > moment:
            continue  # not due even from its oldest event (the store also counts from the previous digest)

        def plan(connection: str = waiting.connection) -> DigestPlan:
            quiet = quiet_now(hub, connection, moment)
            return DigestPlan() if quiet is None else DigestPlan("held", quiet.until, quiet.reason)

        flushed = hub.store.noise.flush(waiting.route, waiting.connection, waiting.action, moment=moment,
                                        closes=spec.digest.closes, params=spec.params, plan=plan)
        if flushed is None:
            continue
        made.append(flushed)
        log.info("digest %s of route %s: %d events for %s.%s", flushed.id, flushed.route, flushed.count,
                 flushed.connection, flushed.action)
    hub.queue.enqueue([item for item in made if item.status == "queued"])
    return made


def digest_event(hub: Hub, delivery: DeliveryRow) -> dict[str, Any]:
    """What a digest's delivery renders with and gives its action in place of an event (`digest_subject`)."""
    spec = digest_specs(hub).get((delivery.route, delivery.connection, delivery.action))
    limit = spec.digest.max_items if spec is not None and spec.digest is not None else DEFAULT_DIGEST_ITEMS
    count, first, bodies = hub.store.noise.digest_events(delivery.id, limit)
    return digest_subject(delivery.id, [orjson.loads(body) for body in bodies], count, delivery.route,
                          (first or delivery.created_at).isoformat(), delivery.created_at.isoformat())
