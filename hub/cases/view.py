"""A case as the CLI and the admin API show it: its fields, SLA state, linked events, tickets and reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from hub.cases.follow import linked_event_ids, reports
from hub.store import CaseRow, Store, now


def overdue(case: CaseRow, at: datetime | None = None) -> list[str]:
    """Which deadlines of a case not closed have passed without their milestone: "first_response", "close".

    A deadline the periodic check found passed (and emitted cx.case.overdue for) counts whatever `at` is."""
    moment = at or now()
    if case.status == "closed":
        return []
    late = []
    if case.first_response_at is None and ((case.first_response_due and case.first_response_due <= moment)
                                           or case.first_response_overdue_at):
        late.append("first_response")
    if (case.close_due and case.close_due <= moment) or case.close_overdue_at:
        late.append("close")
    return late


def summary(case: CaseRow, at: datetime | None = None) -> dict[str, Any]:
    return {"id": case.id, "route": case.route, "event_id": case.event_id, "status": case.status,
            "owner": case.owner, "customer": {"email": case.customer_email, "id": case.customer_id},
            "opened_at": case.opened_at, "first_response_due": case.first_response_due,
            "close_due": case.close_due, "first_response_at": case.first_response_at, "closed_at": case.closed_at,
            "overdue": overdue(case, at)}


def detail(store: Store, case: CaseRow) -> dict[str, Any]:
    """The case with its linked events, the tickets and messages their deliveries made, and the trackers' reports."""
    linked = {row.event_id: row.why for row in store.cases.linked_events(case.id)}
    events: list[dict[str, Any]] = []
    deliveries: list[dict[str, Any]] = []
    tickets: list[dict[str, Any]] = []
    for event_id in linked_event_ids(store, case):
        row = store.reads.event(event_id)
        if row is not None:
            events.append({"id": row.id, "type": row.type, "source": row.source, "received_at": row.received_at,
                           "why": linked.get(event_id, "opened")})
        for item in store.reads.deliveries(event_id=event_id):
            result = orjson.loads(item.result) if item.result else {}
            ran = (result.get("once") or {}).get("action", item.action)
            deliveries.append({"id": item.id, "event_id": event_id, "route": item.route, "connection": item.connection,
                               "action": ran, "status": item.status, "external_id": result.get("external_id"),
                               "url": result.get("url")})
            if item.status == "succeeded" and result.get("link") and not any(
                    (known["system"], known["id"]) == (result["link"]["system"], result["link"]["id"])
                    for known in tickets):
                link = result["link"]
                tickets.append({"system": link["system"], "id": link["id"], "url": link.get("url"),
                                "delivery_id": item.id})
    follow_ups = [{"id": item.event.id, "type": item.event.type, "source": item.event.source,
                   "received_at": item.event.received_at, "about": item.about,
                   "counts_as": item.signal.kind if item.signal else None} for item in reports(store, case)]
    return {**summary(case), "events": events, "deliveries": deliveries, "tickets": tickets, "follow_ups": follow_ups}
