"""A deliberately incomplete hook specification: its last hook is neither documented nor tested."""

from __future__ import annotations

from hub.plugin.hookspecs import *  # noqa: F401,F403  (every real hook...)
from hub.plugin.hookspecs import hookspec


@hookspec
def cxhub_brand_new_hook(event: dict) -> None:
    """...plus one nobody documented."""
