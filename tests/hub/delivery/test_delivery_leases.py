"""Renewed leases: a claim held by a live worker keeps its lease; one let go of expires and is swept."""

from __future__ import annotations

import threading
import time

import pytest

import plugins.webhook as webhook
from hub.delivery.job import RUNNER
from hub.delivery.leases import Leases
from hub.delivery.sweeper import sweep
from hub.store import now
from tests.conftest import WHSEC, detractor, forward_everything, send

SHORT_LEASE = "hub: {delivery_lease_seconds: 3, sweep_grace_seconds: 300}\n"


@pytest.fixture
def hub(make_hub, httpserver):
    httpserver.expect_request("/receiver").respond_with_data("")
    return make_hub(forward_everything(httpserver.url_for("/receiver")) + SHORT_LEASE, plugins=[webhook],
                    env={"APP_SECRET": WHSEC})


def claim_one(hub):
    send(hub, detractor())
    [delivery] = hub.store.reads.deliveries()
    leases = hub.app.extensions[RUNNER].leases
    [claimed] = hub.store.deliveries.claim([delivery.id], leases.lease)
    return claimed, leases


def test_a_held_claim_is_renewed_and_outlives_its_first_lease(hub):
    claimed, leases = claim_one(hub)
    leases.hold([claimed.id])
    first = hub.store.reads.delivery(claimed.id).lease_until
    time.sleep(3.5)  # longer than one lease: the heartbeat (every second here) has renewed it
    renewed = hub.store.reads.delivery(claimed.id).lease_until
    assert renewed > first and renewed > now()
    assert sweep(hub.hub) == 0
    assert hub.store.reads.delivery(claimed.id).status == "running"
    leases.let_go([claimed.id])


def test_a_claim_let_go_of_expires_and_is_queued_again(hub):
    claimed, leases = claim_one(hub)
    leases.hold([claimed.id])
    leases.let_go([claimed.id])  # as when the job ended without storing its attempt
    time.sleep(3.2)
    assert sweep(hub.hub) == 1
    assert hub.store.reads.delivery(claimed.id).status == "queued"
    hub.drain()
    assert hub.store.reads.delivery(claimed.id).status == "succeeded"


def test_only_running_deliveries_are_renewed(hub):
    claimed, leases = claim_one(hub)
    hub.store.deliveries.release([claimed.id])  # given back: queued, no lease
    leases.hold([claimed.id])
    assert leases.renew_held() == 1
    row = hub.store.reads.delivery(claimed.id)
    assert (row.status, row.lease_until) == ("queued", None)
    leases.let_go([claimed.id])


def test_a_failed_renewal_is_tried_again_on_the_next_beat():
    calls: list[list[str]] = []
    renewed = threading.Event()

    def renew(ids, lease):
        calls.append(list(ids))
        if len(calls) == 1:
            raise RuntimeError("the database is down")
        renewed.set()

    leases = Leases(renew, 0.3, "things")
    leases.hold(["a", "b"])
    assert renewed.wait(5)
    assert calls[:2] == [["a", "b"], ["a", "b"]]
    leases.let_go(["a", "b", "never-held"])
    assert leases.renew_held() == 0


def test_the_runner_lets_go_of_its_claims_once_stored(hub, httpserver):
    send(hub, detractor())
    hub.drain()
    assert hub.store.reads.deliveries()[0].status == "succeeded"
    assert hub.app.extensions[RUNNER].leases.held == set()
