"""Route conditions: field tests combined with all / any / not, compiled once from YAML.

A field test names a dotted path into the CloudEvent (`data.score.band`) and exactly
one operator: equals, not_equals, gt, gte, lt, lte, in, contains, regex or exists.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Protocol

from marshmallow import ValidationError

from hub.plugin.mapping import dig
from hub.plugin.settings import unwrap_env
from hub.routing import regex

MISSING = object()


class Condition(Protocol):
    def matches(self, event: Mapping[str, Any]) -> bool: ...


def lookup(event: Mapping[str, Any], path: str) -> Any:
    """The value at dotted `path` in `event`, or MISSING."""
    return dig(event, path, MISSING)


def _ordered(compare: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    """Comparisons only between two numbers or two strings; anything else does not match."""

    def test(actual: Any, expected: Any) -> bool:
        numbers = all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (actual, expected))
        strings = isinstance(actual, str) and isinstance(expected, str)
        return (numbers or strings) and compare(actual, expected)

    return test


def _equals(actual: Any, expected: Any) -> bool:
    """Equality where true is not 1 (Python says it is; YAML authors would not expect it)."""
    return isinstance(actual, bool) == isinstance(expected, bool) and actual == expected


def _contains(actual: Any, expected: Any) -> bool:
    if isinstance(actual, str):
        return isinstance(expected, str) and expected in actual
    return isinstance(actual, list) and any(_equals(item, expected) for item in actual)


OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "equals": _equals,
    "not_equals": lambda actual, expected: not _equals(actual, expected),
    "gt": _ordered(operator.gt),
    "gte": _ordered(operator.ge),
    "lt": _ordered(operator.lt),
    "lte": _ordered(operator.le),
    "in": lambda actual, expected: any(_equals(actual, item) for item in expected),
    "contains": _contains,
    "regex": lambda actual, pattern: isinstance(actual, str) and regex.search(pattern, actual),
}


@dataclass(frozen=True)
class FieldTest:
    field: str
    op: str
    value: Any

    def matches(self, event: Mapping[str, Any]) -> bool:
        actual = lookup(event, self.field)
        if self.op == "exists":
            return (actual is not MISSING and actual is not None) == self.value
        if actual is MISSING:
            return False
        return OPERATORS[self.op](actual, self.value)


@dataclass(frozen=True)
class All:
    conditions: tuple[Condition, ...]

    def matches(self, event: Mapping[str, Any]) -> bool:
        return all(condition.matches(event) for condition in self.conditions)


@dataclass(frozen=True)
class Any_:
    conditions: tuple[Condition, ...]

    def matches(self, event: Mapping[str, Any]) -> bool:
        return any(condition.matches(event) for condition in self.conditions)


@dataclass(frozen=True)
class Not:
    condition: Condition

    def matches(self, event: Mapping[str, Any]) -> bool:
        return not self.condition.matches(event)


MATCH_ALL: Condition = All(())


def compile_condition(raw: Any) -> Condition:
    """Build a Condition from its YAML form; raise ValidationError with a keyed message."""
    if not isinstance(raw, Mapping):
        raise ValidationError(f"a condition must be a mapping, got {type(raw).__name__}")
    if "all" in raw or "any" in raw:
        key = "all" if "all" in raw else "any"
        _only(raw, key)
        items = raw[key]
        if not isinstance(items, list) or not items:
            raise ValidationError({key: [f"'{key}' takes a non-empty list of conditions"]})
        compiled = tuple(_nested(item, (key, position)) for position, item in enumerate(items))
        return All(compiled) if key == "all" else Any_(compiled)
    if "not" in raw:
        _only(raw, "not")
        return Not(_nested(raw["not"], ("not",)))
    return _field_test(raw)


def _nested(raw: Any, path: tuple[Any, ...]) -> Condition:
    try:
        return compile_condition(raw)
    except ValidationError as error:
        messages: Any = error.messages
        for key in reversed(path):
            messages = {key: messages}
        raise ValidationError(messages) from None


def _only(raw: Mapping[str, Any], key: str) -> None:
    extra = sorted(set(raw) - {key})
    if extra:
        raise ValidationError(f"'{key}' cannot be combined with {extra} in the same mapping; nest them")


def _field_test(raw: Mapping[str, Any]) -> FieldTest:
    field = raw.get("field")
    if not isinstance(field, str) or not field:
        raise ValidationError({"field": ["a field test needs 'field: <dotted path>', e.g. data.score.band"]})
    ops = [key for key in raw if key != "field"]
    known = sorted([*OPERATORS, "exists"])
    if len(ops) != 1 or ops[0] not in known:
        raise ValidationError(f"a field test needs exactly one operator out of {', '.join(known)}; got {ops}")
    op = ops[0]
    value = unwrap_env(raw[op])
    if op == "regex":
        if not isinstance(value, str):
            raise ValidationError({op: ["regex takes a string"]})
        try:
            value = regex.compile_pattern(value)
        except regex.UnsupportedPattern as error:
            raise ValidationError({op: [str(error)]}) from None
    elif op == "in" and not isinstance(value, list):
        raise ValidationError({op: ["'in' takes a list of values"]})
    elif op == "exists" and not isinstance(value, bool):
        raise ValidationError({op: ["'exists' takes true or false"]})
    return FieldTest(field, op, value)

