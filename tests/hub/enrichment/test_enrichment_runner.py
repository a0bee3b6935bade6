"""Enrichment after the 202: a thin event is stored and answered at once, not routed; a worker
fetches its details with retries, a per-source rate limit and the sweeper behind it, then routes
it once. One that fails for good is kept, listed, and can be retried."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import orjson
import pytest
from marshmallow import fields
from rq.job import Job

import plugins.webhook as webhook
from hub.enrichment.runner import Enricher
from hub.enrichment.sweeper import sweep_enrichments
from hub.plugin import Customer, EventDraft, FoundEvent, Link, PluginInfo, Score, SettingsSchema, SourceInfo, hookimpl
from tests.conftest import WHSEC

TOKEN = "admin-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class ThinSettings(SettingsSchema):
    api_url = fields.Url(required=True)


class Thin:
    """Webhooks that name a response by id; its score, comment and email come from the API."""

    @staticmethod
    @hookimpl
    def cxhub_plugin_info() -> PluginInfo:
        return PluginInfo(name="thin", version="1.0", source=SourceInfo(ThinSettings, api_url_setting="api_url"))

    @staticmethod
    @hookimpl
    def cxhub_verify_request(source, request) -> None:
        """(No signature in this test plugin: the enrichment is what is under test.)"""

    @staticmethod
    @hookimpl
    def cxhub_parse_request(source, request) -> list[EventDraft]:
        note = request.json()
        return [EventDraft(type="cx.survey.response", vendor_event_id=note["event_id"],
                           time=datetime(2026, 11, 20, tzinfo=timezone.utc),
                           link=Link(system="thin", id=note["object_id"]), enrich=note.get("thin", True))]

    @staticmethod
    @hookimpl
    def cxhub_enrich_event(source, event) -> EventDraft:
        details = source.api.get_json(f"details/{event['subject']}")
        draft = EventDraft(type="cx.survey.response", vendor_event_id=details.get("found", "ignored: the core keeps "
                                                                                           "the thin one"),
                           time=datetime(2026, 11, 20, tzinfo=timezone.utc),
                           link=Link(system="thin", id=event["subject"]),
                           customer=Customer(email=details["email"]), score=Score("nps", details["score"], 0, 10),
                           text=details["comment"])
        return FoundEvent(draft) if "found" in details else draft


DETAILS = {"email": "ann@example.com", "score": 3, "comment": "Too slow to load."}


def config(url: str, **source: object) -> dict:
    return {"hub": {"sweep_grace_seconds": 1},
            "sources": {"thin": {"plugin": "thin", "settings": {"api_url": url}, **source}},
            "connections": {"out": {"plugin": "webhook", "settings": {"url": url + "receiver",
                                                                      "secret": {"$env": "APP_SECRET"}},
                                    "retry": {"max_attempts": 1}}},
            "routes": [{"name": "everything", "actions": [{"connection": "out", "action": "forward"}]}]}


@pytest.fixture
def make(make_hub, httpserver):
    httpserver.expect_request("/receiver", method="POST").respond_with_data("")

    def build(**source: object):
        test_hub = make_hub(config(httpserver.url_for("/"), **source), plugins=[Thin, webhook],
                            env={"APP_SECRET": WHSEC})
        test_hub.app.config["CXHUB_ADMIN_TOKEN"] = TOKEN
        return test_hub

    return build


@pytest.fixture
def hub(make):
    return make(api_retry={"max_attempts": 3, "initial_delay": 0, "max_delay": 0})


def note(number: int = 1, **extra: object) -> dict:
    return {"event_id": f"e{number}", "object_id": f"r{number}", **extra}


def calls_to(httpserver, path: str) -> int:
    return sum(1 for request, _ in httpserver.log if request.path == path)


def only_event(hub):
    [row] = hub.store.reads.events()
    return row, orjson.loads(row.body)


def test_a_thin_event_is_stored_and_answered_at_once_but_not_routed(hub, httpserver):
    response = hub.post("thin", note())
    assert response.status_code == 202, response.json
    row, event = only_event(hub)
    assert (row.score_band, event["data"]["score"], event["data"]["text"]) == (None, None, None)
    assert hub.store.reads.deliveries() == []
    assert hub.store.enrichments.get(row.id).status == "pending"
    assert calls_to(httpserver, "/details/r1") == 0  # nobody called the vendor while it waited


def test_an_event_that_needs_no_enrichment_is_routed_as_before(hub):
    assert hub.post("thin", note(thin=False)).status_code == 202
    row, _ = only_event(hub)
    assert hub.store.enrichments.get(row.id) is None
    assert len(hub.store.reads.deliveries()) == 1


def test_hook_cxhub_enrich_event(hub, httpserver):
    """The hook fetches the details; the core stores the enriched event and routes it, once."""
    httpserver.expect_request("/details/r1", method="GET").respond_with_json(DETAILS)
    hub.post("thin", note())
    hub.drain()
    row, event = only_event(hub)
    assert (row.customer_email, row.score_band, event["data"]["text"]) == ("ann@example.com", "negative",
                                                                           "Too slow to load.")
    assert event["data"]["vendor_event_id"] == "e1"  # the thin event's id and vendor id are kept
    assert hub.store.enrichments.get(row.id).status == "done"
    [delivery] = hub.store.reads.deliveries()
    assert delivery.status == "succeeded"
    assert calls_to(httpserver, "/receiver") == 1
    forwarded = orjson.loads(httpserver.log[-1][0].data)
    assert forwarded["data"]["score"]["value"] == 3  # the route ran on the enriched event


def test_a_second_run_of_the_job_does_nothing(hub, httpserver):
    httpserver.expect_request("/details/r1", method="GET").respond_with_json(DETAILS)
    hub.post("thin", note())
    hub.drain()
    row, _ = only_event(hub)
    assert Enricher(hub.hub).run(row.id, "thin") == "skipped"
    hub.hub.queue.enqueue_enrichments([(row.id, "thin")])  # a duplicate job, as after a sweep
    hub.drain()
    assert len(hub.store.reads.deliveries()) == 1
    assert (calls_to(httpserver, "/details/r1"), calls_to(httpserver, "/receiver")) == (1, 1)


def test_a_resent_thin_webhook_is_one_event_and_one_enrichment(hub, httpserver):
    httpserver.expect_request("/details/r1", method="GET").respond_with_json(DETAILS)
    assert hub.post("thin", note()).json["accepted"]
    assert hub.post("thin", note()).json["duplicates"]
    hub.drain()
    assert len(hub.store.reads.events()) == 1 and len(hub.store.reads.deliveries()) == 1
    assert calls_to(httpserver, "/details/r1") == 1


def test_a_429_is_retried_no_sooner_than_its_retry_after(hub, httpserver):
    httpserver.expect_oneshot_request("/details/r1").respond_with_data("slow down", 429, {"Retry-After": "120"})
    httpserver.expect_request("/details/r1").respond_with_json(DETAILS)
    hub.post("thin", note())
    row, _ = only_event(hub)
    asked_at = datetime.now(timezone.utc)
    assert Enricher(hub.hub).run(row.id, "thin") == "retrying"
    waiting = hub.store.enrichments.get(row.id)
    assert waiting.status == "pending" and "429" in waiting.last_error
    assert waiting.next_attempt_at >= asked_at + timedelta(seconds=120)
    [job_id] = hub.hub.queue.by_source["thin"].scheduled_job_registry.get_job_ids()
    due = hub.hub.queue.by_source["thin"].scheduled_job_registry.get_scheduled_time(Job.fetch(job_id,
                                                                                        connection=hub.hub.redis))
    assert due >= asked_at + timedelta(seconds=120)
    assert hub.store.reads.deliveries() == []
    hub.drain()  # as if the two minutes had passed
    assert hub.store.enrichments.get(row.id).status == "done"
    assert len(hub.store.reads.deliveries()) == 1


def test_a_5xx_is_retried_with_backoff(hub, httpserver):
    httpserver.expect_oneshot_request("/details/r1").respond_with_data("down", 503)
    httpserver.expect_request("/details/r1").respond_with_json(DETAILS)
    hub.post("thin", note())
    hub.drain()
    row, _ = only_event(hub)
    done = hub.store.enrichments.get(row.id)
    assert (done.status, done.attempts) == ("done", 2)
    assert len(hub.store.reads.deliveries()) == 1


def test_retries_spent_make_the_enrichment_fail(hub, httpserver):
    httpserver.expect_request("/details/r1").respond_with_data("down", 503)
    hub.post("thin", note())
    hub.drain()
    row, _ = only_event(hub)
    failed = hub.store.enrichments.get(row.id)
    assert (failed.status, failed.attempts) == ("failed", 3)
    assert "gave up after 3 attempts" in failed.last_error
    assert calls_to(httpserver, "/details/r1") == 3


@pytest.mark.parametrize("status", [401, 404])
def test_a_refusal_gives_up_at_once_keeps_the_event_and_lists_it(hub, httpserver, status):
    httpserver.expect_request("/details/r1").respond_with_data("no", status)
    hub.post("thin", note())
    hub.drain()
    row, _ = only_event(hub)
    failed = hub.store.enrichments.get(row.id)
    assert (failed.status, failed.attempts) == ("failed", 1) and str(status) in failed.last_error
    assert hub.store.reads.deliveries() == []
    listed = hub.client.get("/admin/enrichment", headers=AUTH).json["enrichments"]
    assert [(item["event_id"], item["status"]) for item in listed] == [(row.id, "failed")]


def test_a_failed_enrichment_retried_after_a_fix_routes_the_event(hub, httpserver):
    httpserver.expect_oneshot_request("/details/r1").respond_with_data("bad token", 401)
    hub.post("thin", note())
    hub.drain()
    row, _ = only_event(hub)
    httpserver.expect_request("/details/r1").respond_with_json(DETAILS)  # the token was fixed
    response = hub.client.post(f"/admin/enrichment/{row.id}/retry", headers=AUTH)
    assert (response.status_code, response.json) == (202, {"queued": [row.id]})
    hub.drain()
    assert hub.store.enrichments.get(row.id).status == "done"
    assert [item.status for item in hub.store.reads.deliveries()] == ["succeeded"]
    again = hub.client.post(f"/admin/enrichment/{row.id}/retry", headers=AUTH)
    assert (again.status_code, again.json["error"]["code"]) == (409, "not_failed")
    assert hub.client.post("/admin/enrichment/nope/retry", headers=AUTH).status_code == 404


def test_the_admin_list_refuses_an_unknown_status(hub):
    assert hub.client.get("/admin/enrichment?status=weird", headers=AUTH).status_code == 400


def test_an_enrichment_whose_worker_died_is_queued_again_by_the_sweeper(hub, httpserver):
    httpserver.expect_request("/details/r1").respond_with_json(DETAILS)
    hub.post("thin", note())
    row, _ = only_event(hub)
    for queue in hub.hub.queue.queues:
        queue.empty()  # a worker took the job...
    assert hub.store.enrichments.claim(row.id, timedelta(seconds=-1)) is not None  # ...and died
    assert hub.drain() == 0  # no job left: without the sweeper it would wait forever
    assert sweep_enrichments(hub.hub) == 1
    assert hub.store.enrichments.get(row.id).status == "pending"
    hub.drain()
    assert hub.store.enrichments.get(row.id).status == "done"
    assert len(hub.store.reads.deliveries()) == 1


def test_a_running_enrichment_inside_its_lease_is_left_alone(hub):
    hub.post("thin", note())
    row, _ = only_event(hub)
    hub.store.enrichments.claim(row.id, timedelta(minutes=10))
    assert sweep_enrichments(hub.hub) == 0
    assert hub.store.enrichments.get(row.id).status == "running"


def test_the_sources_api_rate_limit_holds_jobs_back_uncounted(make, httpserver):
    hub = make(api_rate_limit="1/minute")
    httpserver.expect_request("/details/r1").respond_with_json(DETAILS)
    httpserver.expect_request("/details/r2").respond_with_json(DETAILS)
    hub.post("thin", note(1))
    hub.post("thin", note(2))
    first, second = sorted(hub.store.reads.events(), key=lambda row: row.subject)
    assert Enricher(hub.hub).run(first.id, "thin") == "done"
    assert Enricher(hub.hub).run(second.id, "thin") == "waiting"
    waiting = hub.store.enrichments.get(second.id)
    assert (waiting.status, waiting.attempts) == ("pending", 0)
    assert calls_to(httpserver, "/details/r2") == 0
    assert len(hub.hub.queue.by_source["thin"].scheduled_job_registry.get_job_ids()) == 1


def test_an_api_rate_limit_on_a_source_that_does_not_enrich_is_refused(make_hub, httpserver):
    from hub.config import ConfigError

    with pytest.raises(ConfigError, match="api_rate_limit"):
        make_hub({"sources": {"app": {"plugin": "webhook", "api_rate_limit": "1/second",
                                      "settings": {"secret": "x"}}}}, plugins=[webhook])


def test_a_thin_event_under_accept_into_redis_is_stored_at_once(make_hub, httpserver):
    cfg = config(httpserver.url_for("/"))
    cfg["hub"]["accept_into"] = "redis"
    hub = make_hub(cfg, plugins=[Thin, webhook], env={"APP_SECRET": WHSEC})
    assert hub.post("thin", note()).status_code == 202
    row, _ = only_event(hub)  # in the store before any intake consumer ran
    assert hub.store.enrichments.get(row.id).status == "pending"


def test_an_invalid_enriched_event_fails_the_enrichment(hub, httpserver):
    httpserver.expect_request("/details/r1").respond_with_json({**DETAILS, "email": "not an email"})
    hub.post("thin", note())
    hub.drain()
    row, event = only_event(hub)
    failed = hub.store.enrichments.get(row.id)
    assert failed.status == "failed" and "invalid event" in failed.last_error
    assert event["data"]["customer"]["email"] is None  # the thin body is kept as it was


def test_retention_keeps_an_event_still_enriching_and_prunes_a_done_one(hub, httpserver):
    from sqlalchemy import update

    from hub.store import now
    from hub.store.tables import events

    httpserver.expect_request("/details/r1").respond_with_json(DETAILS)
    httpserver.expect_oneshot_request("/details/r2").respond_with_data("gone", 404)
    hub.post("thin", note(1))
    hub.post("thin", note(2))
    hub.drain()
    with hub.store.database.engine.begin() as db:
        db.execute(update(events).values(received_at=now() - timedelta(days=30)))
    counts = hub.store.retention.prune(now() - timedelta(days=1))
    assert (counts["events"], counts["enrichments"]) == (1, 1)
    [kept] = hub.store.reads.events()
    assert (kept.subject, hub.store.enrichments.get(kept.id).status) == ("r2", "failed")


class ThinWithoutEnrichment:
    """A plugin bug: thin drafts, but no cxhub_enrich_event to complete them."""

    cxhub_plugin_info = Thin.cxhub_plugin_info
    cxhub_verify_request = Thin.cxhub_verify_request
    cxhub_parse_request = Thin.cxhub_parse_request


def test_a_thin_draft_from_a_plugin_that_cannot_enrich_is_quarantined_not_stranded(make_hub, httpserver):
    hub = make_hub(config(httpserver.url_for("/")), plugins=[ThinWithoutEnrichment, webhook],
                   env={"APP_SECRET": WHSEC})
    response = hub.post("thin", note())
    assert response.status_code == 422 and "cxhub_enrich_event" in response.json["error"]["message"]
    assert hub.store.reads.events() == [] and len(hub.store.quarantine.requests()) == 1


class PolledThin(Thin):
    """A source whose polls also find only ids."""

    @staticmethod
    @hookimpl
    def cxhub_poll(source, cursor):
        from hub.plugin import PollResult

        return PollResult(events=[EventDraft(type="cx.survey.response", vendor_event_id="p1",
                                             time=datetime(2026, 11, 20, tzinfo=timezone.utc),
                                             link=Link(system="thin", id="r1"), enrich=True)], cursor="c1")


def test_a_thin_event_found_by_a_poll_is_enriched_before_it_is_routed(make_hub, httpserver):
    from hub.polling.poller import poll_source

    httpserver.expect_request("/receiver", method="POST").respond_with_data("")
    httpserver.expect_request("/details/r1").respond_with_json(DETAILS)
    hub = make_hub(config(httpserver.url_for("/")), plugins=[PolledThin, webhook], env={"APP_SECRET": WHSEC})
    poll_source(hub.hub, "thin")
    row, _ = only_event(hub)
    assert hub.store.reads.deliveries() == [] and hub.store.enrichments.get(row.id).status == "pending"
    hub.drain()
    assert (only_event(hub)[0].score_band, len(hub.store.reads.deliveries())) == ("negative", 1)


def test_a_pending_enrichment_whose_job_was_lost_is_queued_again(hub, httpserver):
    from sqlalchemy import update

    from hub.store import now
    from hub.store.tables import enrichments

    httpserver.expect_request("/details/r1").respond_with_json(DETAILS)
    hub.post("thin", note())
    row, _ = only_event(hub)
    for queue in hub.hub.queue.queues:
        queue.empty()  # Redis restarted without the job
    assert sweep_enrichments(hub.hub) == 0  # within the grace period: its job may still come
    with hub.store.database.engine.begin() as db:
        db.execute(update(enrichments).values(updated_at=now() - timedelta(minutes=5)))
    assert sweep_enrichments(hub.hub) == 1
    hub.drain()
    assert hub.store.enrichments.get(row.id).status == "done"


# A thin event that only announced an event with its own identity (FoundEvent)


def test_a_found_event_is_taken_in_under_its_own_id_and_the_announcement_removed(hub, httpserver):
    httpserver.expect_request("/details/r1", method="GET").respond_with_json({**DETAILS, "found": "r1:edit-7f3a"})
    [announced] = hub.post("thin", note()).json["accepted"]
    hub.drain()
    row, event = only_event(hub)
    assert row.id != announced and event["data"]["vendor_event_id"] == "r1:edit-7f3a"
    assert (row.customer_email, event["data"]["text"]) == ("ann@example.com", "Too slow to load.")
    assert hub.store.enrichments.get(announced) is None  # the announcement and its enrichment are gone
    [delivery] = hub.store.reads.deliveries()
    assert delivery.event_id == row.id and calls_to(httpserver, "/receiver") == 1


def test_a_found_event_already_held_is_routed_once(hub, httpserver):
    httpserver.expect_request("/details/r1", method="GET").respond_with_json({**DETAILS, "found": "r1:edit-7f3a"})
    [held] = hub.post("thin", note(event_id="r1:edit-7f3a", thin=False)).json["accepted"]
    hub.drain()
    [announced] = hub.post("thin", note(event_id="announcement-2")).json["accepted"]
    hub.drain()
    row, _ = only_event(hub)
    assert row.id == held and hub.store.enrichments.get(announced) is None
    assert calls_to(httpserver, "/details/r1") == 1 and calls_to(httpserver, "/receiver") == 1


def test_a_found_event_survives_a_worker_that_died_before_removing_the_announcement(hub, httpserver, monkeypatch):
    httpserver.expect_request("/details/r1", method="GET").respond_with_json({**DETAILS, "found": "r1:edit-7f3a"})
    [announced] = hub.post("thin", note()).json["accepted"]
    store = hub.store.enrichments
    claim = store.claim
    monkeypatch.setattr(store, "claim", lambda event_id, lease: claim(event_id, timedelta(seconds=-1)))
    monkeypatch.setattr(store, "supersede", lambda event_id: (_ for _ in ()).throw(RuntimeError("worker died")))
    for queue in hub.hub.queue.queues:
        queue.empty()  # this test runs the job itself
    with pytest.raises(RuntimeError):
        Enricher(hub.hub).run(announced, "thin")
    monkeypatch.undo()
    assert len(hub.store.reads.events()) == 2 and store.get(announced).status == "running"
    assert sweep_enrichments(hub.hub) == 1  # past its lease: queued again
    hub.drain()
    assert hub.store.enrichments.get(announced) is None
    row, _ = only_event(hub)
    assert row.id != announced and calls_to(httpserver, "/receiver") == 1


def test_a_found_event_naming_the_thin_event_completes_it_in_place(hub, httpserver):
    httpserver.expect_request("/details/r1", method="GET").respond_with_json({**DETAILS, "found": "e1"})
    [announced] = hub.post("thin", note()).json["accepted"]
    hub.drain()
    row, _ = only_event(hub)
    assert row.id == announced and hub.store.enrichments.get(announced).status == "done"
    assert calls_to(httpserver, "/receiver") == 1


def test_enrichment_results_are_counted_for_the_metrics(hub, httpserver):
    from prometheus_client import REGISTRY

    def count(result: str) -> float:
        return REGISTRY.get_sample_value("cxhub_enrichments_total", {"source": "thin", "result": result}) or 0.0

    before = {result: count(result) for result in ("done", "retrying", "failed")}
    httpserver.expect_request("/details/r1", method="GET").respond_with_json(DETAILS)
    httpserver.expect_request("/details/r2").respond_with_data("down", 503)
    hub.post("thin", note(1))
    hub.post("thin", note(2))
    hub.drain()
    assert {result: count(result) - before[result] for result in before} == {"done": 1, "retrying": 2, "failed": 1}
