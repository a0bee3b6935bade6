"""hub/retention.py and the store's retention: finished events older than the retention period go, the rest stays."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

import plugins.webhook as webhook
from hub.retention import prune, prune_when_due
from hub.store import now
from hub.store.tables import events, quarantine
from tests.conftest import WHSEC, detractor, forward_everything, send


@pytest.fixture
def hub(make_hub, httpserver):
    httpserver.expect_request("/receiver").respond_with_data("")
    return make_hub(forward_everything(httpserver.url_for("/receiver")), plugins=[webhook],
                    env={"APP_SECRET": WHSEC})


def age_everything(hub, days: float) -> None:
    with hub.store.database.engine.begin() as db:
        db.execute(update(events).values(received_at=now() - timedelta(days=days)))
        db.execute(update(quarantine).values(received_at=now() - timedelta(days=days)))


def test_finished_events_older_than_the_retention_period_are_deleted(hub):
    [finished] = send(hub, detractor(response_id=1), msg_id="msg_1").json["accepted"]
    hub.drain()
    [waiting] = send(hub, detractor(response_id=2), msg_id="msg_2").json["accepted"]  # its delivery is still queued
    age_everything(hub, 31)
    finished_request = hub.store.reads.event(finished).request_id
    assert prune(hub.hub) == {"events": 1, "deliveries": 1, "attempts": 1, "created_objects": 0, "enrichments": 0,
                              "requests": 1, "quarantine": 0}
    assert hub.store.reads.event(finished) is None and hub.store.reads.request(finished_request) is None
    assert hub.store.reads.event(waiting) is not None and len(hub.store.reads.deliveries()) == 1
    assert hub.store.reads.request(hub.store.reads.event(waiting).request_id) is not None  # goes with its event


def test_recent_events_and_quarantine_entries_are_kept(hub):
    send(hub, detractor(response_id=1), msg_id="msg_1")
    hub.drain()
    assert send(hub, {"unexpected": True}, msg_id="msg_2").status_code == 422  # kept in quarantine, open
    assert prune(hub.hub) == {"events": 0, "deliveries": 0, "attempts": 0, "created_objects": 0, "enrichments": 0,
                              "requests": 0, "quarantine": 0}
    assert prune(hub.hub, older_than_days=0) == {}  # 0 turns retention off
    assert len(hub.store.quarantine.requests()) == 1


def test_quarantine_entries_past_retention_go_even_if_nobody_replayed_them(hub):
    assert send(hub, {"unexpected": True}, msg_id="msg_1").status_code == 422  # open, never replayed
    age_everything(hub, 31)
    assert prune(hub.hub)["quarantine"] == 1 and hub.store.quarantine.requests(status=None) == []


def test_pruning_runs_at_most_hourly_across_processes(hub):
    assert prune_when_due(hub.hub) is not None
    assert prune_when_due(hub.hub) is None
