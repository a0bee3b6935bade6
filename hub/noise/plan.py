"""What take-in does to the deliveries the router planned, before they are stored (hub.ingest.service).

1. A digest action's delivery is `collecting` already (the router marks it): it waits for its
   digest and counts against no budget.
2. A route with `max_per_hour` lets that many matching events through per rolling hour; the
   deliveries of an event beyond it are `held` for review, with no `next_attempt_at`: an admin
   releases them (`cxhub deliveries release`) or discards them.
3. A delivery to a connection in its quiet hours is `held` until they end (`next_attempt_at`);
   the worker's schedule releases it then (hub.noise.schedule).

Shadow deliveries are left alone: they send nothing.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Sequence

from hub.noise.budget import over_budget
from hub.noise.quiet import quiet_now
from hub.runtime import Hub
from hub.store import NewDelivery


def plan_noise(hub: Hub, planned: Sequence[NewDelivery], moment: datetime | None = None) -> list[NewDelivery]:
    """`planned` with budgets and quiet hours applied (one Redis round trip when a route has a budget)."""
    moment = moment or hub.clock()
    limits = {route.name: route.max_per_hour for route in hub.router.routes if route.max_per_hour}
    asks = list(dict.fromkeys((item.route, item.event_id, limits[item.route]) for item in planned
                              if item.status == "queued" and item.route in limits))
    over = over_budget(hub, asks, moment.timestamp())
    quiet = {name: quiet_now(hub, name, moment) for name in {item.connection for item in planned}}
    outcome = []
    for item in planned:
        if item.status == "queued" and (item.route, item.event_id) in over:
            item = dataclasses.replace(item, status="held", last_error=(
                f"route {item.route} is over its budget of {limits[item.route]} events per hour: held for review "
                f"(cxhub deliveries release {item.id}, or discard)"))
        elif item.status == "queued" and (hold := quiet[item.connection]) is not None:
            item = dataclasses.replace(item, status="held", next_attempt_at=hold.until, last_error=hold.reason)
        outcome.append(item)
    return outcome
