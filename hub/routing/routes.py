"""A route and its actions: what the config loader builds and the router matches events against.

They live with the router, below the config package that builds them, so routing never has to
import the config.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from hub.routing.conditions import Condition


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
    """One action of a route. `params` holds the raw templates, rendered per event in the worker."""

    connection: str
    action: str
    params: Mapping[str, Any] = field(default_factory=dict)
    once_per: OncePer | None = None


@dataclass(frozen=True)
class Route:
    """A route; with `run_on_updates` it runs for every matching event, not once per object.

    With `shadow` its deliveries are recorded with their rendered parameters and never sent.
    """

    name: str
    when: Condition
    actions: tuple[ActionSpec, ...]
    run_on_updates: bool = False
    shadow: bool = False
    case: CaseSpec | None = None
