"""What the hub already knows about the objects events are about: updates, and routes that already ran.

A vendor that sends a survey response and later its update (a comment added, a review edited)
sends two events about one object. The second is an update, and a route that already ran for
the object does not run again unless it asks to (`run_on_updates`). The ledger answers both
questions for one batch of events, from one query to the store and from the batch itself
(a created and an updated event can arrive in the same intake batch).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterable, Mapping, Sequence

from hub.events.canonical import ObjectKey, object_key, object_kind
from hub.store import NewDelivery, ObjectEventRow


def subjects_by_source(events: Iterable[Mapping[str, Any]]) -> dict[str, set[str]]:
    """The subjects of these events, by source name: what to ask the store about."""
    subjects: dict[str, set[str]] = defaultdict(set)
    for event in events:
        source, _, subject = object_key(event)
        subjects[source].add(subject)
    return dict(subjects)


class ObjectLedger:
    """For each object: the events known about it, and the routes that delivered for each."""

    def __init__(self, known: Iterable[ObjectEventRow] = ()) -> None:
        self._routes: dict[ObjectKey, dict[str, set[str]]] = defaultdict(dict)
        for row in known:
            key = (row.source, object_kind(row.type), row.subject)
            routes = self._routes[key].setdefault(row.event_id, set())
            if row.route is not None:
                routes.add(row.route)

    def is_update(self, event: Mapping[str, Any]) -> bool:
        """True when another event about the same object is known (a resend of this one is not another)."""
        return any(other != event["id"] for other in self._routes.get(object_key(event), {}))

    def routed(self, event: Mapping[str, Any]) -> set[str]:
        """The routes that delivered for other events about the same object."""
        return {route for other, routes in self._routes.get(object_key(event), {}).items()
                if other != event["id"] for route in routes}

    def add(self, event: Mapping[str, Any], deliveries: Sequence[NewDelivery]) -> None:
        """Count an event of the batch and its deliveries, so later events of the batch see them."""
        self._routes[object_key(event)].setdefault(event["id"], set()).update(item.route for item in deliveries)
