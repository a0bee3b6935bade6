"""Business keys of actions with `once_per`: which delivery holds a key, raced for under a unique constraint.

The row's primary key (scope, key_hash) is the constraint: of two workers inserting the same
key at once, one inserts and the other finds its row (on PostgreSQL the second INSERT waits for
the first's transaction, then does nothing). Taking a key over (its window ended, its holder
dead-lettered or pruned) is a conditional UPDATE on the holder it replaces, so two workers
taking over at once cannot both win. Keys are customer data: only their SHA-256 is stored.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from hub.store.database import Database
from hub.store.rows import OnceKeyRow, from_row
from hub.store.tables import once_keys


class OnceKeys:
    def __init__(self, database: Database) -> None:
        self.database = database

    def claim(self, scope: str, key_hash: str, delivery_id: str, event_id: str, opened_at: datetime,
              expires_at: datetime) -> OnceKeyRow:
        """Hold the key for this delivery unless someone holds it already; return the holder (maybe this one)."""
        row = {"scope": scope, "key_hash": key_hash, "delivery_id": delivery_id, "event_id": event_id,
               "opened_at": opened_at, "expires_at": expires_at}
        statement = self.database.insert(once_keys).values(row).on_conflict_do_nothing(
            index_elements=["scope", "key_hash"])
        with self.database.connect(write=True) as db:
            db.execute(statement)
        with self.database.connect() as db:  # a new statement: it sees the row the winner committed
            found = db.execute(select(once_keys).where(once_keys.c.scope == scope,
                                                       once_keys.c.key_hash == key_hash)).first()
        assert found is not None  # inserted now or before, and only taken over, never deleted, here
        return from_row(OnceKeyRow, found)

    def take_over(self, holder: OnceKeyRow, delivery_id: str, event_id: str, opened_at: datetime,
                  expires_at: datetime) -> bool:
        """Move the key from `holder` (as read) to this delivery; False if another worker moved it first."""
        statement = (update(once_keys)
                     .where(once_keys.c.scope == holder.scope, once_keys.c.key_hash == holder.key_hash,
                            once_keys.c.delivery_id == holder.delivery_id)
                     .values(delivery_id=delivery_id, event_id=event_id, opened_at=opened_at,
                             expires_at=expires_at))
        with self.database.connect(write=True) as db:
            return bool(db.execute(statement).rowcount)

    def held_by(self, delivery_id: str) -> list[OnceKeyRow]:
        """The keys a delivery holds (what `cxhub deliveries` and the cases read)."""
        with self.database.connect() as db:
            return [from_row(OnceKeyRow, row)
                    for row in db.execute(select(once_keys).where(once_keys.c.delivery_id == delivery_id))]
