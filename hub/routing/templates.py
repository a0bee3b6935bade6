"""Action parameters as sandboxed Jinja templates, compiled at config load, rendered per event."""

from __future__ import annotations

from typing import Any, Mapping

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


ENVIRONMENT = BoundedSandbox(
    undefined=StrictUndefined, finalize=_finalize, autoescape=False, keep_trailing_newline=True
)


def compile_params(params: Any, path: tuple[Any, ...] = ()) -> Any:
    """Compile every string in `params` (recursively); literal strings cost nothing to render."""
    if isinstance(params, Mapping):
        return {key: compile_params(value, path + (key,)) for key, value in params.items()}
    if isinstance(params, list):
        return [compile_params(item, path + (position,)) for position, item in enumerate(params)]
    if isinstance(params, str) and ("{{" in params or "{%" in params):
        return _compile(params, path)
    return params


@lru_cache(maxsize=1024)
def _compiled(source: str) -> Template:
    return ENVIRONMENT.from_string(source)


def _compile(source: str, path: tuple[Any, ...]) -> Template:
    try:
        return _compiled(source)
    except TemplateError as error:
        raise TemplateProblem(path, f"template does not compile: {error}") from None


def render_params(params: Any, event: Mapping[str, Any], path: tuple[Any, ...] = ()) -> Any:
    """Render compiled params against a CloudEvent; `event` and `data` are the template's names."""
    if isinstance(params, Mapping):
        return {key: render_params(value, event, path + (key,)) for key, value in params.items()}
    if isinstance(params, list):
        return [render_params(item, event, path + (position,)) for position, item in enumerate(params)]
    if isinstance(params, Template):
        try:
            return render_bounded(params.generate(event=event, data=event.get("data", {})),
                                  full_text_at=full_text_location(event))
        except Exception as error:  # data-dependent errors too (TypeError, ZeroDivisionError, OverflowError)
            raise TemplateProblem(path, f"{type(error).__name__}: {error}") from None
    return params
