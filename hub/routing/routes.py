"""A route and its actions: what the config loader builds and the router matches events against.

They live with the router, below the config package that builds them, so routing never has to
import the config.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from hub.routing.conditions import Condition


@dataclass(frozen=True)
class ActionSpec:
    """One action of a route. `params` holds the raw templates, rendered per event in the worker."""

    connection: str
    action: str
    params: Mapping[str, Any] = field(default_factory=dict)


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
