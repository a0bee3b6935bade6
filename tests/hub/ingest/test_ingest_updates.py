"""Updates are not new responses: at take-in, events about an object already known are updates,
and a route runs once per object unless it asks for updates. Both ingest paths, any batch."""

from __future__ import annotations

import orjson
import pytest

import plugins.webhook as webhook
from hub.ingest.consumer import IntakeConsumer
from hub.testing import sign_standard_webhook
from tests.conftest import APP_SOURCE, WHSEC, detractor, send

ROUTES = """
connections:
  out:
    plugin: webhook
    settings: {url: "http://127.0.0.1:9/unused", secret: {$env: APP_SECRET}}
routes:
  - name: tickets
    actions: [{connection: out, action: forward}]
  - name: stream
    run_on_updates: true
    actions: [{connection: out, action: forward}]
  - name: first-only
    when: {field: data.update, equals: false}
    run_on_updates: true
    actions: [{connection: out, action: forward}]
"""


@pytest.fixture(params=["database", "redis"])
def hub(request, make_hub):
    return make_hub(f"hub: {{accept_into: {request.param}}}\n" + APP_SOURCE + ROUTES, plugins=[webhook],
                    env={"APP_SECRET": WHSEC})


def take_in(hub) -> None:
    with hub.app.app_context():
        IntakeConsumer(hub.hub, "consumer-1").drain()


def routes_of(hub, event_id: str) -> list[str]:
    return sorted(d.route for d in hub.store.reads.deliveries(event_id=event_id))


def update_flag(hub, event_id: str) -> bool:
    return orjson.loads(hub.store.reads.event(event_id).body)["data"]["update"]


def test_a_second_event_about_a_response_is_an_update_and_runs_only_the_routes_that_ask(hub):
    [first] = send(hub, detractor(7), "msg_1").json["accepted"]
    take_in(hub)
    [second] = send(hub, detractor(7, comment="Still failing."), "msg_2").json["accepted"]
    take_in(hub)
    assert (update_flag(hub, first), update_flag(hub, second)) == (False, True)
    assert routes_of(hub, first) == ["first-only", "stream", "tickets"]
    assert routes_of(hub, second) == ["stream"]


def test_a_response_and_its_update_in_one_batch(hub):
    [first] = send(hub, detractor(7), "msg_1").json["accepted"]
    [second] = send(hub, detractor(7, comment="Still failing."), "msg_2").json["accepted"]
    take_in(hub)  # with accept_into: redis both are taken in by one batch
    assert (update_flag(hub, first), update_flag(hub, second)) == (False, True)
    assert routes_of(hub, second) == ["stream"]


def test_other_responses_and_resends_are_not_updates(hub):
    [first] = send(hub, detractor(7), "msg_1").json["accepted"]
    [other] = send(hub, detractor(8), "msg_2").json["accepted"]
    take_in(hub)
    resent = send(hub, detractor(7), "msg_1")
    take_in(hub)
    assert resent.json["accepted"] == [] and len(hub.store.reads.deliveries()) == 6
    assert (update_flag(hub, first), update_flag(hub, other)) == (False, False)
    assert routes_of(hub, other) == ["first-only", "stream", "tickets"]


def test_the_same_subject_on_another_source_is_another_object(make_hub):
    app2 = ("  app2:\n    plugin: webhook\n"
            "    settings: {secret: {$env: APP_SECRET}, mapping: {object_id: response.id}}\n")
    second_source = APP_SOURCE.replace("sources:\n", "sources:\n" + app2)
    hub = make_hub(second_source + ROUTES, plugins=[webhook], env={"APP_SECRET": WHSEC})
    send(hub, detractor(7), "msg_1")
    body = orjson.dumps(detractor(7))
    [other] = hub.post("app2", body, sign_standard_webhook(WHSEC, "msg_2", body)).json["accepted"]
    assert update_flag(hub, other) is False and routes_of(hub, other) == ["first-only", "stream", "tickets"]
