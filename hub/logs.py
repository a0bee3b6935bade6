"""Keeps secret values out of every log line, whatever code writes them.

Each app has its own filter, holding only its own config's secrets, kept in
`app.extensions["cxhub.redact"]`. The handlers it sits on are the process's, so with two apps
in one process (tests, a CLI command beside a server) a line passes every live app's filter and
no secret of either is printed; when an app is garbage collected its filter, and the secrets
it holds, leave the handlers.
"""

from __future__ import annotations

import logging
import weakref
from typing import Any, Iterable

from flask import Flask

from hub.config.model import HubConfig
from hub.plugin.settings import Secret

MASK = "********"
EXTENSION = "cxhub.redact"
SHORTEST = 4  # shorter values would mask ordinary words


class RedactingFilter(logging.Filter):
    """Replaces known secret values in a record's final message with a mask."""

    def __init__(self, values: Iterable[str | None]) -> None:
        super().__init__("cxhub-redact")
        # Longest first, so a secret that contains another is masked whole.
        self.values = sorted({value for value in values if value and len(value) >= SHORTEST}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.values:
            return True
        message = record.getMessage()
        masked = self.mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            # A traceback's text (an error message quoting a URL, say) is masked too: format it now.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        return True

    def mask(self, text: str) -> str:
        for value in self.values:
            text = text.replace(value, MASK)
        return text


def _secrets_in(value: Any) -> Iterable[str]:
    if isinstance(value, Secret):
        yield value.reveal()
    elif isinstance(value, dict):
        for item in value.values():
            yield from _secrets_in(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _secrets_in(item)


def redact_secrets(app: Flask, config: HubConfig, *extra: str | None) -> RedactingFilter:
    """Give `app` a filter for its config's secrets (and `extra` ones) on every root handler there is now."""
    settings = [source.settings for source in config.sources.values()]
    settings += [connection.settings for connection in config.connections.values()]
    values = [value for entry in settings for value in _secrets_in(dict(entry))]
    values += [token.reveal() for token in config.source_tokens.values()]
    if config.console is not None:
        values.append(config.console.secret_key.reveal())
    values += [secret.reveal() for connection in config.connections.values() if connection.oauth is not None
               for secret in (connection.oauth.client_secret, connection.oauth.refresh_token,
                              connection.oauth.private_key) if secret is not None]
    redactor = RedactingFilter([*values, *extra])
    app.extensions[EXTENSION] = redactor
    handlers = list(logging.getLogger().handlers)
    for handler in handlers:
        handler.addFilter(redactor)
    weakref.finalize(app, _detach, redactor, handlers)
    return redactor


def _detach(redactor: RedactingFilter, handlers: list[logging.Handler]) -> None:
    for handler in handlers:
        handler.removeFilter(redactor)
