"""Annotators: plugins that derive fields of `data` from an event of any source (`hub.annotators`).

They run in take-in (`route_events`), after an event validated and before it is routed and
stored, wherever it came from: a webhook, a poll, the intake log or an enrichment. With
`accept_into: redis` that is behind the 202, in the intake consumer; with `database`, inside
the request. An annotator's failure costs the event only its annotation: whatever it raises,
or returns that the schema refuses, is logged and the event is routed and stored without it,
so an annotator can never lose an event or give the vendor a 5xx.
"""

from __future__ import annotations

import logging
from typing import Any, Sequence

from hub.events.canonical import InvalidEvent, validate_annotation
from hub.pluginhost import PluginHost

log = logging.getLogger("cxhub.annotate")
HOOK = "cxhub_annotate_event"


def annotate(plugins: PluginHost, annotators: Sequence[str], events: Sequence[dict[str, Any]]) -> None:
    """Add each annotator's fields to each event's `data`, in place; a key already there is kept."""
    if not annotators:
        return
    for event in events:
        for name in annotators:
            for key, value in _annotations(plugins, name, event).items():
                event["data"].setdefault(key, value)


def _annotations(plugins: PluginHost, name: str, event: dict[str, Any]) -> dict[str, Any]:
    plugin = plugins.get(name)
    if plugin is None:  # the config loader checked it; a plugin host built otherwise may lack it
        return {}
    try:
        found = plugin.call(HOOK, event=event)
    except Exception:
        log.exception("annotator %s failed on event %s; it goes on without the annotation", name, event.get("id"))
        return {}
    if found is None:
        return {}
    if not isinstance(found, dict):
        log.error("annotator %s returned %s, not a dict; event %s goes on without it", name,
                  type(found).__name__, event.get("id"))
        return {}
    kept = {}
    for key, value in found.items():
        try:
            validate_annotation(str(key), value)
        except InvalidEvent as error:
            log.error("annotator %s: %s; event %s goes on without it", name, error, event.get("id"))
            continue
        kept[str(key)] = value
    return kept
