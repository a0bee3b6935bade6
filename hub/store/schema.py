"""Schema migrations with Alembic: the store's database is kept at the head revision.

`upgrade` runs at start-up (serve, worker, every hub built) and from `cxhub db upgrade`. A
database created by a release from before migrations (tables from `create_all`, no
`alembic_version`) is recognised by its `events` table, stamped at the baseline revision it
matches, and upgraded from there. Concurrent processes are serialised: on PostgreSQL by an
advisory lock, on SQLite by an immediate (write-locking) transaction. The whole upgrade is
one transaction, so a failed migration leaves the database as it was.

A new revision (after changing hub/store/tables.py), from the worktree's root:

    python -c "from hub.store.schema import revision; revision('what changed', 'sqlite:///scratch.db')"

then check and edit what Alembic wrote in hub/store/migrations/versions/.
"""

from __future__ import annotations

import functools
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

MIGRATIONS = Path(__file__).parent / "migrations"
BASELINE = "0001_baseline"  # the schema create_all made before migrations
LOCK_KEY = 727368  # the PostgreSQL advisory lock held while migrating


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, with no ini file: the scripts ship inside the package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("file_template", "%%(rev)s")  # revisions are named 0003_what_changed, files alike
    config.attributes["connection"] = connection
    return config


@functools.cache
def head() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "no migrations found"
    return head


def current(engine: Engine) -> str | None:
    """The revision the database is at (None: no schema, or one from before migrations)."""
    with engine.connect() as db:
        return MigrationContext.configure(db).get_current_revision()


def is_legacy(db: Connection) -> bool:
    """Tables made by create_all before migrations existed: an `events` table and no revision."""
    return MigrationContext.configure(db).get_current_revision() is None and inspect(db).has_table("events")


def upgrade(engine: Engine) -> None:
    """Migrate to the head revision; a database already there costs one query."""
    with _locked(engine) as db:
        if MigrationContext.configure(db).get_current_revision() == head():
            return
        config = alembic_config(db)
        if is_legacy(db):
            command.stamp(config, BASELINE)
        command.upgrade(config, "head")


@contextmanager
def _locked(engine: Engine) -> Iterator[Connection]:
    """A transaction no other process migrates in at the same time."""
    with engine.connect() as db:
        if db.dialect.name == "sqlite":
            db.exec_driver_sql("BEGIN IMMEDIATE")  # takes the write lock now; waits out busy_timeout otherwise
        elif db.dialect.name == "postgresql":
            db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
        try:
            yield db
        except BaseException:
            db.rollback()
            raise
        db.commit()


def revision(message: str, url: str) -> None:
    """Write a new revision from the difference between the models and a database at the head (for developers)."""
    from hub.store.engine import make_engine

    engine = make_engine(url)
    upgrade(engine)
    number = int(head().split("_", 1)[0]) + 1
    slug = "_".join("".join(c if c.isalnum() else " " for c in message.lower()).split())[:40]
    with engine.begin() as db:
        command.revision(alembic_config(db), message=message, autogenerate=True, rev_id=f"{number:04d}_{slug}")
