"""Why a route matched an event or not: each test of its condition with the value it saw.

For the console's event page and the routes dry-run; the router itself only asks `matches`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from hub.routing.conditions import MISSING, All, Any_, Condition, FieldTest, Not, lookup


@dataclass(frozen=True)
class Step:
    """One line of an explanation, `depth` levels deep in all/any/not."""

    depth: int
    text: str
    passed: bool


def explain(condition: Condition, event: Mapping[str, Any], depth: int = 0) -> list[Step]:
    """The condition's tests, outermost first, each with whether it passed for `event`."""
    passed = condition.matches(event)
    if isinstance(condition, FieldTest):
        actual = lookup(event, condition.field)
        seen = "missing" if actual is MISSING else repr(actual)
        if len(seen) > 120:
            seen = seen[:117] + "..."
        return [Step(depth, f"{condition.field} {condition.op} {condition.value!r} (the event has {seen})", passed)]
    if isinstance(condition, All):
        if not condition.conditions:
            return [Step(depth, "every event (no condition)", True)]
        head = Step(depth, "all of:", passed)
        return [head, *(step for part in condition.conditions for step in explain(part, event, depth + 1))]
    if isinstance(condition, Any_):
        head = Step(depth, "any of:", passed)
        return [head, *(step for part in condition.conditions for step in explain(part, event, depth + 1))]
    if isinstance(condition, Not):
        return [Step(depth, "not:", passed), *explain(condition.condition, event, depth + 1)]
    return [Step(depth, type(condition).__name__, passed)]
