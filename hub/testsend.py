"""Test deliveries: a synthetic event, clearly marked, sent to one action through the normal delivery path.

An operator checks a connection by sending it something (the console's connections page). The
event is built as any source's event is (a CloudEvent from an EventDraft, validated), from the
source `cxhub-console`, its text saying who sent it and that it is a test. It is stored with one
delivery, under the route name `(console test)` (no configured route can have that name), and
that delivery is queued like any other: a worker claims it, the connection's gate (pause,
circuit breaker, in-flight cap) lets it in or holds it, the action's parameters are rendered
against the test event by the same `render_action`, and every attempt is recorded. Nothing
bypasses that pipeline, and the event is never routed: no configured route sees it.

The parameters are checked before anything is stored: they must render against the test event
and pass the action's schema, or the operator is told why and nothing is sent.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping

import orjson

from hub.events.canonical import TEST_SOURCE, InvalidEvent, build_event, validate_event
from hub.plugin.types import EVENT_TYPES, ActionInfo, Customer, EventDraft, Link
from hub.routing.actions import ActionParamsProblem, render_action
from hub.runtime import Hub
from hub.store import NewDelivery

log = logging.getLogger("cxhub")

TEST_ROUTE = "(console test)"  # the route name of every test delivery: not a valid route name
MAX_PARAMS_BYTES = 64 * 1024
MAX_DEPTH = 16


class TestRefused(Exception):
    """The test cannot be sent as asked (unknown action, parameters that do not render): nothing was stored."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class TestSent:
    event_id: str
    delivery_id: str


def actions_of(hub: Hub, connection: str) -> dict[str, ActionInfo]:
    """The actions the connection's plugin provides (empty for an unknown connection)."""
    config = hub.config.connections.get(connection)
    plugin = hub.plugins.get(config.plugin) if config else None
    return dict(plugin.info.actions) if plugin else {}


def route_params(hub: Hub, connection: str, action: str) -> tuple[str | None, Mapping[str, Any]]:
    """The parameters of the first route that runs this connection's action, and its name (None: no route does)."""
    for route in hub.router.routes:
        for spec in route.actions:
            if spec.connection == connection and spec.action == action:
                return route.name, spec.params
    return None, {}


def parse_params(text: str) -> dict[str, Any]:
    """The operator's parameters: a JSON object of at most MAX_PARAMS_BYTES, nested at most MAX_DEPTH deep."""
    raw = text.encode("utf-8", "replace")
    if len(raw) > MAX_PARAMS_BYTES:
        raise TestRefused(f"the parameters are over {MAX_PARAMS_BYTES // 1024} KiB")
    try:
        params = orjson.loads(raw or b"{}")
    except orjson.JSONDecodeError as error:
        raise TestRefused(f"the parameters are not valid JSON: {error}") from None
    if not isinstance(params, dict):
        raise TestRefused("the parameters must be a JSON object (the action's parameters, as in a route)")
    if _depth(params) > MAX_DEPTH:
        raise TestRefused(f"the parameters nest deeper than {MAX_DEPTH} levels")
    return params


def synthetic_event(event_type: str, sent_by: str, email: str | None = None,
               moment: datetime | None = None) -> dict[str, Any]:
    """A valid canonical event that says it is a test, from whom; its id is new each time."""
    if event_type not in EVENT_TYPES:
        raise TestRefused(f"the event type must be one of {', '.join(EVENT_TYPES)}")
    marker = uuid.uuid4().hex[:12]
    draft = EventDraft(
        type=event_type, vendor_event_id=f"test-{marker}", time=moment or datetime.now(timezone.utc),
        link=Link(system="cxhub", id=f"test-{marker}", type="test"),
        customer=Customer(email=email or None, name="cxhub test"),
        text=f"This is a test delivery sent from the cxhub console by {sent_by}. Nothing happened in any system.",
        attributes={"cxhub_test": "true", "sent_by": sent_by},
    )
    try:
        event = build_event(TEST_SOURCE, draft)
        validate_event(event)
    except InvalidEvent as error:
        raise TestRefused(f"the test event is not valid: {error}") from None
    return event


def send_test(hub: Hub, *, connection: str, action: str, event_type: str, params: Mapping[str, Any],
              sent_by: str, email: str | None = None) -> TestSent:
    """Store a test event with one delivery of `action` on `connection`, and queue it; raise TestRefused."""
    actions = actions_of(hub, connection)
    if connection not in hub.config.connections:
        raise TestRefused(f"there is no connection {connection!r}")
    if action not in actions:
        raise TestRefused(f"connection {connection!r} has no action {action!r} "
                          f"(it has: {', '.join(sorted(actions)) or 'none'})")
    event = synthetic_event(event_type, sent_by, email)
    try:
        render_action(params, event, actions[action])  # what the worker will do: refuse now, store nothing
    except ActionParamsProblem as error:
        raise TestRefused(f"the parameters do not render for this action: {error.message}") from None
    delivery = NewDelivery(id=str(uuid.uuid4()), event_id=event["id"], route=TEST_ROUTE, connection=connection,
                           action=action, params=dict(params))
    hub.store.ingest.record([event], [delivery])
    hub.queue.enqueue([delivery])
    log.warning("test delivery %s (event %s) to %s.%s queued by %s", delivery.id, event["id"], connection, action,
                sent_by)
    return TestSent(event["id"], delivery.id)


def _depth(value: Any, level: int = 1) -> int:
    if level > MAX_DEPTH:
        return level
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return max((_depth(child, level + 1) for child in children), default=level)
