"""A Jinja sandbox with bounded work: route templates cannot hang a worker or exhaust its memory.

Jinja's sandbox already stops access to internals. On top of it this bounds the work a
template may do: `range` stops at 1,000 items, `*` and `**` refuse results that would be huge,
each render may make at most 10,000 calls, and rendering stops past the output or time limit.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from typing import Any, Iterator

from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

MAX_RANGE = 1_000
MAX_CALLS = 10_000
MAX_POWER_BITS = 256
MAX_RENDERED_CHARS = 64 * 1024
MAX_RENDER_SECONDS = 1.0

_calls_left: ContextVar[int] = ContextVar("cxhub_template_calls_left", default=MAX_CALLS)


def bounded_range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise SecurityError(f"range() of {len(numbers)} items is over the {MAX_RANGE} limit")
    return numbers


def _size(value: Any) -> int | None:
    return len(value) if isinstance(value, (str, list, tuple)) else None


class BoundedSandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.globals["range"] = bounded_range

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(left, int) and isinstance(right, int):
            if right > 0 and abs(left) > 1 and right * max(1, abs(left).bit_length()) > MAX_POWER_BITS:
                raise SecurityError(f"{left} ** {right} is too large a number")
        if operator == "*":
            for sequence, count in ((left, right), (right, left)):
                size = _size(sequence)
                if size is not None and isinstance(count, int) and size * count > MAX_RENDERED_CHARS:
                    raise SecurityError(f"repeating {size} items {count} times is over the output limit")
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 (Jinja's names)
        left = _calls_left.get() - 1
        if left < 0:
            raise SecurityError(f"the template made more than {MAX_CALLS} calls")
        _calls_left.set(left)
        return super().call(__context, __obj, *args, **kwargs)


def render_bounded(chunks: Iterator[str]) -> str:
    """Join a template's output as it is generated, stopping at the size or time limit."""
    token = _calls_left.set(MAX_CALLS)
    started, size, parts = time.monotonic(), 0, []
    try:
        for chunk in chunks:
            size += len(chunk)
            if size > MAX_RENDERED_CHARS:
                raise SecurityError(f"output is over the {MAX_RENDERED_CHARS}-character limit")
            if time.monotonic() - started > MAX_RENDER_SECONDS:
                raise SecurityError(f"rendering took over {MAX_RENDER_SECONDS:.0f}s")
            parts.append(chunk)
    finally:
        _calls_left.reset(token)
    return "".join(parts)
