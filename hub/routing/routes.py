"""A route and its actions: what the config loader builds and the router matches events against.

They live with the router, below the config package that builds them, so routing never has to
import the config.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any, Mapping
from zoneinfo import ZoneInfo

from hub.routing.conditions import Condition
from hub.timeofday import next_time_after

DEFAULT_DIGEST_ITEMS = 50


@dataclass(frozen=True)
class DigestSpec:
    """`digest:` on an action: the events it matches are collected and sent as one message per window.

    The first event collected opens a window; it closes `every_seconds` later, or at the first of
    the daily times `at` (in the connection's timezone `zone`) after it. Then one delivery goes
    out with every event collected so far, `max_items` of them listed.
    """

    every_seconds: float | None = None
    at: tuple[time, ...] = ()
    zone: ZoneInfo = ZoneInfo("UTC")
    max_items: int = DEFAULT_DIGEST_ITEMS

    def closes(self, opened: datetime) -> datetime:
        """When the window opened by an event collected at `opened` closes."""
        if self.every_seconds is not None:
            return opened + timedelta(seconds=self.every_seconds)
        return next_time_after(self.at, self.zone, opened)

    def describe(self) -> str:
        if self.every_seconds is not None:
            return f"every {self.every_seconds:g}s"
        return "at " + ", ".join(f"{clock:%H:%M}" for clock in self.at) + f" ({self.zone.key})"


@dataclass(frozen=True)
class ActionSpec:
    """One action of a route. `params` holds the raw templates, rendered per event in the worker.

    With `digest` the action runs once per window for the events collected (hub.noise.digest).
    """

    connection: str
    action: str
    params: Mapping[str, Any] = field(default_factory=dict)
    digest: DigestSpec | None = None


@dataclass(frozen=True)
class Route:
    """A route; with `run_on_updates` it runs for every matching event, not once per object.

    With `shadow` its deliveries are recorded with their rendered parameters and never sent.
    With `max_per_hour` at most that many matching events in any rolling hour are delivered at
    once; the deliveries of the rest are held for review (hub.noise.budget).
    """

    name: str
    when: Condition
    actions: tuple[ActionSpec, ...]
    run_on_updates: bool = False
    shadow: bool = False
    max_per_hour: int | None = None
