"""Whether an action's parameters are written for a digest: they must speak of `digest`, never of one event.

A digest's parameters are rendered once for many events, with `digest` as their only name
(hub.noise.digest): `{{ data.text }}` would have no event to read and fail at every window,
and parameters that never mention `digest` would post the same text each time. Both are
config errors, found here from the templates' names alone (Jinja's `meta`), without rendering.
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping

from jinja2 import TemplateSyntaxError, meta

from hub.routing.templates import ENVIRONMENTS

Where = tuple[Any, ...]


def _strings(value: Any, path: Where = ()) -> Iterator[tuple[Where, str]]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(item, path + (key,))
    elif isinstance(value, list):
        for position, item in enumerate(value):
            yield from _strings(item, path + (position,))
    elif isinstance(value, str) and ("{{" in value or "{%" in value):
        yield path, value


def digest_template_problems(params: Mapping[str, Any]) -> Iterator[tuple[Where, str]]:
    """(parameter path, message) for each parameter a digest cannot render, and one if none uses `digest`."""
    uses_digest = False
    for path, source in _strings(params):
        try:
            names = meta.find_undeclared_variables(ENVIRONMENTS[False].parse(source))
        except TemplateSyntaxError:
            continue  # reported where templates are compiled
        uses_digest = uses_digest or "digest" in names
        strangers = sorted(names - {"digest"} - set(ENVIRONMENTS[False].globals))
        if strangers:
            yield path, (f"a digest's parameters are rendered once for all its events, with only `digest`: "
                         f"{', '.join(strangers)} is not defined there (loop over digest.events, as in "
                         "{% for e in digest.events %}{{ e.data.text }}{% endfor %})")
    if not uses_digest:
        yield (), ("a digest's parameters never use `digest`, so every digest would say the same: use "
                   "{{ digest.count }} and {% for e in digest.events %}...{% endfor %}")
