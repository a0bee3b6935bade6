"""A Jinja sandbox with bounded work: route templates cannot hang a worker or exhaust its memory.

Jinja's sandbox already stops access to internals. On top of it this bounds the work a
template may do: `range` stops at 1,000 items, `*` and `**` refuse results that would be huge,
each render may make at most 10,000 calls, and rendering stops past the time limit. Past the
output limit rendering stops too, and the output is cut there with a marker instead of failing:
what reaches the limit is most often a customer's long text (`{{ data.text }}` of a 1 MB review),
which the destination's own limit would cut further anyway.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from typing import Any, Iterator

from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from hub.plugin.text import fit_text

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


def render_bounded(chunks: Iterator[str], *, full_text_at: str | None = None) -> str:
    """Join a template's output as it is generated; past the size limit, cut it with a marker naming `full_text_at`.

    Raises SecurityError past the time limit.
    """
    token = _calls_left.set(MAX_CALLS)
    started, size, parts = time.monotonic(), 0, []
    try:
        for chunk in chunks:
            size += len(chunk)
            parts.append(chunk)
            if size > MAX_RENDERED_CHARS:
                break  # the rest is never generated
            if time.monotonic() - started > MAX_RENDER_SECONDS:
                raise SecurityError(f"rendering took over {MAX_RENDER_SECONDS:.0f}s")
    finally:
        _calls_left.reset(token)
    output = "".join(parts)
    return fit_text(output, MAX_RENDERED_CHARS, full_text_at=full_text_at) if size > MAX_RENDERED_CHARS else output
