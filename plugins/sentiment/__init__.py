"""Sentiment: `data.sentiment` (score, label, method) for every event with text, computed offline by VADER.

An annotator, not a source or a connection: turn it on with `hub.annotators: [sentiment]`.
"""

from __future__ import annotations

from typing import Any, Mapping

from hub.plugin import PluginInfo, hookimpl
from plugins.sentiment import analysis

__version__ = "0.1.0"


@hookimpl
def cxhub_plugin_info() -> PluginInfo:
    return PluginInfo(name="sentiment", version=__version__)


@hookimpl
def cxhub_annotate_event(event: Mapping[str, Any]) -> dict[str, Any] | None:
    return analysis.annotate(event)
