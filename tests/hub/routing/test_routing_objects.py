"""The object ledger and the router: an update of an object a route delivered for does not run it again."""

from __future__ import annotations

from hub.routing.conditions import compile_condition
from hub.routing.objects import ObjectLedger, subjects_by_source
from hub.routing.router import Router
from hub.routing.routes import ActionSpec, Route
from hub.store import NewDelivery, ObjectEventRow


def event(event_id: str, subject: str = "r1", *, source: str = "survey", type: str = "cx.survey.response") -> dict:
    return {"id": event_id, "source": f"/sources/{source}", "type": type, "subject": subject,
            "data": {"update": False, "score": {"band": "negative"}}}


def delivery(event_id: str, route: str) -> NewDelivery:
    return NewDelivery(id=f"{event_id}-{route}", event_id=event_id, route=route, connection="c", action="a",
                       params={})


def test_subjects_are_asked_for_by_source():
    events = [event("e1", "r1"), event("e2", "r2"), event("e3", "r1", source="other")]
    assert subjects_by_source(events) == {"survey": {"r1", "r2"}, "other": {"r1"}}


def test_an_event_is_an_update_when_another_event_about_its_object_is_known():
    ledger = ObjectLedger([ObjectEventRow("survey", "cx.survey.response", "r1", "e1", "tickets"),
                           ObjectEventRow("survey", "cx.survey.response", "r1", "e1", "stream")])
    assert ledger.is_update(event("e2")) and ledger.routed(event("e2")) == {"tickets", "stream"}
    assert not ledger.is_update(event("e1")) and ledger.routed(event("e1")) == set()  # a resend is not an update
    assert not ledger.is_update(event("e2", "r2"))


def test_objects_are_told_apart_by_source_and_kind():
    ledger = ObjectLedger([ObjectEventRow("survey", "cx.survey.response", "5428", "e1", None)])
    assert not ledger.is_update(event("e2", "5428", source="other"))
    assert not ledger.is_update(event("e2", "5428", type="cx.contact.updated"))  # a person, not the response


def test_created_and_updated_types_name_one_object():
    ledger = ObjectLedger([ObjectEventRow("reviews", "cx.review.created", "rv1", "e1", "tickets")])
    assert ledger.routed(event("e2", "rv1", source="reviews", type="cx.review.updated")) == {"tickets"}


def test_an_event_without_deliveries_makes_an_update_but_routes_nothing():
    ledger = ObjectLedger([ObjectEventRow("survey", "cx.survey.response", "r1", "e1", None)])
    assert ledger.is_update(event("e2")) and ledger.routed(event("e2")) == set()


def test_events_earlier_in_the_batch_count():
    ledger = ObjectLedger()
    ledger.add(event("e1"), [delivery("e1", "tickets")])
    assert ledger.is_update(event("e2")) and ledger.routed(event("e2")) == {"tickets"}


def route(name: str, *, run_on_updates: bool = False) -> Route:
    return Route(name, compile_condition({"field": "data.score.band", "equals": "negative"}),
                 (ActionSpec("c", "a"),), run_on_updates)


def test_a_route_that_already_ran_for_the_object_is_skipped_unless_it_asks_for_updates():
    router = Router([route("tickets"), route("stream", run_on_updates=True), route("alerts")])
    planned = router.deliveries_for(event("e2"), routed={"tickets", "stream"})
    assert [item.route for item in planned] == ["stream", "alerts"]
    assert [item.route for item in router.deliveries_for(event("e2"))] == ["tickets", "stream", "alerts"]
