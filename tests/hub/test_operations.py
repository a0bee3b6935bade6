"""Replaying a stored event keeps the take-in rule: a route runs once per object unless it asks for updates."""

from __future__ import annotations

import plugins.webhook as webhook
from hub.operations import replay_event
from tests.conftest import APP_SOURCE, WHSEC, detractor, send
from tests.hub.ingest.test_ingest_updates import ROUTES


def test_replaying_an_update_does_not_run_a_route_that_ran_for_the_object(make_hub):
    hub = make_hub(APP_SOURCE + ROUTES, plugins=[webhook], env={"APP_SECRET": WHSEC})
    send(hub, detractor(7), "msg_1")
    [update] = send(hub, detractor(7, comment="Still failing."), "msg_2").json["accepted"]
    with hub.app.app_context():
        replayed = replay_event(hub.hub, update)
    assert replayed.queued == []  # its one delivery (stream) is still waiting: left alone
    assert sorted(d.route for d in hub.store.reads.deliveries(event_id=update)) == ["stream"]
