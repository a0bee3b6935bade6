"""Shadow routes: their deliveries are rendered when the event is taken in, recorded, and never sent.

A shadow delivery is a delivery row with status `shadow`: no job is queued for it and no worker
claims it. Its `result` holds the parameters the action would have been called with
(`{"shadow": true, "params": {...}}`) and its `last_error` why they would not have rendered, so
`cxhub deliveries list --status shadow` and `GET /admin/deliveries?status=shadow` show what the
route would have sent (a digest action: a digest of that one event). Rendering is bounded like any template's (hub.routing.sandbox) and a
failure only lands in `last_error`: a shadow route never fails or loses the event.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, Mapping, Sequence

from hub.events.storable import escape_unstorable
from hub.routing.actions import ActionParamsProblem, render_action
from hub.routing.templates import digest_of_one
from hub.runtime import Hub
from hub.store import NewDelivery

log = logging.getLogger("cxhub.ingest")


def render_shadows(hub: Hub, event: Mapping[str, Any], planned: Sequence[NewDelivery],
                   origin: Mapping[str, Any] | None = None) -> list[NewDelivery]:
    """`planned` with each shadow delivery carrying its rendered parameters (or why they did not render).

    `origin` is what the templates see of the event this one follows up (hub.routing.origins).
    """
    return [_rendered(hub, event, item, origin) if item.status == "shadow" else item for item in planned]


def _rendered(hub: Hub, event: Mapping[str, Any], item: NewDelivery,
              origin: Mapping[str, Any] | None = None) -> NewDelivery:
    connection = hub.config.connections.get(item.connection)
    plugin = hub.plugins.get(connection.plugin) if connection else None
    action = plugin.info.actions.get(item.action) if plugin else None
    if action is None:  # the config loader makes sure it is there; a config reloaded since may not
        return dataclasses.replace(item, last_error=f"no action {item.connection}.{item.action}")
    digest = any(spec.digest is not None and (spec.connection, spec.action) == (item.connection, item.action)
                 for route in hub.router.routes if route.name == item.route for spec in route.actions)
    try:
        params = render_action(item.params, digest_of_one(event, item.route) if digest else event, action,
                               None if digest else origin)
    except ActionParamsProblem as error:
        return dataclasses.replace(item, last_error=escape_unstorable(f"route {item.route!r}: {error.message}"))
    except Exception as error:  # never let a shadow route fail the event it only watches
        log.exception("route %s: rendering shadow parameters failed", item.route)
        return dataclasses.replace(item, last_error=escape_unstorable(f"{type(error).__name__}: {error}"))
    return dataclasses.replace(item, result={"shadow": True, "params": _plain(params)})


def _plain(value: Any) -> Any:
    """What a schema loaded (dates, decimals, sets) as JSON the store can keep."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(item) for item in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return escape_unstorable(value) if isinstance(value, str) else value
    return escape_unstorable(str(value))
