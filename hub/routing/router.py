"""Matches events against routes and names one delivery per matching action."""

from __future__ import annotations

import uuid
from typing import Any, Collection, Mapping, Sequence

from hub.routing.origins import routing_view
from hub.routing.routes import Route
from hub.store import NewDelivery

DELIVERY_ID_NAMESPACE = uuid.UUID("0b6f3c52-2a1e-4c1b-8f7e-5d1a9e3c4b70")


def delivery_id(event_id: str, route: str, index: int, connection: str, action: str) -> str:
    """Stable for an event and an action of a route: replaying the event finds the same delivery.

    It is also the idempotency key actions use to avoid acting twice.
    """
    return str(uuid.uuid5(DELIVERY_ID_NAMESPACE, f"{event_id}\n{route}\n{index}\n{connection}\n{action}"))


class Router:
    """A digest action's delivery is planned `collecting`: it waits for its digest (hub.noise.digest)."""

    def __init__(self, routes: Sequence[Route]) -> None:
        self.routes = tuple(routes)

    def deliveries_for(self, event: Mapping[str, Any], routed: Collection[str] = (),
                       origin: Mapping[str, Any] | None = None) -> list[NewDelivery]:
        """One delivery per action of each matching route, but none for a route in `routed`.

        `routed` names the routes that already delivered for an earlier event about the same
        object: they run again only if they ask to (`run_on_updates`). `origin` is what the
        conditions see as `origin` (the event this one follows up; see hub.routing.origins).
        """
        view = routing_view(event, origin)
        return [
            NewDelivery(
                id=delivery_id(event["id"], route.name, index, spec.connection, spec.action),
                event_id=event["id"], route=route.name, connection=spec.connection, action=spec.action,
                params=spec.params,
                status="shadow" if route.shadow else "collecting" if spec.digest is not None else "queued",
                once=spec.once_per.frozen() if spec.once_per and not route.shadow else None,
            )
            for route in self.routes
            if (route.run_on_updates or route.name not in routed) and route.when.matches(view)
            for index, spec in enumerate(route.actions)
        ]
