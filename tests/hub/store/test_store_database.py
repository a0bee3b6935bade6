"""hub/store/database.py: connections, and which writes wait for the disk."""

from __future__ import annotations

from sqlalchemy import text

from hub.store.database import Database


def synchronous_commit(database: Database, **options: bool) -> str:
    with database.connect(write=True, **options) as db:
        return str(db.execute(text("SHOW synchronous_commit")).scalar()) if database.is_postgresql else "n/a"


def test_an_unflushed_write_skips_the_wal_flush_for_its_own_transaction_only(cxhub_database_url):
    database = Database(cxhub_database_url)
    if not database.is_postgresql:
        assert synchronous_commit(database, flush=False) == "n/a"  # SQLite: nothing to set, the write still works
        return
    assert synchronous_commit(database) == "on"
    assert synchronous_commit(database, flush=False) == "off"
    assert synchronous_commit(database) == "on"  # SET LOCAL: the pooled connection is back to the default
    database.dispose()
