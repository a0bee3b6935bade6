"""Action parameters as sandboxed Jinja templates, compiled at config load, rendered per event."""

from __future__ import annotations

from typing import Any, Collection, Mapping

from functools import lru_cache

from jinja2 import StrictUndefined, Template, TemplateError

from hub.plugin.text import full_text_location
from hub.routing.sandbox import BoundedSandbox, render_bounded


class TemplateProblem(Exception):
    """A template failed to compile or to render; `path` is the parameter's key path."""

    def __init__(self, path: tuple[Any, ...], message: str) -> None:
        super().__init__(f"{_dotted(path)}: {message}")
        self.path = path
        self.message = message


def _dotted(path: tuple[Any, ...]) -> str:
    return "params" + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path)


def _finalize(value: Any) -> Any:
    return "" if value is None else value


ENVIRONMENTS = {  # by whether the parameter is HTML, whose templates escape what they insert
    html: BoundedSandbox(undefined=StrictUndefined, finalize=_finalize, autoescape=html, keep_trailing_newline=True)
    for html in (False, True)
}


def compile_params(params: Any, path: tuple[Any, ...] = (), *, html_params: Collection[str] = (),
                   html: bool = False) -> Any:
    """Compile every string in `params` (recursively); literal strings cost nothing to render.

    The top-level parameters named in `html_params` (the action's `ActionInfo.html_params`)
    compile with autoescaping, so a review holding `<script>` lands in an email as text.
    """
    if isinstance(params, Mapping):
        return {key: compile_params(value, path + (key,), html=html or (not path and key in html_params))
                for key, value in params.items()}
    if isinstance(params, list):
        return [compile_params(item, path + (position,), html=html) for position, item in enumerate(params)]
    if isinstance(params, str) and ("{{" in params or "{%" in params):
        return _compile(params, path, html)
    return params


@lru_cache(maxsize=1024)
def _compiled(source: str, html: bool) -> Template:
    return ENVIRONMENTS[html].from_string(source)


def _compile(source: str, path: tuple[Any, ...], html: bool) -> Template:
    try:
        return _compiled(source, html)
    except TemplateError as error:
        raise TemplateProblem(path, f"template does not compile: {error}") from None


DIGEST_TYPE = "cxhub.digest"  # the `type` of what a digest's delivery renders with (hub.noise.digest)


def digest_subject(digest_id: str, events: list[Mapping[str, Any]], count: int, route: str, start: str,
                   end: str) -> dict[str, Any]:
    """What a digest's parameters render with, shaped like an event (`id`, `type`, `time`, `data`) for the action.

    `digest` holds `count`, `events` (those listed), `more` (count less those listed), `route`
    and `window` (`start`, `end`, ISO 8601).
    """
    digest = {"count": count, "events": events, "more": count - len(events), "route": route,
              "window": {"start": start, "end": end}}
    return {"id": digest_id, "type": DIGEST_TYPE, "time": end, "data": {}, "digest": digest}


def digest_of_one(event: Mapping[str, Any], route: str) -> dict[str, Any]:
    """A digest holding `event` alone: how a shadow route and `routes test` show what a digest action renders."""
    moment = str(event.get("time", ""))
    return digest_subject(str(event.get("id", "")), [dict(event)], 1, route, moment, moment)


def template_names(event: Mapping[str, Any], origin: Mapping[str, Any] | None = None,
                   first: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The names a template sees: `event`, `data` (and `origin`, `first`, given them) for an event;
    only `digest` for a digest."""
    if event.get("type") == DIGEST_TYPE and "digest" in event:
        return {"digest": event["digest"]}
    names: dict[str, Any] = {"event": event, "data": event.get("data", {})}
    if origin is not None:
        names["origin"] = origin
    if first is not None:
        names["first"] = first
    return names


def render_params(params: Any, event: Mapping[str, Any], path: tuple[Any, ...] = (),
                  origin: Mapping[str, Any] | None = None, first: Mapping[str, Any] | None = None) -> Any:
    """Render compiled params against a CloudEvent; `event` and `data` are the template's names.

    With `origin` (the event this one follows up, see hub.routing.origins) templates also see
    `origin`; without one, a template naming it fails as any undefined name does. `first` is
    the same for an `otherwise` of an action with `once_per`: the delivery that holds the key
    (hub/delivery/once.py). A digest (hub.noise.digest) is rendered with `digest` alone
    (`template_names`).
    """
    if isinstance(params, Mapping):
        return {key: render_params(value, event, path + (key,), origin, first) for key, value in params.items()}
    if isinstance(params, list):
        return [render_params(item, event, path + (position,), origin, first)
                for position, item in enumerate(params)]
    if isinstance(params, Template):
        try:
            return render_bounded(params.generate(**template_names(event, origin, first)),
                                  full_text_at=full_text_location(event))
        except Exception as error:  # data-dependent errors too (TypeError, ZeroDivisionError, OverflowError)
            raise TemplateProblem(path, f"{type(error).__name__}: {error}") from None
    return params
