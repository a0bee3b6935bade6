"""The lineage in routing: which earlier event an event follows up, and what routes and templates see of it.

An event follows up an earlier one when its object (`data.link`), or the object that one
belongs to (`data.parent`), was created by a delivery of the earlier event. Ingest stamps it
with `data.origin` (the event, the delivery, its route, connection and action, the object);
conditions and templates then see the whole `origin`:

    origin.event        the originating CloudEvent (origin.event.data.customer.email, ...)
    origin.route        the route whose delivery created the object (also connection, action)
    origin.result       what that delivery kept: external_id, url, detail
    origin.results      every succeeded delivery of the originating event, by connection and
                        the action it ran (an `otherwise` under its own name):
                        origin.results.slack.post_message.detail.ts
    origin.object       the object: system, id, url
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

import orjson

from hub.store import CreatedObjectRow, DeliveryRow, Origin, Store

ObjectName = tuple[str, str]


def objects_of(event: Mapping[str, Any]) -> list[ObjectName]:
    """The objects an event is about, its own first: (system, id) of `data.link`, then of `data.parent`."""
    data = event.get("data") or {}
    return [(link["system"], link["id"]) for link in (data.get("link"), data.get("parent")) if link]


def stamp(row: CreatedObjectRow, delivery: DeliveryRow) -> dict[str, Any]:
    """What `data.origin` records: ids and names only, so the stored event stays small."""
    return {"event_id": row.event_id, "delivery_id": row.delivery_id, "route": delivery.route,
            "connection": delivery.connection, "action": delivery.action,
            "object": {"system": row.system, "id": row.object_id}}


def context(origin: Origin) -> dict[str, Any]:
    """The `origin` routes and templates see (see the module docstring)."""
    results: dict[str, dict[str, Any]] = {}
    for item in origin.deliveries:
        if item.status == "succeeded" and item.result:
            result = orjson.loads(item.result)
            ran = result.get("once") or {}  # an action with once_per may have run its otherwise, or nothing
            if ran.get("ran") != "skipped":
                results.setdefault(item.connection, {}).setdefault(ran.get("action", item.action), result)
    delivery = origin.delivery
    return {
        "event": orjson.loads(origin.event.body), "event_id": origin.event.id, "delivery_id": delivery.id,
        "route": delivery.route, "connection": delivery.connection, "action": delivery.action,
        "result": orjson.loads(delivery.result) if delivery.result else None,
        "results": results,
        "object": {"system": origin.object.system, "id": origin.object.object_id, "url": origin.object.url},
    }


def stamped_context(store: Store, event: Mapping[str, Any]) -> dict[str, Any] | None:
    """The `origin` of an event already stamped (a delivery's worker, a replay); None without one."""
    mark = (event.get("data") or {}).get("origin")
    if not mark:
        return None
    origin = store.lineage.origin(mark["delivery_id"], mark["object"]["system"], mark["object"]["id"])
    return context(origin) if origin else None


class OriginFinder:
    """Finds the origins of one batch of events with one query (none when no event could have one).

    Only objects in the systems the routes' actions create objects in (`ActionInfo.creates`) can
    have been created by the hub, so a batch of survey responses costs nothing.
    """

    def __init__(self, store: Store, systems: Iterable[str]) -> None:
        self.store = store
        self.systems = frozenset(systems)

    def find(self, events: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """Stamp each event of the batch that follows one up (`data.origin`); return its `origin` by event id.

        An event the plugin or an earlier take-in already stamped keeps its stamp. An object
        created by the event's own delivery is not its origin (a replay of the event that made it).
        """
        wanted = {name for event in events if not event["data"].get("origin")
                  for name in objects_of(event) if name[0] in self.systems}
        creators: dict[ObjectName, list[CreatedObjectRow]] = {}
        for row in self.store.lineage.creators(wanted):
            creators.setdefault((row.system, row.object_id), []).append(row)
        found: dict[str, dict[str, Any]] = {}
        for event in events:
            if event["data"].get("origin"):
                known = stamped_context(self.store, event)
                if known:
                    found[event["id"]] = known
                continue
            for name in objects_of(event):
                creator = next((row for row in creators.get(name, ()) if row.event_id != event["id"]), None)
                origin = (self.store.lineage.origin(creator.delivery_id, creator.system, creator.object_id)
                          if creator else None)
                if origin is not None:
                    event["data"]["origin"] = stamp(origin.object, origin.delivery)
                    found[event["id"]] = context(origin)
                    break
        return found


def routing_view(event: Mapping[str, Any], origin: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """What conditions match against: the event, plus `origin` when it follows one up."""
    return {**event, "origin": origin} if origin is not None else event
