"""The resolver's transaction: a batch of events attached to their profiles with a few statements.

Everything the batch needs is read once, up front: who owns each identifier any of its events
carries, and how many identifiers of each kind those profiles hold; their root profiles are
locked (FOR UPDATE on PostgreSQL; SQLite holds its write lock from BEGIN IMMEDIATE). The
events are then decided one after another in memory (`hub.store.profiles.decide`), and what
they change is written in one statement per table at the end: new profiles, new identifiers,
the events' links, first and last seen, the latest scores. Only merges (rare) write at once.

A new identifier another transaction inserted meanwhile collides on its key when the batch is
written: the caller runs the whole batch again (`Conflict`), and then finds it.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Mapping, Sequence

from sqlalchemy import Connection, and_, bindparam, case, func, insert, or_, select, update

from hub.store.rows import EventIdentity, Resolution, _utc
from hub.store.tables import events, profile_identifiers, profile_merges, profile_scores, profiles

Limit = Callable[[str], int]
Identifier = tuple[str, str]
RESOLVER = "resolver"
CHUNK = 400  # identifiers per IN list


def new_profile_id() -> str:
    return f"cus_{uuid.uuid4().hex}"


@dataclass
class _Decision:
    """What one event does to the profiles (the rules applied to what the store holds)."""

    roots: list[str] = field(default_factory=list)  # to become one profile; the first holds the anchor
    anchor: str | None = None  # the profile that gets the event and the new identifiers
    new: list[tuple[str, str]] = field(default_factory=list)
    refused_roots: list[tuple[str, str]] = field(default_factory=list)  # (root, why)
    refused: list[str] = field(default_factory=list)


def decide(identifiers: Sequence[Identifier], owners: Mapping[Identifier, tuple[str, str]],
           counts: Mapping[str, Counter[str]], limit: Limit, barred: set[frozenset[str]]) -> _Decision:
    """Walk the identifiers from the highest priority down, keeping each one that fits (pure).

    A known identifier brings its profile into the merge unless the merged profile would then
    hold more values of some kind than its limit, or an admin unmerged the two before; a new
    identifier is added unless its kind is at its limit. So the highest-priority identifier
    always decides where the event goes, and a lower one that would break a cap is dropped:
    with one zendesk id per profile, a shared mailbox cannot pull a second Zendesk user in.
    """
    decision = _Decision()
    total: Counter[str] = Counter()
    for identifier in identifiers:
        kind, value = identifier
        if identifier in owners:
            raw, root = owners[identifier]
            if root in decision.roots:
                decision.anchor = decision.anchor or raw
                continue
            trial = total + counts.get(root, Counter())
            over = sorted(k for k, n in trial.items() if n > limit(k))
            apart = [other for other in decision.roots if frozenset((root, other)) in barred]
            if decision.roots or decision.new:
                if over:
                    decision.refused_roots.append(
                        (root, f"{kind}:{value} belongs to {root}; merging would give the profile "
                               + ", ".join(f"{trial[k]} {k} identifiers (limit {limit(k)})" for k in over)))
                    continue
                if apart:
                    decision.refused_roots.append(
                        (root, f"{kind}:{value} belongs to {root}, which an admin unmerged from {apart[0]}"))
                    continue
            decision.roots.append(root)
            decision.anchor = decision.anchor or raw
            total = trial
        else:
            if total[kind] + 1 > limit(kind):
                decision.refused.append(f"{kind}:{value} not added: the profile holds {total[kind]} {kind} "
                                        f"identifiers (limit {limit(kind)})")
                continue
            total[kind] += 1
            decision.new.append(identifier)
    return decision


class Changed(Exception):
    """The profiles kept changing under the batch (merged by another transaction): run it again."""


class Attach:
    def __init__(self, db: Connection, *, postgresql: bool, limit: Limit, moment: datetime, insert_for: Any) -> None:
        self.db, self.postgresql, self.limit, self.moment, self.insert_for = db, postgresql, limit, moment, insert_for
        self.owner: dict[Identifier, str] = {}  # identifier -> the profile that owns it
        self.root: dict[str, str] = {}  # profile -> its root
        self.created: dict[str, datetime] = {}  # root -> when it was made
        self.counts: dict[str, Counter[str]] = {}  # root -> identifiers it holds, by kind
        self.new_profiles: list[dict[str, Any]] = []
        self.new_identifiers: list[dict[str, Any]] = []
        self.links: list[dict[str, Any]] = []
        self.seen: dict[str, list[datetime]] = {}
        self.scores: dict[tuple[str, str], dict[str, Any]] = {}
        self.refused: set[frozenset[str]] = set()
        self.made = 0

    def run(self, items: Sequence[EventIdentity]) -> list[Resolution]:
        self.load(sorted({identifier for item in items for identifier in item.identifiers}))
        results = [self.attach(item) for item in items]
        self.flush()
        return results

    # --- reading what the batch needs, with its roots locked -------------------------------------

    def load(self, identifiers: Sequence[Identifier]) -> None:
        for _ in range(10):
            owner, root = {}, {}
            by_kind: dict[str, list[str]] = {}
            for kind, value in identifiers:
                by_kind.setdefault(kind, []).append(value)
            for kind, values in sorted(by_kind.items()):  # kind = k AND value IN (...): the primary key's order
                for start in range(0, len(values), CHUNK):
                    query = (select(profile_identifiers.c.value, profiles.c.id, profiles.c.root_id)
                             .join(profiles, profiles.c.id == profile_identifiers.c.profile_id)
                             .where(profile_identifiers.c.kind == kind,
                                    profile_identifiers.c.value.in_(values[start:start + CHUNK])))
                    for value, raw, top in self.db.execute(query):
                        owner[(kind, value)], root[raw] = raw, top
            roots = sorted(set(root.values()))
            created = self.lock(roots)
            if created is not None:
                self.owner, self.root, self.created = owner, root, created
                self.counts = self.count(roots)
                return
        raise Changed("profiles kept changing under this batch")

    def lock(self, roots: Sequence[str]) -> dict[str, datetime] | None:
        """Lock the roots (in id order, so two batches never deadlock); None if one is a root no more."""
        created: dict[str, datetime] = {}
        for start in range(0, len(roots), CHUNK):
            query = (select(profiles.c.id, profiles.c.root_id, profiles.c.created_at)
                     .where(profiles.c.id.in_(roots[start:start + CHUNK])).order_by(profiles.c.id))
            for row in self.db.execute(query.with_for_update() if self.postgresql else query):
                if row.root_id != row.id:
                    return None
                created[row.id] = _utc(row.created_at)
        return created if len(created) == len(roots) else None

    def count(self, roots: Sequence[str]) -> dict[str, Counter[str]]:
        counts: dict[str, Counter[str]] = {root: Counter() for root in roots}
        for start in range(0, len(roots), CHUNK):
            query = (select(profiles.c.root_id, profile_identifiers.c.kind, func.count())
                     .join(profiles, profiles.c.id == profile_identifiers.c.profile_id)
                     .where(profiles.c.root_id.in_(roots[start:start + CHUNK]))
                     .group_by(profiles.c.root_id, profile_identifiers.c.kind))
            for top, kind, number in self.db.execute(query):
                counts[top][kind] = number
        return counts

    # --- one event -----------------------------------------------------------------------------

    def attach(self, item: EventIdentity) -> Resolution:
        if not item.identifiers:
            self.links.append({"event": item.event_id, "profile": None, "state": "anonymous"})
            return Resolution(item.event_id, None)
        owners = {identifier: (self.owner[identifier], self.root[self.owner[identifier]])
                  for identifier in item.identifiers if identifier in self.owner}
        roots = sorted({top for _, top in owners.values()})
        barred = self.barred(roots) if len(roots) > 1 else set()
        decision = decide(item.identifiers, owners, self.counts, self.limit, barred)
        created = decision.anchor is None
        if decision.anchor is None:
            decision.anchor = new_profile_id()
            # one microsecond apart, so the profiles a batch makes keep the order of their events (the older survives)
            made = self.moment + timedelta(microseconds=self.made)
            self.made += 1
            self.new_profiles.append({"id": decision.anchor, "root_id": decision.anchor, "created_at": made})
            self.root[decision.anchor], self.created[decision.anchor] = decision.anchor, made
            self.counts[decision.anchor] = Counter()
            decision.roots = [decision.anchor]
        survivor = min(decision.roots, key=lambda top: (self.created[top], top))
        merged = [top for top in decision.roots if top != survivor]
        for absorbed in merged:
            self.merge(item, owners, absorbed, survivor)
        for kind, value in decision.new:
            self.owner[(kind, value)] = decision.anchor
            self.counts[survivor][kind] += 1
            self.new_identifiers.append({"kind": kind, "value": value, "profile_id": decision.anchor,
                                         "added_at": self.moment, "event_id": item.event_id})
        self.links.append({"event": item.event_id, "profile": decision.anchor, "state": "linked"})
        seen = self.seen.setdefault(decision.anchor, [item.time, item.time])
        seen[0], seen[1] = min(seen[0], item.time), max(seen[1], item.time)
        self.keep_score(decision.anchor, item)
        for top, why in decision.refused_roots:
            self.refuse(top, survivor, why, item.event_id)
        return Resolution(item.event_id, survivor, created, tuple(merged),
                          tuple([why for _, why in decision.refused_roots] + decision.refused))

    def merge(self, item: EventIdentity, owners: dict[Identifier, tuple[str, str]], absorbed: str,
              survivor: str) -> None:
        self.flush_profiles()
        ours = next(f"{k}:{v}" for (k, v), (_, top) in owners.items() if top == survivor) \
            if any(top == survivor for _, top in owners.values()) else "its new identifiers"
        theirs = next(f"{k}:{v}" for (k, v), (_, top) in owners.items() if top == absorbed)
        merge_profiles(self.db, absorbed, survivor, by=RESOLVER, event_id=item.event_id, moment=self.moment,
                       reason=f"event {item.event_id} from {item.source} carries {ours} of {survivor} "
                              f"and {theirs} of {absorbed}")
        for member, top in self.root.items():
            if top == absorbed:
                self.root[member] = survivor
        self.counts[survivor] += self.counts.pop(absorbed, Counter())

    def barred(self, roots: Sequence[str]) -> set[frozenset[str]]:
        """Pairs of these roots that an admin unmerged: never merged again by an event."""
        self.flush_profiles()
        members = dict(self.db.execute(select(profiles.c.id, profiles.c.root_id)
                                       .where(profiles.c.root_id.in_(roots))).all())
        query = select(profile_merges.c.from_profile, profile_merges.c.into_profile).where(
            profile_merges.c.status == "undone", profile_merges.c.from_profile.in_(list(members)),
            profile_merges.c.into_profile.in_(list(members)))
        return {frozenset((members[a], members[b])) for a, b in self.db.execute(query) if members[a] != members[b]}

    def refuse(self, top: str, other: str, why: str, event_id: str) -> None:
        """Record a merge the rules refused, once per pair of profiles (a shared mailbox refuses on every event)."""
        pair = frozenset((top, other))
        if pair in self.refused:
            return
        self.refused.add(pair)
        either = or_(and_(profile_merges.c.from_profile == top, profile_merges.c.into_profile == other),
                     and_(profile_merges.c.from_profile == other, profile_merges.c.into_profile == top))
        if self.db.execute(select(profile_merges.c.id).where(profile_merges.c.status == "refused", either)).first():
            return
        self.flush_profiles()
        self.db.execute(insert(profile_merges).values(status="refused", from_profile=top, into_profile=other,
                                                      at=self.moment, by=RESOLVER, reason=why, event_id=event_id))

    def keep_score(self, profile_id: str, item: EventIdentity) -> None:
        """The event's score, if it is the profile's latest of its metric so far (by the event's time)."""
        score = item.score or {}
        try:
            metric = str(score["type"])
            row: dict[str, Any] = {"profile_id": profile_id, "metric": metric, "value": float(score["value"]),
                   "min": float(score["min"]), "max": float(score["max"]), "band": score.get("band"),
                   "time": item.time, "event_id": item.event_id, "source": item.source}
        except (KeyError, TypeError, ValueError):
            return  # no score (or one stored before the schema checked it): nothing to keep
        known = self.scores.get((profile_id, metric))
        if known is None or item.time >= known["time"]:
            self.scores[(profile_id, metric)] = row

    # --- writing -------------------------------------------------------------------------------

    def flush_profiles(self) -> None:
        if self.new_profiles:
            self.db.execute(insert(profiles), self.new_profiles)
            self.new_profiles = []

    def flush(self) -> None:
        self.flush_profiles()
        db = self.db
        if self.new_identifiers:
            db.execute(insert(profile_identifiers), sorted(self.new_identifiers, key=lambda r: (r["kind"], r["value"])))
        if self.links:
            db.execute(update(events).where(events.c.id == bindparam("event"))
                       .values(profile_id=bindparam("profile"), profile_state=bindparam("state")), self.links)
        if self.seen:
            first = bindparam("first", type_=profiles.c.first_seen.type)
            last = bindparam("last", type_=profiles.c.last_seen.type)
            db.execute(update(profiles).where(profiles.c.id == bindparam("profile")).values(
                first_seen=case((or_(profiles.c.first_seen.is_(None), profiles.c.first_seen > first), first),
                                else_=profiles.c.first_seen),
                last_seen=case((or_(profiles.c.last_seen.is_(None), profiles.c.last_seen < last), last),
                               else_=profiles.c.last_seen)),
                [{"profile": key, "first": span[0], "last": span[1]} for key, span in sorted(self.seen.items())])
        if self.scores:
            statement = self.insert_for(profile_scores)
            kept = {key: statement.excluded[key] for key in ("value", "min", "max", "band", "time", "event_id",
                                                             "source")}
            db.execute(statement.on_conflict_do_update(index_elements=["profile_id", "metric"], set_=kept,
                                                       where=statement.excluded.time >= profile_scores.c.time),
                       [self.scores[key] for key in sorted(self.scores)])


def merge_profiles(db: Connection, absorbed: str, survivor: str, *, by: str, reason: str, event_id: str | None,
                   moment: datetime) -> int:
    """Put `absorbed`'s whole tree under `survivor` and record the merge; return the record's id."""
    db.execute(update(profiles).where(profiles.c.id == absorbed).values(merged_into=survivor))
    db.execute(update(profiles).where(profiles.c.root_id == absorbed).values(root_id=survivor))
    return int(db.execute(insert(profile_merges).values(
        status="merged", from_profile=absorbed, into_profile=survivor, at=moment, by=by[:128], reason=reason,
        event_id=event_id).returning(profile_merges.c.id)).scalar_one())
