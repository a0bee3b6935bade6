"""Admin operations shared by the CLI and the admin API: replay, redeliver, quarantine replay, backlog."""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from hub.ingest.service import Accepted, Rejected, ingest
from hub.plugin.request import InboundRequest
from hub.routing.objects import ObjectLedger, subjects_by_source
from hub.runtime import Hub


class NotFound(Exception):
    """The event, delivery or quarantined request does not exist (or cannot be acted on)."""


@dataclass(frozen=True)
class Replayed:
    queued: list[str]
    untouched: list[str]


def backlog(hub: Hub) -> dict[str, dict[str, int]]:
    """What waits: webhooks in the intake log (all, and held by a consumer), delivery jobs (now, and retries)."""
    return {"intake": {"entries": hub.intake.backlog(), "held": hub.intake.held()},
            "jobs": {"queued": hub.queue.count(), "scheduled": hub.queue.scheduled_count()}}


def replay_event(hub: Hub, event_id: str) -> Replayed:
    """Route a stored event again with the current routes.

    New matching actions get new deliveries; dead deliveries are queued again; deliveries that
    succeeded or are still under way are left alone, so no ticket is created twice. A route that
    delivered for another event about the same object is not run for this one either, unless it
    has `run_on_updates` (the rule at take-in).
    """
    row = hub.store.get_event(event_id)
    if row is None:
        raise NotFound(f"no event {event_id}")
    event = orjson.loads(row["body"])
    ledger = ObjectLedger(hub.store.events_about(subjects_by_source([event])))
    planned = hub.router.deliveries_for(event, ledger.routed(event))
    created = set(hub.store.add_deliveries(planned))
    requeued = hub.store.requeue([item.id for item in planned if item.id not in created])
    hub.queue.enqueue([*(item for item in planned if item.id in created), *requeued])
    queued = {item.id for item in requeued} | created
    return Replayed([item.id for item in planned if item.id in queued],
                    [item.id for item in planned if item.id not in queued])


def redeliver(hub: Hub, delivery_ids: list[str]) -> list[str]:
    """Queue dead-lettered deliveries again, each with a fresh retry budget; return those queued."""
    requeued = hub.store.requeue(delivery_ids)
    hub.queue.enqueue(requeued)
    return [item.id for item in requeued]


def replay_quarantined(hub: Hub, quarantine_id: str) -> Accepted:
    """Parse a quarantined request again (after a plugin fix) and ingest what it now yields.

    Its signature was verified on arrival and is not checked again: timestamped schemes would
    reject it as stale. If it still fails, it stays in quarantine with the new error.
    """
    row = hub.store.get_quarantined(quarantine_id)
    if row is None or row["status"] != "open":
        raise NotFound(f"no open quarantined request {quarantine_id}")
    source = hub.config.sources.get(row["source"])
    if source is None:
        raise NotFound(f"source {row['source']!r} is no longer configured")
    request = InboundRequest(method=row["method"], path=f"/hooks/{source.name}", body=row["body"],
                             content_type=row["content_type"], headers=orjson.loads(row["headers"]),
                             query=orjson.loads(row["query"]))
    try:
        outcome = ingest(hub, source, request, replay=True)
    except Rejected as error:
        hub.store.set_quarantine_status(quarantine_id, "open", error=error.message)
        raise
    hub.store.set_quarantine_status(quarantine_id, "replayed")
    return outcome
