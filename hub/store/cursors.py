"""Poll cursors: where each polled source's next poll starts, kept in the database.

They live beside the events rather than in Redis because they must survive restarts, and a
production Redis may keep nothing on disk. A cursor is written only after the events of its
poll are stored, so a poll cut off half-way runs again from the previous cursor (the store
routes nothing twice).
"""

from __future__ import annotations

from sqlalchemy import select

from hub.store.database import Database, now
from hub.store.tables import poll_cursors


class Cursors:
    def __init__(self, database: Database) -> None:
        self.database = database

    def read(self, source: str) -> str | None:
        """The cursor the last poll of `source` left, or None before its first poll."""
        with self.database.connect() as db:
            return db.execute(select(poll_cursors.c.cursor).where(poll_cursors.c.source == source)).scalar()

    def save(self, source: str, cursor: str) -> None:
        """Keep `cursor` as where the next poll of `source` starts (insert or replace)."""
        row = {"source": source, "cursor": cursor, "updated_at": now()}
        statement = self.database.insert(poll_cursors).values(row).on_conflict_do_update(
            index_elements=["source"], set_={"cursor": row["cursor"], "updated_at": row["updated_at"]})
        with self.database.connect(write=True) as db:
            db.execute(statement)
