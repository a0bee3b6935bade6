"""The database the store's parts share: the engine, connections, and the schema kept at the head migration."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, Iterator

from sqlalchemy import Connection, Engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from hub.store.engine import make_engine
from hub.store.schema import upgrade


class StoreUnavailable(Exception):
    """The database cannot be reached; the caller answers 503 and the client retries."""


def now() -> datetime:
    return datetime.now(timezone.utc)


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = make_engine(url)
        self.schema_ready = False

    @property
    def is_postgresql(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def upgrade(self) -> None:
        """Migrate the schema to the head revision (see hub.store.schema); later calls cost nothing."""
        with database_errors():
            upgrade(self.engine)
        self.schema_ready = True

    @contextmanager
    def connect(self, *, write: bool = False, autocommit: bool = False, flush: bool = True) -> Iterator[Connection]:
        """A connection (in a transaction when writing); a lost database raises StoreUnavailable.

        `autocommit` is for a single statement, atomic by itself, that needs no BEGIN and COMMIT
        round trips. `flush=False` is for a write whose loss in a crash of the database server
        itself would change nothing (a claim or a lease: lost, it is expired and swept like a dead
        worker's): on PostgreSQL its commit does not wait for the WAL to reach the disk, which
        takes the largest part of a short transaction's time. A later flushed commit writes it
        too, and no crash leaves a partial one (asynchronous commit, the PostgreSQL manual, 28.4).
        A process that started while the database was down migrates it on first use.
        """
        with database_errors():
            if not self.schema_ready:
                self.upgrade()
            with self.engine.begin() if write else self.engine.connect() as db:
                if autocommit:
                    db.execution_options(isolation_level="AUTOCOMMIT")  # reset when it goes back to the pool
                elif write and not flush and self.is_postgresql:
                    db.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")  # this transaction only
                yield db

    def insert(self, table: Any) -> Any:
        """An INSERT with the dialect's ON CONFLICT support."""
        return (postgresql if self.is_postgresql else sqlite).insert(table)

    def dispose(self) -> None:
        self.engine.dispose()


@contextmanager
def database_errors() -> Iterator[None]:
    """Turn lost database connections into StoreUnavailable; other SQL errors are bugs and propagate."""
    try:
        yield
    except (OperationalError, InterfaceError) as error:
        raise StoreUnavailable(f"the database is unavailable: {type(error.orig).__name__}") from error
    except DBAPIError as error:
        if error.connection_invalidated:
            raise StoreUnavailable(f"the database connection was lost: {type(error.orig).__name__}") from error
        raise
