"""`cxhub routes test`: run stored events through a config's routes, without sending or storing anything.

Events are read from the store a page at a time, oldest first (`Reads.stream_received_since`),
at most `limit` of them: the newest `limit` of the window when it holds more. Each event is
matched against every route of one config, or of two (the running one and a candidate) to
show which events would start or stop matching. Nothing is written: no delivery, no job.

A route runs once per object, as at take-in (`hub.routing.objects`): for an update, a route
without `run_on_updates` counts as matching only if it matched no earlier event about the same
object. Earlier events inside the window are remembered while scanning; for an update whose
earlier events are older than the window, they are read from the store, one query per page.

Annotations (`hub.annotators`) that an event lacks because it was stored before they were on
are computed in memory, so a route on `data.sentiment` can be tried on last month's reviews.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Iterator, Mapping, Sequence

import orjson

from hub.config.model import HubConfig, Route
from hub.events.canonical import ObjectKey, object_key
from hub.ingest.annotate import annotate
from hub.pluginhost import PluginHost
from hub.routing.actions import ActionParamsProblem, render_action
from hub.routing.origins import routing_view, stamped_context
from hub.routing.templates import digest_of_one
from hub.store import EventRow, Store

MAX_EVENTS = 1_000_000  # scanned at most, whatever --limit says
MAX_LISTED = 20  # event ids listed per route for "start matching" and "stop matching"
PAGE = 500


@dataclass
class Sample:
    """One matching event and what each action of the route would be called with."""

    event: dict[str, Any]
    actions: list[dict[str, Any]]


@dataclass
class Change:
    """Events that start (or stop) matching a route: how many, and the first few ids."""

    count: int = 0
    events: list[str] = field(default_factory=list)

    def add(self, event_id: str) -> None:
        self.count += 1
        if len(self.events) < MAX_LISTED:
            self.events.append(event_id)


@dataclass
class RouteOutcome:
    name: str
    in_running: bool
    in_candidate: bool
    shadow: bool
    running: int = 0  # events the running config's route matches
    candidate: int = 0  # events the candidate's route matches
    samples: list[Sample] = field(default_factory=list)
    start: Change = field(default_factory=Change)
    stop: Change = field(default_factory=Change)


@dataclass
class Outcome:
    since: datetime
    in_window: int  # events received in the window
    scanned: int
    limit: int
    first: datetime | None  # when the first and last events scanned were received
    last: datetime | None
    compared: bool
    routes: list[RouteOutcome]


class Simulated:
    """One config's routes over a stream of events, with the once-per-object rule of take-in."""

    def __init__(self, config: HubConfig, plugins: PluginHost, routes: Sequence[Route]) -> None:
        self.config, self.plugins, self.routes = config, plugins, routes
        self.by_name = {route.name: route for route in routes}
        self.ran: dict[ObjectKey, set[str]] = defaultdict(set)  # the routes that matched earlier events

    def prepare(self, event: dict[str, Any]) -> dict[str, Any]:
        """The event as this config would route it: with the annotations it lacks."""
        if not self.config.hub.annotators:
            return event
        copy = {**event, "data": dict(event["data"])}
        annotate(self.plugins, self.config.hub.annotators, [copy])
        return copy

    def learn(self, earlier: Iterable[Mapping[str, Any]]) -> None:
        """Take note of which routes earlier events about an object (older than the window) matched."""
        for event in earlier:
            event = self.prepare(dict(event))
            self.ran[object_key(event)].update(route.name for route in self.routes if route.when.matches(event))

    def matching(self, event: Mapping[str, Any]) -> set[str]:
        """The routes that would run for `event` (after the earlier events of the stream)."""
        key = object_key(event)
        before = self.ran.get(key, set())
        matched = {route.name for route in self.routes if route.when.matches(event)}
        if matched:
            self.ran[key].update(matched)
        return {name for name in matched if self.by_name[name].run_on_updates or name not in before}


def rehearse(store: Store, plugins: PluginHost, running: HubConfig | None, candidate: HubConfig | None, *,
             since: datetime, route: str | None = None, limit: int = 10_000, examples: int = 3) -> Outcome:
    """Match the window's events against one config (`candidate` or `running`) or compare the two."""
    if running is None and candidate is None:
        raise ValueError("give a config to test")
    if not 1 <= limit <= MAX_EVENTS:
        raise ValueError(f"limit must be between 1 and {MAX_EVENTS:,}, got {limit}")
    configs = [config for config in (running, candidate) if config is not None]
    names = list(dict.fromkeys(item.name for config in configs for item in config.routes))
    if route is not None:
        if route not in names:
            raise LookupError(f"no route {route!r} (routes: {', '.join(names) or 'none'})")
        names = [route]
    tested = candidate if candidate is not None else running
    assert tested is not None
    simulations = {label: Simulated(config, plugins, [item for item in config.routes if item.name in names])
                   for label, config in (("running", running), ("candidate", candidate)) if config is not None}
    outcomes = {name: _outcome(name, running, candidate) for name in names}
    in_window = store.reads.count_received_since(since)
    start = since
    if in_window > limit:  # the newest `limit`, read oldest first
        start = store.reads.newest_received_at(since, limit) or since
    scanned, first, last = 0, None, None
    for page in _pages(store.reads.stream_received_since(start, limit=limit, batch=PAGE)):
        bodies = [orjson.loads(row.body) for row in page]
        for simulation in simulations.values():
            _learn_before_window(store, simulation, bodies, start)
        for row, body in zip(page, bodies):
            scanned += 1
            first, last = first or row.received_at, row.received_at
            origin = stamped_context(store, body)  # a follow-up is matched with its origin, as at take-in
            matched = {label: simulation.matching(routing_view(simulation.prepare(body), origin))
                       for label, simulation in simulations.items()}
            for name in names:
                outcome = outcomes[name]
                was = name in matched.get("running", set())
                now_ = name in matched.get("candidate", set())
                outcome.running += was
                outcome.candidate += now_
                if len(simulations) == 2 and was != now_:
                    (outcome.start if now_ else outcome.stop).add(row.id)
                label = "candidate" if candidate is not None else "running"
                if name in matched[label] and len(outcome.samples) < examples:
                    outcome.samples.append(_sample(plugins, tested, name, simulations[label].prepare(body), origin))
    return Outcome(since, in_window, scanned, limit, first, last, len(simulations) == 2,
                   [outcomes[name] for name in names])


def _pages(rows: Iterator[EventRow]) -> Iterator[list[EventRow]]:
    page: list[EventRow] = []
    for row in rows:
        page.append(row)
        if len(page) == PAGE:
            yield page
            page = []
    if page:
        yield page


def _learn_before_window(store: Store, simulation: Simulated, bodies: Sequence[dict[str, Any]],
                         start: datetime) -> None:
    """For updates about objects not seen yet, read the earlier events the window does not hold."""
    unseen: dict[str, set[str]] = defaultdict(set)
    for body in bodies:
        if body["data"].get("update") and object_key(body) not in simulation.ran:
            source, _, subject = object_key(body)
            unseen[source].add(subject)
    if unseen:
        earlier = store.reads.events_about_before(unseen, start)
        simulation.learn(orjson.loads(row.body) for row in earlier)


def _outcome(name: str, running: HubConfig | None, candidate: HubConfig | None) -> RouteOutcome:
    def find(config: HubConfig | None) -> Route | None:
        return next((item for item in config.routes if item.name == name), None) if config else None

    old, new = find(running), find(candidate)
    shown = new if candidate is not None else old
    return RouteOutcome(name, old is not None, new is not None, bool(shown and shown.shadow))


def _sample(plugins: PluginHost, config: HubConfig, name: str, event: dict[str, Any],
            origin: Mapping[str, Any] | None = None) -> Sample:
    """What each action of the route would be called with for `event` (or why it could not be)."""
    route = next(item for item in config.routes if item.name == name)
    actions = []
    for spec in route.actions:
        connection = config.connections.get(spec.connection)
        plugin = plugins.get(connection.plugin) if connection else None
        info = plugin.info.actions.get(spec.action) if plugin else None
        shown: dict[str, Any] = {"connection": spec.connection, "action": spec.action}
        if info is None:
            shown["error"] = f"no action {spec.connection}.{spec.action}"
        else:
            try:
                subject = digest_of_one(event, route.name) if spec.digest is not None else event
                shown["params"] = render_action(spec.params, subject, info, None if spec.digest is not None else origin)
            except ActionParamsProblem as error:
                shown["error"] = error.message
        actions.append(shown)
    return Sample(event, actions)
