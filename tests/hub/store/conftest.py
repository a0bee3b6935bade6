"""Fixtures of the store's tests."""

from __future__ import annotations

from typing import Iterator

import pytest

from hub.store import Store


@pytest.fixture
def store(cxhub_database_url: str) -> Iterator[Store]:
    """A store at the head migration, on SQLite or on the PostgreSQL the suite was given."""
    store = Store(cxhub_database_url)
    store.upgrade()
    yield store
    store.dispose()
