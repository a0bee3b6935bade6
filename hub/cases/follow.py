"""A case's linked events, and what the trackers' reports about them make of the case.

Linked: the event that opened the case, the events attached to it (the same customer's later
events of the route, deliveries that ran as another's `otherwise`), and every later event about
the objects their deliveries created (the lineage: hub/store/lineage.py). The first report that
counts as a response (hub/cases/signals.py) sets the first response and moves the case to
in_progress; the first that counts as the close closes it. A "take" names the new owner.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from hub.cases.signals import Signal, signal_of
from hub.store import CaseRow, EventRow, Store


@dataclass(frozen=True)
class Report:
    """One follow-up and what it meant for the case."""

    event: EventRow
    signal: Signal | None
    about: str  # the linked event it follows up


def linked_event_ids(store: Store, case: CaseRow) -> list[str]:
    return list(dict.fromkeys([case.event_id, *(row.event_id for row in store.cases.linked_events(case.id))]))


def reports(store: Store, case: CaseRow) -> list[Report]:
    """The follow-ups of every linked event, oldest first, each with its signal."""
    found: dict[str, Report] = {}
    for event_id in linked_event_ids(store, case):
        lineage = store.lineage.of_event(event_id)
        for row in lineage.follow_ups if lineage else []:
            body: dict[str, Any] = orjson.loads(row.body)
            found.setdefault(row.id, Report(row, signal_of(body), event_id))
    return sorted(found.values(), key=lambda item: (item.event.received_at, item.event.id))


def progress(case: CaseRow, found: list[Report]) -> tuple[datetime | None, datetime | None, str | None]:
    """(first response, close, new owner) the reports give a case that has none of them yet."""
    responded = closed = owner = None
    for item in found:
        if item.signal is None:
            continue
        at = max(item.event.received_at, case.opened_at)
        if item.signal.kind == "close" and closed is None:
            closed = at
            responded = responded or at  # closing it answers it too
        elif item.signal.kind == "response" and responded is None:
            responded = at
        if item.signal.who and owner is None:
            owner = item.signal.who
    return (None if case.first_response_at else responded), closed, owner


def follow(store: Store, case: CaseRow) -> CaseRow:
    """Bring a case up to date with what the trackers reported; return it as stored now."""
    responded, closed, owner = progress(case, reports(store, case))
    if responded or closed or (owner and owner != case.owner):
        store.cases.progress(case.id, first_response_at=responded, closed_at=closed, owner=owner)
    return store.cases.get(case.id) or case
