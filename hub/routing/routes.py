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
class Otherwise:
    """What an action with `once_per` does instead when its key was taken: another action of the connection."""

    action: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OncePer:
    """`once_per`: the action runs at most once per rendered `key` within `within_seconds`.

    A later delivery with the same key runs `otherwise` against what the first one created (its
    templates see `first`), or nothing when there is no `otherwise`. See hub/delivery/once.py.
    """

    key: str
    within_seconds: float
    otherwise: Otherwise | None = None

    def frozen(self) -> dict[str, Any]:
        """What a delivery keeps of it (deliveries.once), so a config change does not alter a routed delivery."""
        otherwise = ({"action": self.otherwise.action, "params": dict(self.otherwise.params)}
                     if self.otherwise else None)
        return {"key": self.key, "within": self.within_seconds, "otherwise": otherwise}


@dataclass(frozen=True)
class CaseSpec:
    """`case:` on a route: each event it runs for opens a case (or joins the customer's open one).

    `owner` is a template (rendered against the event); the SLA durations are in seconds.
    """

    owner: str | None = None
    first_response_seconds: float | None = None
    close_seconds: float | None = None


@dataclass(frozen=True)
class ActionSpec:
    """One action of a route. `params` holds the raw templates, rendered per event in the worker.

    With `digest` the action runs once per window for the events collected (hub.noise.digest).
    """

    connection: str
    action: str
    params: Mapping[str, Any] = field(default_factory=dict)
    digest: DigestSpec | None = None
    once_per: OncePer | None = None


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
    case: CaseSpec | None = None
