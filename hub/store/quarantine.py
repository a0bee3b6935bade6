"""Quarantine: requests a plugin could not understand, kept for replay, once each and up to a cap."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any, Mapping

import orjson
from sqlalchemy import func, select, update

from hub.store.database import Database, now
from hub.store.rows import DroppedRequests, QuarantinedRequest, from_row
from hub.store.tables import quarantine, quarantine_dropped


def request_digest(source: str, method: str, content_type: str, query: Mapping[str, str], body: bytes) -> str:
    """What identical requests share. Headers are left out: a vendor's resend often differs in them only."""
    digest = hashlib.sha256()
    for part in (source.encode(), method.encode(), content_type.encode(),
                 orjson.dumps(dict(query), option=orjson.OPT_SORT_KEYS), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


class Quarantine:
    def __init__(self, database: Database) -> None:
        self.database = database

    def keep(self, *, source: str, method: str, content_type: str, headers: Mapping[str, str],
             query: Mapping[str, str], body: bytes, error: str, max_rows: int,
             quarantine_id: str | None = None) -> str | None:
        """Keep a request for replay and return its id; None if it was dropped because the quarantine is full.

        A request kept before (same source, method, content type, query and body) is not kept
        again: its id is returned. So is an id given twice (a retried intake batch). Once
        `max_rows` requests are open, new ones are dropped and counted per source instead.
        """
        digest = request_digest(source, method, content_type, query, body)
        kept_id = quarantine_id or str(uuid.uuid4())
        row = {"id": kept_id, "source": source, "received_at": now(), "method": method,
               "content_type": content_type, "headers": orjson.dumps(dict(headers)).decode(),
               "query": orjson.dumps(dict(query)).decode(), "body": body, "error": error, "status": "open",
               "digest": digest}
        kept_before = select(quarantine.c.id).where((quarantine.c.digest == digest) | (quarantine.c.id == row["id"]))
        open_requests = select(func.count()).select_from(quarantine).where(quarantine.c.status == "open")
        with self.database.connect(write=True) as db:
            if (existing := db.execute(kept_before).scalar()) is not None:
                return existing
            if db.execute(open_requests).scalar_one() >= max_rows:
                db.execute(self._count_dropped(source))
                return None
            inserted = self.database.insert(quarantine).values(**row).on_conflict_do_nothing()
            if db.execute(inserted.returning(quarantine.c.id)).scalar() is None:  # the same request, concurrently
                return db.execute(kept_before).scalar()
        return kept_id

    def _count_dropped(self, source: str) -> Any:
        moment = now()
        statement = self.database.insert(quarantine_dropped).values(source=source, dropped=1, last_dropped_at=moment)
        return statement.on_conflict_do_update(
            index_elements=["source"],
            set_={"dropped": quarantine_dropped.c.dropped + 1, "last_dropped_at": moment})

    def requests(self, *, status: str | None = "open", limit: int = 50) -> list[QuarantinedRequest]:
        """Quarantined requests, newest first (by default the open ones)."""
        query = select(quarantine).order_by(quarantine.c.received_at.desc()).limit(limit)
        if status:
            query = query.where(quarantine.c.status == status)
        with self.database.connect() as db:
            return [from_row(QuarantinedRequest, row) for row in db.execute(query)]

    def get(self, quarantine_id: str) -> QuarantinedRequest | None:
        with self.database.connect() as db:
            row = db.execute(select(quarantine).where(quarantine.c.id == quarantine_id)).first()
        return from_row(QuarantinedRequest, row) if row else None

    def set_status(self, quarantine_id: str, status: str, error: str | None = None) -> None:
        values: dict[str, Any] = {"status": status}
        if error is not None:
            values["error"] = error
        with self.database.connect(write=True) as db:
            db.execute(update(quarantine).where(quarantine.c.id == quarantine_id).values(**values))

    def dropped(self) -> list[DroppedRequests]:
        """Per source, how many requests were not kept because the quarantine was full."""
        query = select(quarantine_dropped).order_by(quarantine_dropped.c.source)
        with self.database.connect() as db:
            return [from_row(DroppedRequests, row) for row in db.execute(query)]
