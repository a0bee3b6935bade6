"""Options and helpers shared by the `cxhub` commands."""

from __future__ import annotations

import functools
import logging
import os
import re
from typing import Any, Callable, Iterable, Sequence

import click
import orjson
from dotenv import load_dotenv
from flask import Flask

from hub.app import create_app
from hub.config import ConfigError
from hub.pluginhost import PluginError
from hub.runtime import EXTENSION, Hub

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# What a terminal acts on instead of showing, in text the hub stored from vendors and customers:
# C0 and C1 controls (ESC starts colour changes, cursor moves and title changes; CR overwrites
# the line; U+009B is an 8-bit CSI), DEL, and the bidirectional overrides and isolates that make
# text read differently from what it is (U+202E). The JSON encoder already escapes C0 controls.
_ACTED_ON_BEYOND_C0 = r"\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
INVISIBLE = re.compile(rf"[\x00-\x1f{_ACTED_ON_BEYOND_C0}]")
NOT_ESCAPED_BY_JSON = re.compile(rf"[{_ACTED_ON_BEYOND_C0}]")


SHORT_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(found: re.Match[str]) -> str:
    char = found.group()
    code = ord(char)
    return SHORT_ESCAPES.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def visible(text: str) -> str:
    """`text` with every control and bidi character written as an escape (`\\x1b`, `\\u202e`)."""
    return INVISIBLE.sub(_escape, text)


def env_file_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add --env-file: environment variables read from a file before the command runs."""

    @click.option("--env-file", type=click.Path(exists=True, dir_okay=False), metavar="FILE",
                  help="Read environment variables from FILE first (already-set variables win).")
    @functools.wraps(command)
    def wrapper(env_file: str | None, **kwargs: Any) -> Any:
        if env_file:
            load_dotenv(env_file, override=False)
        return command(**kwargs)

    return wrapper


def hub_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add --config, --data-dir and --env-file to a command that needs the hub."""

    @click.option("--config", "config_path", envvar="CXHUB_CONFIG", required=True, metavar="FILE",
                  help="The hub's YAML config (or CXHUB_CONFIG).")
    @click.option("--data-dir", envvar="CXHUB_DATA_DIR", default=".cxhub", show_default=True,
                  help="Where embedded Redis and SQLite keep their files (or CXHUB_DATA_DIR).")
    @env_file_option
    @functools.wraps(command)
    def wrapper(config_path: str, data_dir: str, **kwargs: Any) -> Any:
        return command(settings={"CXHUB_CONFIG": config_path, "CXHUB_DATA_DIR": data_dir}, **kwargs)

    return wrapper


class VisibleFormatter(logging.Formatter):
    """Log lines quote vendors and destinations (an error body, an email): escape what a terminal acts on.

    A traceback, appended after the line, keeps its line breaks.
    """

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        return visible(super().formatMessage(record))


def setup_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(VisibleFormatter(LOG_FORMAT))
    logging.basicConfig(level=level, handlers=[handler])


def load_app(settings: dict[str, Any], *, read_only: bool = False) -> Flask:
    """Build the app, or print every config or plugin problem and exit 2.

    `read_only` is for commands that only read the store: they need no destination secret.
    """
    try:
        return create_app(settings, environ=os.environ, with_settings=not read_only)
    except ConfigError as error:
        for problem in error.problems:
            click.echo(f"error: {problem}", err=True)
        raise SystemExit(2) from None
    except (PluginError, ValueError) as error:
        click.echo(f"error: {error}", err=True)
        raise SystemExit(2) from None


def hub_of(app: Flask) -> Hub:
    return app.extensions[EXTENSION]


def print_json(value: Any) -> None:
    """Indented JSON; what a terminal would act on is written as `\\u` escapes, so it stays valid JSON."""
    text = orjson.dumps(value, option=orjson.OPT_INDENT_2, default=str).decode()
    click.echo(NOT_ESCAPED_BY_JSON.sub(lambda found: f"\\u{ord(found.group()):04x}", text))


def print_table(rows: Iterable[Sequence[Any]], headers: Sequence[str]) -> None:
    """Columns padded to their widest cell; every cell passes through `visible`."""
    table = [list(headers)] + [["" if cell is None else visible(str(cell)) for cell in row] for row in rows]
    widths = [max(len(row[column]) for row in table) for column in range(len(headers))]
    for row in table:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
