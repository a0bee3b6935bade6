"""Options and helpers shared by the `cxhub` commands.

Every command module imports only click and this module at first, and the hub's parts inside
the commands that use them, so `cxhub --help` and the listing commands start fast.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

import click
import orjson
from dotenv import load_dotenv

if TYPE_CHECKING:
    from flask import Flask

    from hub.runtime import Hub
    from hub.store import Store

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


def exit_on_sigterm(context: click.Context) -> None:
    """Let SIGTERM end a command as Ctrl-C does: through its `finally` blocks and close callbacks.

    Python's default for SIGTERM ends the process at once, which would leave the embedded
    redis-server running. The previous handler is back once the command ends.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    previous = signal.signal(signal.SIGTERM, _exit_for_signal)
    context.call_on_close(lambda: signal.signal(signal.SIGTERM, previous))


def _exit_for_signal(number: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + number)


def load_app(settings: dict[str, Any], *, read_only: bool = False) -> Flask:
    """Build the app, or print every config or plugin problem and exit 2.

    `read_only` is for commands that only read: they need no source or destination secret.

    The app is closed when the command ends, however it ends, which also stops the embedded
    redis-server unless another process still uses it.
    """
    from hub.app import close_app, create_app
    from hub.config import ConfigError
    from hub.pluginhost import PluginError

    try:
        app = create_app(settings, environ=os.environ, with_settings=not read_only)
    except ConfigError as error:
        for problem in error.problems:
            click.echo(f"error: {problem}", err=True)
        raise SystemExit(2) from None
    except (PluginError, ValueError) as error:
        click.echo(f"error: {error}", err=True)
        raise SystemExit(2) from None
    click.get_current_context().call_on_close(functools.partial(close_app, app))
    return app


def open_store(settings: dict[str, Any]) -> Store:
    """Only the store, for the commands that list what it holds: no plugins, no Redis, no config.

    Where the store is comes from DATABASE_URL or the data dir, never from the config file.
    Its schema is upgraded to the head migration if it is behind, as at start-up.
    """
    from hub.backends import database_url
    from hub.store import Store, StoreUnavailable

    store = Store(database_url(os.environ.get("DATABASE_URL"), Path(settings["CXHUB_DATA_DIR"])))
    click.get_current_context().call_on_close(store.dispose)
    try:
        store.upgrade()
    except StoreUnavailable as error:
        raise click.ClickException(str(error)) from None
    return store


def hub_of(app: Flask) -> Hub:
    from hub.runtime import EXTENSION

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
