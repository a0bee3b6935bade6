"""`cxhub db upgrade` and `cxhub db current`: the store's schema migrations.

They need only the database (DATABASE_URL, or the SQLite file in the data dir), not the
hub's config or any secret, so they can run before a deployment's config is in place.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import click
from dotenv import load_dotenv
from sqlalchemy import Engine

from hub.backends import database_url
from hub.store import StoreUnavailable
from hub.store.database import database_errors
from hub.store.engine import make_engine
from hub.store.schema import BASELINE, current, head, is_legacy, upgrade


@click.group()
def db() -> None:
    """The store's schema: which migration it is at, and upgrading it."""


def database_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add --database-url, --data-dir and --env-file."""
    for option in (
        click.option("--env-file", type=click.Path(exists=True, dir_okay=False), metavar="FILE",
                     help="Read environment variables from FILE first (already-set variables win)."),
        click.option("--data-dir", envvar="CXHUB_DATA_DIR", default=".cxhub", show_default=True,
                     help="Where the embedded SQLite file is, when there is no database URL (or CXHUB_DATA_DIR)."),
        click.option("--database-url", metavar="URL",
                     help="postgresql://... or sqlite:///... (default: DATABASE_URL, else SQLite in the data dir)."),
    ):
        command = option(command)
    return command


@contextmanager
def _engine(url: str | None, data_dir: str, env_file: str | None) -> Iterator[Engine]:
    """The database's engine; an unreachable database is a clear error, not a traceback."""
    if env_file:
        load_dotenv(env_file, override=False)
    engine = make_engine(database_url(url or os.environ.get("DATABASE_URL"), Path(data_dir)))
    try:
        with database_errors():
            yield engine
    except StoreUnavailable as error:
        raise click.ClickException(str(error)) from None
    finally:
        engine.dispose()


def _describe(engine: Engine, revision: str | None) -> str:
    if revision is not None:
        return revision
    with engine.connect() as connection:
        return f"no revision (tables from before migrations: {BASELINE})" if is_legacy(connection) else "no schema"


@db.command("upgrade")
@database_options
def upgrade_command(database_url: str | None, data_dir: str, env_file: str | None) -> None:
    """Migrate the database to the current schema (serve and worker also do it when they start)."""
    with _engine(database_url, data_dir, env_file) as engine:
        before = _describe(engine, current(engine))
        upgrade(engine)
        after = current(engine)
    click.echo(f"already at {after} (head)" if before == after else f"upgraded from {before} to {after} (head)")


@db.command("current")
@database_options
def current_command(database_url: str | None, data_dir: str, env_file: str | None) -> None:
    """Print the revision the database is at, and whether it is the head; exit 1 if it is not."""
    with _engine(database_url, data_dir, env_file) as engine:
        revision = current(engine)
        described = _describe(engine, revision)
    if revision == head():
        click.echo(f"{revision} (head)")
        return
    click.echo(f"{described}; the head is {head()}: run cxhub db upgrade")
    raise SystemExit(1)
