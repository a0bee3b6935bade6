"""Keeps secret values out of every log line, whatever code writes them."""

from __future__ import annotations

import logging
from typing import Any, Iterable

from hub.config.model import HubConfig
from hub.plugin.settings import Secret

MASK = "********"


class RedactingFilter(logging.Filter):
    """Replaces known secret values in a record's final message with a mask."""

    def __init__(self) -> None:
        super().__init__("cxhub-redact")
        self.values: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.values:
            return True
        message = record.getMessage()
        masked = message
        for value in self.values:
            masked = masked.replace(value, MASK)
        if masked != message:
            record.msg, record.args = masked, None
        return True


_filter = RedactingFilter()


def _secrets_in(value: Any) -> Iterable[str]:
    if isinstance(value, Secret):
        yield value.reveal()
    elif isinstance(value, dict):
        for item in value.values():
            yield from _secrets_in(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _secrets_in(item)


def redact_secrets(config: HubConfig, *extra: str | None) -> None:
    """Register the config's secrets (and `extra` ones) with a filter on every root handler (added once)."""
    values = [value for entry in [*config.sources.values(), *config.connections.values()]
              for value in _secrets_in(dict(entry.settings))]
    _filter.values.update(value for value in [*values, *extra] if value and len(value) >= 4)
    root = logging.getLogger()
    for handler in root.handlers:
        if _filter not in handler.filters:
            handler.addFilter(_filter)
