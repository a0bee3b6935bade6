"""The resolver after the 202: thin events wait for their details, a failing event fails alone and is
tried again, a database outage loses nothing, and retention keeps the profiles."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest
from sqlalchemy import update

import plugins.hubspot as hubspot
import plugins.typeform as typeform
import plugins.webhook as webhook
import plugins.zendesk as zendesk
from hub.enrichment.operations import retry_enrichments
from hub.profiles import resolver
from hub.store import StoreUnavailable, now
from hub.store.attach import Attach
from hub.store.profiles import Conflict
from hub.store.tables import events
from hub.testing import wait_for
from tests.conftest import fixture_bytes
from tests.hub.profiles.test_timeline_across_sources import (
    ENV,
    REQUESTER,
    config,
    typeform_headers,
    typeform_request,
    zendesk_headers,
    zendesk_request,
)


def test_a_thin_event_waits_for_its_details_and_is_attached_again_when_a_retry_brings_them(make_hub, httpserver):
    api = httpserver.url_for("/").rstrip("/")
    hub = make_hub(config(api), plugins=[typeform, zendesk, hubspot, webhook], env=ENV)
    body = typeform_request()
    hub.post("typeform", body, typeform_headers(body))
    hub.drain()
    laura = hub.store.profiles.owner("email", "laura@example.com")
    user = f"/api/v2/users/{REQUESTER}.json"
    httpserver.expect_oneshot_request(user).respond_with_json({"error": "Couldn't authenticate you"}, status=401)
    body = zendesk_request()
    assert hub.post("support", body, zendesk_headers(body)).status_code == 202
    [ticket] = [row.id for row in hub.store.reads.events() if row.source == "support"]
    assert hub.store.reads.event(ticket).profile_state == "waiting"
    assert resolver.resolve_all(hub.hub) == 0  # nothing to attach before its details are in
    hub.drain()  # the Users API refuses the token: the enrichment fails; the event is attached by what it has
    assert hub.store.enrichments.get(ticket).status == "failed"
    alone = hub.store.profiles.root_of(hub.store.reads.event(ticket).profile_id)
    assert alone != laura
    assert {(row.kind, row.value) for row in hub.store.profiles.view(alone).identifiers} == {("zendesk", REQUESTER)}

    found = orjson.loads(fixture_bytes("zendesk/show_user_response.json"))
    found["user"]["email"] = "laura@example.com"
    httpserver.expect_request(user).respond_with_json(found)
    assert retry_enrichments(hub.hub, [ticket]) == [ticket]
    hub.drain()
    view = hub.store.profiles.view(laura)
    assert set(view.members) == {laura, alone}  # the email merged the two; the merge says which event
    [merge] = [row for row in view.merges if row.status == "merged"]
    assert merge.event_id == ticket and merge.by == "resolver"
    assert {entry.source for entry in hub.store.profiles.timeline(laura).rows} == {"typeform", "support"}


def test_an_event_that_breaks_the_resolver_fails_alone_and_is_retried(app, monkeypatch):
    good = app.send(email="ann@example.com")
    bad = app.send(email="bob@example.com")
    original = resolver.identity_of

    def identity_of(rules, row):
        if row.id == bad:
            raise RuntimeError("a bug one event triggers")
        return original(rules, row)

    monkeypatch.setattr(resolver, "identity_of", identity_of)
    resolver.resolve_all(app.hub.hub)
    assert (app.state_of(good), app.state_of(bad)) == ("linked", "failed")
    monkeypatch.setattr(resolver, "identity_of", original)
    assert app.hub.store.profiles.retry_failed() == 1
    resolver.resolve_all(app.hub.hub)
    assert app.state_of(bad) == "linked"


def test_a_store_error_in_a_batch_fails_only_the_event_that_causes_it(app, monkeypatch):
    events_sent = [app.send(email=f"c{n}@example.com") for n in range(3)]
    original = Attach.attach

    def attach(self, item):
        if item.event_id == events_sent[1]:
            raise ValueError("the database refused a value")
        return original(self, item)

    monkeypatch.setattr(Attach, "attach", attach)
    resolver.resolve_all(app.hub.hub)
    assert [app.state_of(event) for event in events_sent] == ["linked", "failed", "linked"]


def test_with_the_database_down_the_batch_stays_pending(app, monkeypatch):
    event = app.send(email="ann@example.com")
    store = app.hub.store.profiles

    def down(*args, **kwargs):
        raise StoreUnavailable("the database is unavailable: OperationalError")

    monkeypatch.setattr(store, "resolve", down)
    with pytest.raises(StoreUnavailable):
        resolver.resolve_pending(app.hub.hub)
    assert app.state_of(event) == "pending"
    monkeypatch.undo()
    resolver.resolve_all(app.hub.hub)
    assert app.state_of(event) == "linked"


def test_a_worker_thread_attaches_events_by_itself(app):
    event = app.send(email="ann@example.com")
    app.hub.start_workers(threads=1)
    wait_for(lambda: app.state_of(event) == "linked", timeout=20, what="the resolver thread")


def test_retention_keeps_profiles_and_never_deletes_an_unattached_event(app):
    old = app.send(email="ann@example.com", score=2, at="2026-01-05T10:00:00Z")
    kept = app.send(email="ann@example.com", score=None, at="2026-11-20T10:00:00Z")
    waiting = app.send(email="bob@example.com")
    app.hub.drain(profiles=False)
    resolver.resolve_pending(app.hub.hub, batch=2)  # the first two; bob's event is still pending
    store = app.hub.store
    with store.database.connect(write=True) as db:
        db.execute(update(events).where(events.c.id.in_([old, waiting]))
                   .values(received_at=now() - timedelta(days=90)))
    counts = store.retention.prune(now() - timedelta(days=30))
    assert counts["events"] == 1 and store.reads.event(old) is None
    assert store.reads.event(waiting) is not None  # not attached yet: kept whatever its age
    view = app.view("ann@example.com")
    assert view.events == 1 and [entry.id for entry in store.profiles.timeline(view.id).rows] == [kept]
    assert view.first_seen.isoformat() == "2026-01-05T10:00:00+00:00"  # the profile remembers
    assert [(score.metric, score.value, score.event_id) for score in view.scores] == [("nps", 2, old)]
    assert {(row.kind, row.value) for row in view.identifiers} == {("email", "ann@example.com")}


def test_an_event_whose_profiles_keep_changing_stays_pending_for_a_later_pass(app, monkeypatch):
    event = app.send(email="ann@example.com")

    def busy(*args, **kwargs):
        raise Conflict("profiles kept changing under this batch")

    monkeypatch.setattr(app.hub.store.profiles, "resolve", busy)
    assert resolver.resolve_all(app.hub.hub) == 0  # no busy loop: the pass ends
    assert app.state_of(event) == "pending"
    monkeypatch.undo()
    assert resolver.resolve_all(app.hub.hub) == 1 and app.state_of(event) == "linked"
