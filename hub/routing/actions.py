"""An action's parameters for one event: the route's templates rendered, then checked by the action's schema.

The delivery worker does this before it calls the plugin; a shadow route and `cxhub routes test`
do the same to show what would be sent, so all three agree on what an action receives.
"""

from __future__ import annotations

from typing import Any, Mapping

from marshmallow import ValidationError

from hub.plugin.types import ActionInfo
from hub.routing.templates import TemplateProblem, compile_params, render_params


class ActionParamsProblem(Exception):
    """The parameters did not render, or the action's schema refused them: `message` says which and why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def render_action(params: Mapping[str, Any], event: Mapping[str, Any], action: ActionInfo,
                  origin: Mapping[str, Any] | None = None, first: Mapping[str, Any] | None = None) -> Any:
    """The parameters `action` would be called with for `event` (and its `origin`, hub.routing.origins;
    `first` for an `otherwise`, hub.delivery.once); raise ActionParamsProblem."""
    try:
        rendered = render_params(compile_params(params, html_params=action.html_params), event, origin=origin,
                                 first=first)
    except TemplateProblem as error:
        raise ActionParamsProblem(str(error)) from None
    if action.params is None:
        return rendered
    try:
        return action.params().load(rendered)
    except ValidationError as error:
        raise ActionParamsProblem(f"invalid parameters after rendering: {error.messages}") from None
