"""hub/retention.py and the store's retention: finished events older than the retention period go, the rest stays."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

import plugins.webhook as webhook
from hub.retention import prune, prune_when_due
from hub.store import CaseRow, now
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
                              "requests": 1, "quarantine": 0, "once_keys": 0, "cases": 0, "case_events": 0}
    assert hub.store.reads.event(finished) is None and hub.store.reads.request(finished_request) is None
    assert hub.store.reads.event(waiting) is not None and len(hub.store.reads.deliveries()) == 1
    assert hub.store.reads.request(hub.store.reads.event(waiting).request_id) is not None  # goes with its event


def test_recent_events_and_quarantine_entries_are_kept(hub):
    send(hub, detractor(response_id=1), msg_id="msg_1")
    hub.drain()
    assert send(hub, {"unexpected": True}, msg_id="msg_2").status_code == 422  # kept in quarantine, open
    assert prune(hub.hub) == {"events": 0, "deliveries": 0, "attempts": 0, "created_objects": 0, "enrichments": 0,
                              "requests": 0, "quarantine": 0, "once_keys": 0, "cases": 0, "case_events": 0}
    assert prune(hub.hub, older_than_days=0) == {}  # 0 turns retention off
    assert len(hub.store.quarantine.requests()) == 1


def test_quarantine_entries_past_retention_go_even_if_nobody_replayed_them(hub):
    assert send(hub, {"unexpected": True}, msg_id="msg_1").status_code == 422  # open, never replayed
    age_everything(hub, 31)
    assert prune(hub.hub)["quarantine"] == 1 and hub.store.quarantine.requests(status=None) == []


def test_pruning_runs_at_most_hourly_across_processes(hub):
    assert prune_when_due(hub.hub) is not None
    assert prune_when_due(hub.hub) is None


def a_case(number: int, opened_days_ago: float, closed_days_ago: float | None) -> CaseRow:
    opened = now() - timedelta(days=opened_days_ago)
    closed = now() - timedelta(days=closed_days_ago) if closed_days_ago is not None else None
    return CaseRow(id=f"case-{number}", route="detractors", event_id=f"event-{number}", customer_email=None,
                   customer_id=f"c{number}", owner=None, status="closed" if closed else "open",
                   open_key=None if closed else f"key-{number}", opened_at=opened,
                   first_response_due=opened + timedelta(days=1), close_due=opened + timedelta(days=3),
                   first_response_at=closed, closed_at=closed, first_response_overdue_at=None,
                   close_overdue_at=None, updated_at=opened)


def test_closed_cases_and_once_keys_past_retention_go_open_cases_stay(hub):
    cases = hub.store.cases
    for case in (a_case(1, 60, 40), a_case(2, 60, None), a_case(3, 60, 5), a_case(4, 90, None)):
        cases.open(case)
        cases.attach(case.id, f"later-{case.id}", "same_customer")
    cases.progress("case-4", first_response_at=now() - timedelta(days=80), closed_at=None, owner=None)  # in progress
    old, recent = now() - timedelta(days=60), now() - timedelta(days=3)
    hub.store.once.claim("jira.create_issue", "a" * 64, "d1", "e1", old, old + timedelta(days=7))  # ended 53 days ago
    hub.store.once.claim("jira.create_issue", "b" * 64, "d2", "e2", recent, recent + timedelta(days=7))  # still open
    hub.store.once.claim("jira.create_issue", "c" * 64, "d3", "e3", now() - timedelta(days=30),
                         now() - timedelta(days=23))  # ended, but within the retention period
    counts = prune(hub.hub)
    assert (counts["cases"], counts["case_events"], counts["once_keys"]) == (1, 1, 1)
    assert cases.get("case-1") is None and cases.linked_events("case-1") == []
    assert [cases.get(name).status for name in ("case-2", "case-3", "case-4")] == ["open", "closed", "in_progress"]
    assert all(len(cases.linked_events(name)) == 1 for name in ("case-2", "case-3", "case-4"))
    assert hub.store.once.held_by("d1") == [] and hub.store.once.held_by("d2") and hub.store.once.held_by("d3")
    assert prune(hub.hub)["cases"] == 0  # nothing more is due
