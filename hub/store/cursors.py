"""Poll cursors: where each polled source's next poll starts, kept in the database.

They live beside the events rather than in Redis because they must survive restarts, and a
production Redis may keep nothing on disk. A cursor is written only after the events of its
poll are stored, so a poll cut off half-way runs again from the previous cursor (the store
routes nothing twice).
"""

from __future__ import annotations

from sqlalchemy import select

from hub.store.store import Store, now
from hub.store.tables import poll_cursors


def read_cursor(store: Store, source: str) -> str | None:
    """The cursor the last poll of `source` left, or None before its first poll."""
    with store._connection() as db:
        return db.execute(select(poll_cursors.c.cursor).where(poll_cursors.c.source == source)).scalar()


def save_cursor(store: Store, source: str, cursor: str) -> None:
    """Keep `cursor` as where the next poll of `source` starts (insert or replace)."""
    row = {"source": source, "cursor": cursor, "updated_at": now()}
    statement = store._insert(poll_cursors).values(row)
    statement = statement.on_conflict_do_update(index_elements=["source"],
                                                set_={"cursor": row["cursor"], "updated_at": row["updated_at"]})
    with store._connection(write=True) as db:
        db.execute(statement)
