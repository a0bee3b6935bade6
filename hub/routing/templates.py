"""Action parameters as sandboxed Jinja templates, compiled at config load, rendered per event."""

from __future__ import annotations

from typing import Any, Mapping

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from hub.plugin.settings import EnvValue

MAX_RENDERED_CHARS = 64 * 1024


class TemplateProblem(Exception):
    """A template failed to compile or to render; the message says where and why."""


def _finalize(value: Any) -> Any:
    return "" if value is None else value


ENVIRONMENT = ImmutableSandboxedEnvironment(
    undefined=StrictUndefined, finalize=_finalize, autoescape=False, keep_trailing_newline=True
)


def compile_params(params: Any, path: str = "params") -> Any:
    """Compile every string in `params` (recursively); literal strings cost nothing to render."""
    if isinstance(params, EnvValue):
        return params.value
    if isinstance(params, Mapping):
        return {key: compile_params(value, f"{path}.{key}") for key, value in params.items()}
    if isinstance(params, list):
        return [compile_params(item, f"{path}[{position}]") for position, item in enumerate(params)]
    if isinstance(params, str) and ("{{" in params or "{%" in params):
        try:
            return ENVIRONMENT.from_string(params)
        except TemplateError as error:
            raise TemplateProblem(f"{path}: template does not compile: {error}") from None
    return params


def render_params(params: Any, event: Mapping[str, Any], path: str = "params") -> Any:
    """Render compiled params against a CloudEvent; `event` and `data` are the template's names."""
    if isinstance(params, Mapping):
        return {key: render_params(value, event, f"{path}.{key}") for key, value in params.items()}
    if isinstance(params, list):
        return [render_params(item, event, f"{path}[{position}]") for position, item in enumerate(params)]
    if hasattr(params, "render"):
        try:
            text = params.render(event=event, data=event.get("data", {}))
        except TemplateError as error:
            raise TemplateProblem(f"{path}: {type(error).__name__}: {error}") from None
        if len(text) > MAX_RENDERED_CHARS:
            raise TemplateProblem(f"{path}: rendered to {len(text)} characters, over the {MAX_RENDERED_CHARS} limit")
        return text
    return params
