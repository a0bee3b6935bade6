"""Customer profiles: attaching events to them, merging, unmerging, and reading them back.

A profile owns identifiers (each value belongs to one profile: the table's primary key) and
events. Merging profile B into A sets B's `merged_into` and moves B's whole tree under A's
`root_id`; nothing else moves, so an unmerge gives B back exactly what it had, and the events
resolved since by B's identifiers go back with it. Reads always show the root.

Concurrency: a transaction that attaches events locks the root profiles it touches (FOR
UPDATE on PostgreSQL; SQLite takes its write lock at BEGIN IMMEDIATE), so two events cannot
both take a profile past a cap; two transactions that create a profile for the same new
identifier collide on its key, and the later one runs again and finds the profile (`Conflict`).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterable, Iterator, Sequence

from sqlalchemy import Connection, func, insert, or_, select, tuple_, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from hub.store.attach import Attach, Changed, Limit, merge_profiles
from hub.store.browse import Cursor, Page
from hub.store.database import Database, now
from hub.store.rows import (
    CaseRow,
    EventIdentity,
    IdentifierRow,
    MergeRow,
    PendingEvent,
    ProfileView,
    Resolution,
    ScoreRow,
    TimelineDelivery,
    TimelineEntry,
    _utc,
    from_row,
)
from hub.store.tables import (
    case_events,
    cases,
    deliveries,
    enrichments,
    events,
    profile_identifiers,
    profile_merges,
    profile_scores,
    profiles,
)

RETRYABLE_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock: PostgreSQL rolled back, run again


class Conflict(Exception):
    """Another transaction changed the same profiles at the same moment: run the transaction again."""


class ProfileError(ValueError):
    """A merge or an unmerge that cannot be done; the message says why."""


class UnknownProfile(ProfileError):
    pass


class SameProfile(ProfileError):
    pass


class NotMerged(ProfileError):
    pass


class Profiles:
    def __init__(self, database: Database) -> None:
        self.database = database

    # --- the resolver's side -------------------------------------------------------------------

    def pending(self, limit: int = 200) -> list[PendingEvent]:
        """Events waiting to be attached, the oldest first (a small partial index holds them)."""
        query = (select(events.c.id, events.c.source, events.c.body).where(events.c.profile_state == "pending")
                 .order_by(events.c.received_at).limit(limit))
        with self.database.connect() as db:
            return [PendingEvent(*row) for row in db.execute(query)]

    def count_pending(self) -> dict[str, int]:
        query = (select(events.c.profile_state, func.count()).where(events.c.profile_state.in_(("pending", "failed")))
                 .group_by(events.c.profile_state))
        with self.database.connect() as db:
            found = {state: count for state, count in db.execute(query)}
        return {"pending": found.get("pending", 0), "failed": found.get("failed", 0)}

    def mark(self, event_ids: Sequence[str], state: str) -> None:
        """Set events' state without attaching them (failed; or pending again, to retry)."""
        with self.database.connect(write=True) as db:
            db.execute(update(events).where(events.c.id.in_(event_ids)).values(profile_state=state))

    def retry_failed(self) -> int:
        with self.database.connect(write=True) as db:
            return int(db.execute(update(events).where(events.c.profile_state == "failed")
                                  .values(profile_state="pending")).rowcount)

    def resolve(self, items: Sequence[EventIdentity], limit: Limit, *, attempts: int = 8) -> list[Resolution]:
        """Attach events to profiles in one transaction, run again on a `Conflict` (up to `attempts` times)."""
        for attempt in range(attempts):
            try:
                return self._resolve_once(items, limit)
            except Conflict:
                if attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")

    def _resolve_once(self, items: Sequence[EventIdentity], limit: Limit) -> list[Resolution]:
        with self.database.connect(write=True) as db:
            with _conflicts():
                self._lock_sqlite(db)
                batch = Attach(db, postgresql=self.database.is_postgresql, limit=limit, moment=now(),
                               insert_for=self.database.insert)
                return batch.run(items)

    def _lock_sqlite(self, db: Connection) -> None:
        if not self.database.is_postgresql:
            db.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock now: reads and writes see one state

    # --- admin operations ----------------------------------------------------------------------

    def merge(self, keep: str, absorb: str, *, by: str, reason: str) -> MergeRow:
        """Merge the customer `absorb` into `keep` (any profile id of each); the merge is recorded."""
        with self.database.connect(write=True) as db:
            with _conflicts():
                self._lock_sqlite(db)
                keep_root, absorb_root = self._root(db, keep), self._root(db, absorb)
                if keep_root == absorb_root:
                    raise SameProfile(f"{keep} and {absorb} are already one customer ({keep_root}): "
                                      "a profile cannot be merged with itself")
                self._lock_roots(db, [keep_root, absorb_root])
                merge_id = merge_profiles(db, absorb_root, keep_root, by=by, event_id=None, moment=now(),
                                          reason=reason or f"merged by {by}")
                record = db.execute(select(profile_merges).where(profile_merges.c.id == merge_id)).one()
                return from_row(MergeRow, record)

    def unmerge(self, profile_id: str, *, by: str, reason: str) -> MergeRow:
        """Split `profile_id` (and what was merged into it) off the customer it was merged into."""
        with self.database.connect(write=True) as db:
            with _conflicts():
                self._lock_sqlite(db)
                row = db.execute(select(profiles).where(profiles.c.id == profile_id)).first()
                if row is None:
                    raise UnknownProfile(f"no customer profile {profile_id}")
                if row.merged_into is None:
                    raise NotMerged(f"{profile_id} is not merged into another profile; name one of the profiles "
                                    "merged into it (`cxhub customers show` lists them), or an identifier it owns")
                self._lock_roots(db, [row.root_id])
                members = dict(db.execute(select(profiles.c.id, profiles.c.merged_into)
                                          .where(profiles.c.root_id == row.root_id)).all())
                tree, frontier = {profile_id}, [profile_id]
                while frontier:
                    children = [member for member, parent in members.items() if parent in frontier]
                    frontier = [child for child in children if child not in tree]
                    tree.update(frontier)
                moment = now()
                db.execute(update(profiles).where(profiles.c.id == profile_id).values(merged_into=None))
                db.execute(update(profiles).where(profiles.c.id.in_(sorted(tree))).values(root_id=profile_id))
                record = db.execute(select(profile_merges.c.id).where(
                    profile_merges.c.status == "merged", profile_merges.c.from_profile == profile_id,
                    profile_merges.c.into_profile == row.merged_into).order_by(profile_merges.c.id.desc())).scalar()
                if record is None:  # no record (made by hand in the database): keep one for the audit
                    record = db.execute(insert(profile_merges).values(
                        status="merged", from_profile=profile_id, into_profile=row.merged_into, at=moment, by=by,
                        reason="(no record)").returning(profile_merges.c.id)).scalar_one()
                db.execute(update(profile_merges).where(profile_merges.c.id == record).values(
                    status="undone", undone_at=moment, undone_by=by[:128], undo_reason=reason or f"unmerged by {by}"))
                return from_row(MergeRow, db.execute(select(profile_merges).where(profile_merges.c.id == record)).one())

    def _root(self, db: Connection, profile_id: str) -> str:
        root = db.execute(select(profiles.c.root_id).where(profiles.c.id == profile_id)).scalar()
        if root is None:
            raise UnknownProfile(f"no customer profile {profile_id}")
        return str(root)

    def _lock_roots(self, db: Connection, roots: Iterable[str]) -> None:
        if self.database.is_postgresql:
            db.execute(select(profiles.c.id).where(profiles.c.id.in_(sorted(set(roots))))
                       .order_by(profiles.c.id).with_for_update())

    # --- reads ---------------------------------------------------------------------------------

    def owner(self, kind: str, value: str) -> str | None:
        """The profile that owns this identifier (not its root: unmerge names it), or None."""
        query = select(profile_identifiers.c.profile_id).where(profile_identifiers.c.kind == kind,
                                                               profile_identifiers.c.value == value)
        with self.database.connect() as db:
            found = db.execute(query).scalar()
        return None if found is None else str(found)

    def root_of(self, profile_id: str) -> str | None:
        with self.database.connect() as db:
            found = db.execute(select(profiles.c.root_id).where(profiles.c.id == profile_id)).scalar()
        return None if found is None else str(found)

    def view(self, profile_id: str) -> ProfileView | None:
        """The customer `profile_id` belongs to (whichever of its profiles is named), or None."""
        with self.database.connect() as db:
            root = db.execute(select(profiles.c.root_id).where(profiles.c.id == profile_id)).scalar()
            if root is None:
                return None
            members = db.execute(select(profiles).where(profiles.c.root_id == root)
                                 .order_by(profiles.c.created_at, profiles.c.id)).all()
            ids = [row.id for row in members]
            head = next(row for row in members if row.id == root)
            identifiers = db.execute(select(profile_identifiers).where(profile_identifiers.c.profile_id.in_(ids))
                                     .order_by(profile_identifiers.c.kind, profile_identifiers.c.value)).all()
            scores = db.execute(select(profile_scores).where(profile_scores.c.profile_id.in_(ids))
                                .order_by(profile_scores.c.time.desc())).all()
            merges = db.execute(select(profile_merges).where(or_(profile_merges.c.from_profile.in_(ids),
                                                                 profile_merges.c.into_profile.in_(ids)))
                                .order_by(profile_merges.c.id.desc()).limit(200)).all()
            count = db.execute(select(func.count()).select_from(events).where(events.c.profile_id.in_(ids))).scalar()
            theirs = select(events.c.id).where(events.c.profile_id.in_(ids))
            joined = select(case_events.c.case_id).where(case_events.c.event_id.in_(theirs))
            open_cases = db.execute(select(cases).where(cases.c.status != "closed",
                                                        or_(cases.c.event_id.in_(theirs), cases.c.id.in_(joined)))
                                    .order_by(cases.c.opened_at.desc(), cases.c.id.desc()).limit(100)).all()
        latest: dict[str, ScoreRow] = {}
        for row in scores:
            latest.setdefault(row.metric, from_row(ScoreRow, row))
        seen_first = [_aware(row.first_seen) for row in members if row.first_seen is not None]
        seen_last = [_aware(row.last_seen) for row in members if row.last_seen is not None]
        return ProfileView(id=str(root), members=tuple(ids), created_at=_aware(head.created_at),
                           first_seen=min(seen_first) if seen_first else None,
                           last_seen=max(seen_last) if seen_last else None,
                           identifiers=tuple(from_row(IdentifierRow, row) for row in identifiers),
                           scores=tuple(sorted(latest.values(), key=lambda score: score.metric)),
                           merges=tuple(from_row(MergeRow, row) for row in merges), events=int(count or 0),
                           open_cases=tuple(from_row(CaseRow, row) for row in open_cases))

    def timeline(self, profile_id: str, *, limit: int = 50, after: Cursor | None = None) -> Page[TimelineEntry]:
        """The customer's events, newest first (by event time, then id), with what the hub did about each.

        Keyset paging: a page starts strictly after the cursor's event, so events that arrive
        meanwhile never shift a page. Events are those of every profile merged into the customer.
        """
        with self.database.connect() as db:
            root = db.execute(select(profiles.c.root_id).where(profiles.c.id == profile_id)).scalar()
            members = select(profiles.c.id).where(profiles.c.root_id == root).scalar_subquery()
            query = (select(events.c.id, events.c.source, events.c.type, events.c.time, events.c.received_at,
                            events.c.subject, events.c.profile_id, events.c.score_band, events.c.body)
                     .where(events.c.profile_id.in_(members)))
            if after is not None:
                query = query.where(tuple_(events.c.time, events.c.id) < tuple_(after.moment, after.id))
            rows = db.execute(query.order_by(events.c.time.desc(), events.c.id.desc()).limit(limit + 1)).all()
            shown = rows[:limit]
            ids = [row.id for row in shown]
            planned: dict[str, list[TimelineDelivery]] = {}
            if ids:
                for row in db.execute(select(deliveries.c.event_id, deliveries.c.id, deliveries.c.route,
                                             deliveries.c.connection, deliveries.c.action, deliveries.c.status,
                                             deliveries.c.attempts, deliveries.c.last_error, deliveries.c.result)
                                      .where(deliveries.c.event_id.in_(ids))
                                      .order_by(deliveries.c.created_at, deliveries.c.id)):
                    planned.setdefault(row.event_id, []).append(TimelineDelivery(*row[1:]))
                enriching = dict(db.execute(select(enrichments.c.event_id, enrichments.c.status)
                                            .where(enrichments.c.event_id.in_(ids))).all())
            else:
                enriching = {}
        entries = [TimelineEntry(id=row.id, source=row.source, type=row.type, time=_aware(row.time),
                                 received_at=_aware(row.received_at), subject=row.subject, profile_id=row.profile_id,
                                 score_band=row.score_band, body=row.body, enrichment=enriching.get(row.id),
                                 deliveries=tuple(planned.get(row.id, ()))) for row in shown]
        following = Cursor(entries[-1].time, entries[-1].id) if len(rows) > limit else None
        return Page(entries, following)

def _aware(moment: Any) -> Any:
    return _utc(moment)


@contextmanager
def _conflicts() -> Iterator[None]:
    """Turn a collision with another transaction into `Conflict` (run again); other errors pass."""
    try:
        yield
    except Changed as error:
        raise Conflict(str(error)) from error
    except IntegrityError as error:
        raise Conflict(str(error.orig)) from error
    except DBAPIError as error:
        if getattr(error.orig, "sqlstate", None) in RETRYABLE_SQLSTATES:
            raise Conflict(str(error.orig)) from error
        raise
