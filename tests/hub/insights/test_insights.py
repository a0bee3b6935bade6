"""NPS, CSAT, CES and ratings counted once per response, by bucket in the admin's timezone, after retention."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import orjson
import pytest

import plugins.webhook as webhook
from hub.insights.definitions import answer_of
from hub.operations import replay_event
from hub.testing import sign_standard_webhook
from tests.conftest import WHSEC

TOKEN = "metrics-admin-token"
SURVEYS = """
metrics: {timezone: %s}
sources:
  app:
    plugin: webhook
    settings:
      secret: {$env: APP_SECRET}
      mapping: {object_id: response.id, score: response.score, time: response.submitted_at,
                customer_email: customer.email, attributes: {form_id: response.form, plan: customer.plan}}
      score_scale: {type: nps, min: 0, max: 10}
"""


def make(make_hub, zone: str = "UTC"):
    hub = make_hub(SURVEYS % zone, plugins=[webhook], env={"APP_SECRET": WHSEC})
    hub.app.config["CXHUB_ADMIN_TOKEN"] = TOKEN
    return hub


def answer(hub, msg_id: str, response_id: str, score: int, when: str, *, form: str = "f1", plan: str = "pro",
           email: str = "ann@example.com"):
    payload = {"response": {"id": response_id, "score": score, "submitted_at": when, "form": form},
               "customer": {"email": email, "plan": plan}}
    body = orjson.dumps(payload)
    response = hub.post("app", body, sign_standard_webhook(WHSEC, msg_id, body))
    assert response.status_code in (200, 202), response.get_json()
    return response


def metric(hub, name: str, **query):
    response = hub.client.get(f"/admin/metrics/{name}", query_string=query,
                              headers={"Authorization": f"Bearer {TOKEN}"})
    return response.status_code, response.get_json()


# Three ISO weeks of November 2026 (Mondays: 2, 9, 16). Hand-computed:
#   week 45: r1 10 (P), r2 9 -> updated to 3 (D), r3 7 (passive), r4 0 (D)   -> 1P 1p 2D: NPS (1-2)/4 = -25
#            r1 resent (same webhook id) and r1 replayed: still one response
#   week 46: r5 9, r6 10, r7 8, r8 6 -> updated to 9, then an older event of r8 (score 2) arrives late
#            -> 3P 1p 0D: NPS 75
#   week 47: r9 4                                                           -> 0P 0p 1D: NPS -100
EXPECTED = [("2026-W45", -25.0, 4, {"promoters": 1, "passives": 1, "detractors": 2}),
            ("2026-W46", 75.0, 4, {"promoters": 3, "passives": 1, "detractors": 0}),
            ("2026-W47", -100.0, 1, {"promoters": 0, "passives": 0, "detractors": 1})]


def feed(hub):
    answer(hub, "m1", "r1", 10, "2026-11-02T09:00:00Z")
    answer(hub, "m1", "r1", 10, "2026-11-02T09:00:00Z")  # a resend: the same webhook id
    answer(hub, "m2", "r2", 9, "2026-11-03T10:00:00Z")
    answer(hub, "m3", "r2", 3, "2026-11-10T10:00:00Z")  # an update a week later: stays in week 45, now a detractor
    answer(hub, "m4", "r3", 7, "2026-11-04T10:00:00Z")
    answer(hub, "m5", "r4", 0, "2026-11-08T22:59:00Z")
    answer(hub, "m6", "r5", 9, "2026-11-09T00:00:00Z")
    answer(hub, "m7", "r6", 10, "2026-11-10T00:00:00Z", form="f2")
    answer(hub, "m8", "r7", 8, "2026-11-11T00:00:00Z", form="f2", plan="free")
    answer(hub, "m9", "r8", 9, "2026-11-12T12:00:00Z")
    answer(hub, "m10", "r8", 2, "2026-11-12T11:00:00Z")  # older than the update above, arriving after it
    answer(hub, "m11", "r9", 4, "2026-11-17T00:00:00Z")
    hub.drain()


def test_weekly_nps_matches_the_hand_computed_table_with_resends_updates_and_replays(make_hub):
    hub = make(make_hub)
    feed(hub)
    [first] = [row for row in hub.store.reads.events(limit=50) if row.subject == "r1"]
    replay_event(hub.hub, first.id)  # a replay re-delivers; it never counts again
    hub.drain()
    status, body = metric(hub, "nps", by="week", since="21d", until="2026-11-23T00:00:00Z")
    assert status == 200
    assert [(row["bucket"], row["value"], row["responses"], row["counts"]) for row in body["buckets"]] == EXPECTED
    status, body = metric(hub, "responses", by="all", since="21d", until="2026-11-23T00:00:00Z")
    assert body["buckets"][0]["responses"] == 9


def test_filters_by_form_attribute_and_source_and_groups(make_hub):
    hub = make(make_hub)
    feed(hub)
    window = {"by": "week", "since": "21d", "until": "2026-11-23T00:00:00Z"}
    _, by_form = metric(hub, "nps", form="f2", **window)
    assert [row["responses"] for row in by_form["buckets"]] == [0, 2, 0]
    assert by_form["buckets"][1]["counts"] == {"promoters": 1, "passives": 1, "detractors": 0}
    _, by_plan = metric(hub, "nps", attr="plan:free", **window)
    assert [row["responses"] for row in by_plan["buckets"]] == [0, 1, 0]
    _, by_source = metric(hub, "nps", source="app", by="all", since="21d", until="2026-11-23T00:00:00Z")
    assert by_source["buckets"][0]["responses"] == 9
    _, grouped = metric(hub, "nps", group="attr:form_id", by="all", since="21d", until="2026-11-23T00:00:00Z")
    assert {(row["group"], row["responses"]) for row in grouped["buckets"]} == {("f1", 7), ("f2", 2)}
    _, grouped = metric(hub, "nps", group="form", by="all", since="21d", until="2026-11-23T00:00:00Z")
    assert {(row["group"], row["responses"]) for row in grouped["buckets"]} == {("f1", 7), ("f2", 2)}


def test_days_follow_the_admins_timezone_across_a_dst_change(make_hub):
    # Berlin leaves summer time on 2026-10-25 at 03:00 local (01:00 UTC): that day is 25 hours long.
    hub = make(make_hub, "Europe/Berlin")
    answer(hub, "a", "d1", 10, "2026-10-24T21:30:00Z")  # 23:30 CEST on the 24th
    answer(hub, "b", "d2", 0, "2026-10-24T22:30:00Z")  # 00:30 CEST on the 25th
    answer(hub, "c", "d3", 9, "2026-10-25T22:30:00Z")  # 23:30 CET on the 25th (UTC+1 now)
    answer(hub, "d", "d4", 0, "2026-10-25T23:30:00Z")  # 00:30 CET on the 26th
    hub.drain()
    _, body = metric(hub, "nps", by="day", since="3d", until="2026-10-27T00:00:00+01:00")
    days = {row["bucket"]: (row["responses"], row["start"], row["end"]) for row in body["buckets"]}
    assert days["2026-10-24"][0] == 1
    assert days["2026-10-25"] == (2, "2026-10-25T00:00:00+02:00", "2026-10-26T00:00:00+01:00")
    assert days["2026-10-26"][0] == 1
    _, utc = metric(hub, "nps", by="day", since="3d", until="2026-10-27T00:00:00Z", timezone="UTC")
    assert {row["bucket"]: row["responses"] for row in utc["buckets"]} == {
        "2026-10-24": 2, "2026-10-25": 2, "2026-10-26": 0}


def test_aggregates_survive_retention_deleting_the_events(make_hub):
    hub = make(make_hub)
    feed(hub)
    counts = hub.store.retention.prune(datetime.now(timezone.utc) + timedelta(days=1))
    assert counts["events"] == 11 and hub.store.reads.events(limit=50) == []
    status, body = metric(hub, "nps", by="week", since="21d", until="2026-11-23T00:00:00Z")
    assert [(row["bucket"], row["value"], row["responses"], row["counts"]) for row in body["buckets"]] == EXPECTED
    _, by_plan = metric(hub, "nps", attr="plan:free", by="all", since="21d", until="2026-11-23T00:00:00Z")
    assert by_plan["buckets"][0]["responses"] == 1
    answer(hub, "m1", "r1", 10, "2026-11-02T09:00:00Z")  # the event is gone, the response is not: no double count
    hub.drain()
    _, again = metric(hub, "nps", by="week", since="21d", until="2026-11-23T00:00:00Z")
    assert again["buckets"][0]["responses"] == 4


@pytest.mark.parametrize(("query", "status", "code"), [
    ({}, 404, "unknown_metric"),
    ({"attr": "nosuch:1"}, 404, "unknown_attribute"),
    ({"since": "4000d"}, 400, "window_too_large"),
    ({"since": "900d", "by": "day"}, 400, "window_too_large"),
    ({"since": "soon"}, 400, "bad_window"),
    ({"timezone": "Mars/Olympus"}, 400, "bad_timezone"),
    ({"timezone": "../../etc/passwd"}, 400, "bad_timezone"),
    ({"by": "year"}, 400, "invalid_request"),
    ({"group": "plan"}, 400, "bad_group"),
    ({"attr": "novalue"}, 400, "invalid_request"),
])
def test_bad_queries_get_a_clear_error(make_hub, query, status, code):
    hub = make(make_hub)
    answer(hub, "m1", "r1", 10, "2026-11-02T09:00:00Z")
    hub.drain()
    got, body = metric(hub, "nps" if code != "unknown_metric" else "nsp", **query)
    assert (got, body["error"]["code"] if "error" in body else body.get("code")) == (status, code), body


@pytest.mark.parametrize(("kind", "event_type", "value", "low", "high", "metric", "category"), [
    ("nps", "cx.survey.response", 9, 0, 10, "nps", "positive"),
    ("nps", "cx.survey.response", 7, 0, 10, "nps", "neutral"),
    ("nps", "cx.survey.response", 6, 0, 10, "nps", "negative"),
    ("csat", "cx.survey.response", 4, 1, 5, "csat", "positive"),
    ("csat", "cx.survey.response", 3, 1, 5, "csat", "neutral"),
    ("csat", "cx.survey.response", 2, 1, 5, "csat", "negative"),
    ("csat", "cx.survey.response", 8, 1, 10, "csat", "positive"),
    ("csat", "cx.survey.response", 7, 1, 10, "csat", "neutral"),
    ("csat", "cx.survey.response", 6, 1, 7, "csat", "positive"),
    ("csat", "cx.survey.response", 5, 1, 7, "csat", "neutral"),
    ("csat", "cx.survey.response", 75, 0, 100, "csat", "positive"),
    ("csat", "cx.survey.response", 74, 0, 100, "csat", "neutral"),
    ("csat", "cx.survey.response", 1, 0, 1, "csat", "positive"),  # thumbs up
    ("csat", "cx.survey.response", 0, 0, 1, "csat", "negative"),  # thumbs down
    ("ces", "cx.survey.response", 5, 1, 7, "ces", "positive"),
    ("ces", "cx.survey.response", 4, 1, 7, "ces", "neutral"),
    ("ces", "cx.survey.response", 3, 1, 7, "ces", "negative"),
    ("ces", "cx.survey.response", 4, 1, 5, "ces", "positive"),
    ("ces", "cx.survey.response", 3, 1, 5, "ces", "neutral"),
    ("rating", "cx.review.created", 4, 1, 5, "rating", "positive"),
    ("rating", "cx.review.updated", 2, 1, 5, "rating", "negative"),
])
def test_scales_map_to_each_metric(kind, event_type, value, low, high, metric, category):
    found = answer_of(event_type, {"type": kind, "value": value, "min": low, "max": high})
    assert (found.metric, found.category) == (metric, category)


def test_a_rating_counts_only_on_a_review_and_ratings_average_on_five_stars():
    assert answer_of("cx.survey.response", {"type": "rating", "value": 1, "min": 0, "max": 1}) is None
    assert answer_of("cx.review.created", {"type": "rating", "value": 10, "min": 1, "max": 10}).value == 5.0
    assert answer_of("cx.review.created", {"type": "rating", "value": 3, "min": 1, "max": 5}).value == 3.0
