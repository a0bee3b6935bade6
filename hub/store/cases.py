"""Closed-loop cases: opened once per event (or joined, per customer and route, while open), followed, overdue.

Two workers opening a case for one customer at once cannot open two: an open case holds
`open_key` (the hash of its route and customer) under a unique index until it closes. Marking
a case overdue is a conditional UPDATE, so each breach is recorded once.
"""

from __future__ import annotations

import uuid
from datetime import datetime
import builtins
from typing import Sequence

from sqlalchemy import and_, or_, select, update

from hub.store.database import Database, now
from hub.store.rows import CaseEventRow, CaseRow, from_row
from hub.store.tables import case_events, cases

CASE_NAMESPACE = uuid.UUID("3d3f7a52-8c1b-4d7e-b2a4-6e0f1c9d2b85")
CASE_STATUSES = ("open", "in_progress", "closed")
MAX_LISTED = 1000


def case_id(route: str, event_id: str) -> str:
    """Stable for a route and the event that opens the case: a re-run opens nothing new."""
    return str(uuid.uuid5(CASE_NAMESPACE, f"{route}\n{event_id}"))


class Cases:
    def __init__(self, database: Database) -> None:
        self.database = database

    def open(self, case: CaseRow) -> CaseRow:
        """Open `case`, or return the one already opened for its event, or link the event to the customer's open case."""
        row = {name: getattr(case, name) for name in CaseRow.__dataclass_fields__}
        with self.database.connect(write=True) as db:
            db.execute(self.database.insert(cases).values(row).on_conflict_do_nothing())
        found = self.get(case.id)
        if found is not None:
            return found
        joined = self._open_by_key(case.open_key) if case.open_key else None
        if joined is None:  # the open case closed meanwhile: try once more
            with self.database.connect(write=True) as db:
                db.execute(self.database.insert(cases).values(row).on_conflict_do_nothing())
            return self.get(case.id) or case
        self.attach(joined.id, case.event_id, "same_customer")
        return joined

    def _open_by_key(self, open_key: str) -> CaseRow | None:
        with self.database.connect() as db:
            row = db.execute(select(cases).where(cases.c.open_key == open_key)).first()
        return from_row(CaseRow, row) if row else None

    def attach(self, case: str, event_id: str, why: str) -> None:
        """Link another event to a case (its follow-ups then count for the case); once per event."""
        statement = self.database.insert(case_events).values(case_id=case, event_id=event_id, why=why,
                                                             linked_at=now()).on_conflict_do_nothing()
        with self.database.connect(write=True) as db:
            db.execute(statement)

    def of_event(self, event_id: str) -> CaseRow | None:
        """The case an event opened or is linked to (the oldest, if several)."""
        linked = select(case_events.c.case_id).where(case_events.c.event_id == event_id)
        query = (select(cases).where(or_(cases.c.event_id == event_id, cases.c.id.in_(linked)))
                 .order_by(cases.c.opened_at).limit(1))
        with self.database.connect() as db:
            row = db.execute(query).first()
        return from_row(CaseRow, row) if row else None

    def get(self, case: str) -> CaseRow | None:
        with self.database.connect() as db:
            row = db.execute(select(cases).where(cases.c.id == case)).first()
        return from_row(CaseRow, row) if row else None

    def linked_events(self, case: str) -> builtins.list[CaseEventRow]:
        query = select(case_events).where(case_events.c.case_id == case).order_by(case_events.c.linked_at)
        with self.database.connect() as db:
            return [from_row(CaseEventRow, row) for row in db.execute(query)]

    def list(self, *, status: str | None = None, overdue: bool = False, at: datetime | None = None,
             limit: int = 100) -> builtins.list[CaseRow]:
        """Cases newest first; `overdue`: not closed, with a deadline passed (or found passed by the check) and its
        milestone not reached."""
        conditions = []
        if status is not None:
            conditions.append(cases.c.status == status)
        if overdue:
            moment = at or now()
            conditions.append(cases.c.status != "closed")
            conditions.append(or_(and_(cases.c.first_response_at.is_(None),
                                       or_(cases.c.first_response_due <= moment,
                                           cases.c.first_response_overdue_at.is_not(None))),
                                  cases.c.close_due <= moment, cases.c.close_overdue_at.is_not(None)))
        query = (select(cases).where(*conditions).order_by(cases.c.opened_at.desc(), cases.c.id.desc())
                 .limit(min(limit, MAX_LISTED)))
        with self.database.connect() as db:
            return [from_row(CaseRow, row) for row in db.execute(query)]

    def active(self, limit: int = 5000) -> builtins.list[CaseRow]:
        """The cases not closed yet, oldest first: what the periodic check follows."""
        query = (select(cases).where(cases.c.status != "closed").order_by(cases.c.opened_at).limit(limit))
        with self.database.connect() as db:
            return [from_row(CaseRow, row) for row in db.execute(query)]

    def opened_between(self, since: datetime, until: datetime) -> builtins.list[CaseRow]:
        query = (select(cases).where(cases.c.opened_at >= since, cases.c.opened_at < until)
                 .order_by(cases.c.opened_at))
        with self.database.connect() as db:
            return [from_row(CaseRow, row) for row in db.execute(query)]

    def progress(self, case: str, *, first_response_at: datetime | None, closed_at: datetime | None,
                 owner: str | None) -> None:
        """Record what the trackers reported; a case once closed frees its customer's key for a new case."""
        values: dict[str, object] = {"updated_at": now()}
        if first_response_at is not None:
            values["first_response_at"] = first_response_at
            values["status"] = "in_progress"
        if owner is not None:
            values["owner"] = owner
        if closed_at is not None:
            values.update(closed_at=closed_at, status="closed", open_key=None)
        statement = update(cases).where(cases.c.id == case, cases.c.status != "closed").values(**values)
        with self.database.connect(write=True) as db:
            db.execute(statement)

    def mark_overdue(self, case: str, which: str, at: datetime) -> bool:
        """Record that the case's `which` ("first_response" or "close") deadline passed; True only the first time."""
        column = cases.c[f"{which}_overdue_at"]
        statement = update(cases).where(cases.c.id == case, column.is_(None)).values({column: at, "updated_at": now()})
        with self.database.connect(write=True) as db:
            return bool(db.execute(statement).rowcount)

    def by_ids(self, ids: Sequence[str]) -> builtins.list[CaseRow]:
        with self.database.connect() as db:
            return [from_row(CaseRow, row) for row in db.execute(select(cases).where(cases.c.id.in_(list(ids))))]
